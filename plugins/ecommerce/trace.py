"""``make trace CUSTOMER=<id>`` / ``make trace TRANSACTION=<id>``: one record's path through the
pipeline, from the raw file's line to the analytics rows it counts in.

    raw file and line -> staging row -> production row (or why it was quarantined)
      -> dimension versions -> fact lines -> analytics rows

Staging keeps every date's batch with each record's file and line; a production row is found by
its key and date, and a rejected line by the same file and line in ``quarantine.rejected_rows``.
Read-only: it runs ``select`` statements on the warehouse connection. Exit status: 0 when the
record is found, 1 when no step has a row of it ("not found"), 2 on a usage error (make itself
then exits 2 in both cases, naming the recipe's status: "Error 1" or "Error 2").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

#: (title, query) per step; each query takes %(id)s (the business key, digits) and returns rows.
#: Validity bounds are shown as text: an open version ends at 'infinity'.
TRANSACTION_STEPS: Sequence[tuple[str, str]] = (
    ("Raw file lines and staging rows (staging.transactions)", """
        select batch_date, source_file, source_line, customer_id, transaction_ts, status, channel
        from staging.transactions where trim(transaction_id) = %(id)s order by batch_date, source_line"""),
    ("Lines of the order in staging (staging.transaction_items)", """
        select batch_date, source_file, source_line, line_number, product_id, quantity, unit_price, discount
        from staging.transaction_items where trim(transaction_id) = %(id)s order by batch_date, source_line"""),
    ("Quarantined (quarantine.rejected_rows)", """
        select q.stage, q.source_table, q.batch_date, q.source_file, q.source_line, q.reason
        from quarantine.rejected_rows as q
        where exists (select from staging.transactions as s where trim(s.transaction_id) = %(id)s
                      and q.source_table = 'transactions' and q.batch_date = s.batch_date and q.source_line = s.source_line)
           or exists (select from staging.transaction_items as s where trim(s.transaction_id) = %(id)s
                      and q.source_table = 'transaction_items' and q.batch_date = s.batch_date and q.source_line = s.source_line)
           or (q.source_table in ('transactions', 'transaction_items') and q.record_key = %(id)s)
        order by q.batch_date, q.source_table, q.source_line"""),
    ("Production row (production.transactions)", """
        select transaction_id, customer_id, transaction_ts, status, channel, payment_method, batch_date
        from production.transactions where transaction_id = %(id)s::bigint"""),
    ("Production lines (production.transaction_items)", """
        select line_number, product_id, quantity, unit_price, discount
        from production.transaction_items where transaction_id = %(id)s::bigint order by line_number"""),
    ("Customer version the facts point at (warehouse.dim_customers)", """
        select distinct c.customer_sk, c.customer_id, c.city, c.country, c.valid_from::text, c.valid_to::text, c.is_current
        from warehouse.fact_sales as f join warehouse.dim_customers as c using (customer_sk)
        where f.transaction_id = %(id)s::bigint"""),
    ("Product versions the facts point at (warehouse.dim_products)", """
        select distinct p.product_sk, p.product_id, p.product_name, p.category_name, p.unit_price, p.valid_from::text,
               p.valid_to::text, p.is_current
        from warehouse.fact_sales as f join warehouse.dim_products as p using (product_sk)
        where f.transaction_id = %(id)s::bigint order by p.product_id"""),
    ("Fact lines (warehouse.fact_sales)", """
        select date_key, line_number, customer_sk, product_sk, quantity, net_amount, status
        from warehouse.fact_sales where transaction_id = %(id)s::bigint order by line_number"""),
    ("Counted in: the day (analytics.daily_kpis; completed orders only)", """
        select k.date, k.orders, k.net_revenue from analytics.daily_kpis as k
        where k.date in (select to_date(date_key::text, 'YYYYMMDD') from warehouse.fact_sales
                         where transaction_id = %(id)s::bigint and status = 'completed')"""),
    ("Counted in: the categories (warehouse.agg_daily_sales, analytics.revenue_by_category)", """
        select a.date_key, a.category_name, a.orders, a.net_revenue, r.net_revenue as all_dates_revenue
        from warehouse.agg_daily_sales as a
        join analytics.revenue_by_category as r using (category_name)
        where (a.date_key, a.category_name) in (
            select f.date_key, p.category_name from warehouse.fact_sales as f
            join warehouse.dim_products as p using (product_sk)
            where f.transaction_id = %(id)s::bigint and f.status = 'completed')"""),
    ("Counted in: the customer's analytics (rfm_segments, customer_revenue_mix)", """
        select r.customer_id, r.segment, r.frequency, r.monetary,
               case when r.frequency > 1 then 'repeat' else 'new' end as customer_type
        from analytics.rfm_segments as r
        where r.customer_id in (select c.customer_id from warehouse.fact_sales as f
                                join warehouse.dim_customers as c using (customer_sk)
                                where f.transaction_id = %(id)s::bigint and f.status = 'completed')"""),
    ("Counted in: the top products (analytics.top_products)", """
        select revenue_rank, product_id, product_name, net_revenue from analytics.top_products
        where product_id in (select p.product_id from warehouse.fact_sales as f
                             join warehouse.dim_products as p using (product_sk)
                             where f.transaction_id = %(id)s::bigint and f.status = 'completed')"""),
)

CUSTOMER_STEPS: Sequence[tuple[str, str]] = (
    ("Raw file lines and staging rows (staging.customers)", """
        select batch_date, source_file, source_line, first_name, last_name, email, city, country, updated_at
        from staging.customers where trim(customer_id) = %(id)s order by batch_date, source_line"""),
    ("Quarantined (quarantine.rejected_rows)", """
        select q.stage, q.batch_date, q.source_file, q.source_line, q.reason
        from quarantine.rejected_rows as q
        where q.source_table = 'customers' and (q.record_key = %(id)s or exists (
            select from staging.customers as s where trim(s.customer_id) = %(id)s
            and q.batch_date = s.batch_date and q.source_line = s.source_line))
        order by q.batch_date, q.source_line"""),
    ("Snapshots kept (production.customer_snapshots)", """
        select batch_date, city, country, updated_at, attribute_hash is null as keys_only
        from production.customer_snapshots where customer_id = %(id)s::bigint order by batch_date"""),
    ("Production row (production.customers)", """
        select customer_id, first_name, last_name, email, city, country, signup_date, updated_at, deleted_on
        from production.customers where customer_id = %(id)s::bigint"""),
    ("Dimension versions (warehouse.dim_customers)", """
        select customer_sk, city, state, country, valid_from::text, valid_to::text, is_current
        from warehouse.dim_customers where customer_id = %(id)s::bigint order by valid_from"""),
    ("Orders in the facts (warehouse.fact_sales), per date and status", """
        select f.date_key, f.status, count(distinct f.transaction_id) as orders, count(*) as lines,
               sum(f.net_amount) as net_amount
        from warehouse.fact_sales as f join warehouse.dim_customers as c using (customer_sk)
        where c.customer_id = %(id)s::bigint group by f.date_key, f.status order by f.date_key, f.status"""),
    ("Summed for the customer analytics (warehouse.customer_totals)", """
        select orders, net_revenue, first_month, last_date
        from warehouse.customer_totals where customer_id = %(id)s::bigint"""),
    ("Counted in: RFM segment and new vs repeat (analytics.rfm_segments)", """
        select customer_id, segment, recency_days, frequency, monetary,
               case when frequency > 1 then 'repeat' else 'new' end as customer_type
        from analytics.rfm_segments where customer_id = %(id)s::bigint"""),
    ("Counted in: first-order cohort (warehouse.customer_first_orders, analytics.cohort_retention)", """
        select o.first_date_key, r.cohort_month, r.cohort_size, r.months_since_first, r.retention_rate
        from warehouse.customer_first_orders as o
        join analytics.cohort_retention as r
          on r.cohort_month = date_trunc('month', to_date(o.first_date_key::text, 'YYYYMMDD'))::date
         and r.months_since_first = 0
        where o.customer_id = %(id)s::bigint"""),
)


def trace(cursor, kind: str, key: str) -> list[tuple[str, list[str], list[tuple]]]:
    """(step title, column names, rows) for each step of a customer's or a transaction's path."""
    steps = CUSTOMER_STEPS if kind == "customer" else TRANSACTION_STEPS
    found = []
    for title, query in steps:
        cursor.execute(query, {"id": key})
        found.append((title, [column.name for column in cursor.description], cursor.fetchall()))
    return found


def format_steps(kind: str, key: str, steps) -> str:
    lines = [f"{kind} {key}"]
    for title, columns, rows in steps:
        lines.append(f"\n== {title}")
        if not rows:
            lines.append("   (none)")
            continue
        cells = [columns] + [["" if value is None else str(value) for value in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
        lines += ["   " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make trace", description="One record's path through the pipeline.")
    parser.add_argument("--customer", default="")
    parser.add_argument("--transaction", default="")
    args = parser.parse_args(argv)
    chosen = [(kind, value.strip()) for kind, value in (("customer", args.customer), ("transaction", args.transaction))
              if value.strip()]
    if len(chosen) != 1 or not chosen[0][1].isdigit():
        print("usage: make trace CUSTOMER=<customer id>  or  make trace TRANSACTION=<transaction id>", file=sys.stderr)
        return 2
    kind, key = chosen[0]
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from ecommerce.settings import WAREHOUSE_CONN_ID

    with PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID).get_conn() as conn, conn.cursor() as cursor:
        steps = trace(cursor, kind, key)
    if not any(rows for _, _, rows in steps):
        print(f"{kind} {key} not found: no raw line, staging row, quarantined row or warehouse row has that id",
              file=sys.stderr)
        return 1
    print(format_steps(kind, key, steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
