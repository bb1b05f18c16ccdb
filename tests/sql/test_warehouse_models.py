"""Production and warehouse SQL models: fixture rows in, expected rows out, on real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from conftest import (forget_schema_version, plan_nodes, reset_warehouse, run_model_until, run_models, stage_rows,
                      table_checksum, task_context, warehouse_content)
from ecommerce.schema import PIPELINE_SCHEMAS

DAY1, DAY2, DAY3, DAY4 = "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"


def customer(customer_id: int, updated_at: str, email: str | None = None, city: str = "Springfield", **extra) -> dict:
    return {"customer_id": str(customer_id), "first_name": "Ann", "last_name": f"Lee{customer_id}",
            "email": email or f"ann{customer_id}@example.com", "phone": "555-0100", "address": "1 Main St",
            "city": city, "state": "IL", "postal_code": "62701", "country": "US", "signup_date": "2026-01-01",
            "updated_at": updated_at, **extra}


def product(product_id: int, price: str, updated_at: str = "2026-01-01T00:00:00Z") -> dict:
    return {"product_id": str(product_id), "product_name": f"Kettle {product_id}", "category": "Home",
            "brand": "Brewline", "unit_price": price, "cost": "10.00", "is_active": "true", "updated_at": updated_at}


def order(transaction_id: int, customer_id: int, ts: str, status: str = "completed") -> dict:
    return {"transaction_id": str(transaction_id), "customer_id": str(customer_id), "transaction_ts": ts,
            "channel": "web", "payment_method": "paypal", "status": status, "shipping_cost": "0"}


def line(transaction_id: int, line_number: int, product_id: int, quantity: str = "1", price: str = "20.00",
         discount: str = "0") -> dict:
    return {"transaction_id": str(transaction_id), "line_number": str(line_number), "product_id": str(product_id),
            "quantity": quantity, "unit_price": price, "discount": discount}


def load_day(db, date: str, customers: list[dict], products: list[dict], orders=(), lines=()) -> None:
    stage_rows(db, "customers", date, customers)
    stage_rows(db, "products", date, products)
    stage_rows(db, "transactions", date, list(orders))
    stage_rows(db, "transaction_items", date, list(lines))
    run_models(date)


def versions(db, table: str = "dim_customers", key: str = "customer_id") -> list[tuple]:
    column = "email" if table == "dim_customers" else "unit_price::text"
    return db.execute(
        f"select {key}, {column}, valid_from::text, valid_to::text, is_current from warehouse.{table} "
        f"where {key} > 0 order by {key}, valid_from").fetchall()


@pytest.fixture(autouse=True)
def _session_utc(request, db):
    """An empty warehouse for each test, but those given ``three_days`` (which sees to it)."""
    if "three_days" not in request.fixturenames:
        request.getfixturevalue("empty_warehouse")
    db.execute("set timezone = 'UTC'")


def relations(db) -> list[tuple]:
    """Every relation of the pipeline's schemas (partitions too), with its kind."""
    return db.execute("select format('%%I.%%I', namespace.nspname, class.relname), class.relkind from pg_class as class "
                      "inner join pg_namespace as namespace on namespace.oid = class.relnamespace "
                      "where namespace.nspname = any(%s) order by 1", (list(PIPELINE_SCHEMAS),)).fetchall()


@pytest.fixture(scope="module")
def _three_days_state() -> dict:
    return {}


@pytest.fixture
def three_days(_three_days_state, db) -> None:
    """DAY1 to DAY3 loaded into an empty warehouse, an order each, for tests that only read it
    (their statements in a transaction rolled back): loaded again only when the warehouse no longer
    holds exactly what the loads left (every table's rows and every relation compared)."""
    state = _three_days_state
    if not state or state["left"] != left_by_loads(db):
        reset_warehouse()
        for number, day in enumerate((DAY1, DAY2, DAY3), start=1):
            load_day(db, day, BASE, CATALOG, [order(number * 100 + 1, 1, f"{day}T09:00:00Z")],
                     [line(number * 100 + 1, 1, 10)])
        state["left"] = left_by_loads(db)


def left_by_loads(db) -> tuple:
    return warehouse_content(db, ("staging", "production", "quarantine", "audit", "warehouse", "analytics")), relations(db)


BASE = [customer(n, "2026-04-01T00:00:00Z") for n in (1, 2, 3, 4)]
CATALOG = [product(10, "20.00"), product(11, "35.00")]


def test_changes_close_and_open_versions_at_the_source_change_time(db):
    load_day(db, DAY1, BASE, CATALOG)
    changed = [customer(1, "2026-05-02T10:00:00Z", email="new1@example.com"),
               customer(2, "2026-05-02T11:30:00Z", email="new2@example.com")] + BASE[2:]
    load_day(db, DAY2, changed, CATALOG)
    assert versions(db)[:4] == [
        (1, "ann1@example.com", "2026-04-01 00:00:00+00", "2026-05-02 10:00:00+00", False),
        (1, "new1@example.com", "2026-05-02 10:00:00+00", "infinity", True),
        (2, "ann2@example.com", "2026-04-01 00:00:00+00", "2026-05-02 11:30:00+00", False),
        (2, "new2@example.com", "2026-05-02 11:30:00+00", "infinity", True),
    ]
    assert [v[4] for v in versions(db)[4:]] == [True, True]  # customers 3 and 4: untouched

    before = versions(db)
    load_day(db, DAY2, changed, CATALOG)
    assert versions(db) == before, "an unchanged rerun makes no new versions"

    back = [customer(1, "2026-05-03T09:00:00Z", email="ann1@example.com")] + changed[1:]
    load_day(db, DAY3, back, CATALOG)
    assert [(v[1], v[4]) for v in versions(db) if v[0] == 1] == [
        ("ann1@example.com", False), ("new1@example.com", False), ("ann1@example.com", True)]


def test_an_older_updated_at_never_overwrites_and_makes_no_version(db):
    load_day(db, DAY1, BASE, CATALOG)
    stale = [customer(1, "2026-03-01T00:00:00Z", email="stale@example.com")] + BASE[1:]
    load_day(db, DAY2, stale, CATALOG)
    assert db.execute("select email from production.customers where customer_id = 1").fetchone()[0] == "ann1@example.com"
    assert [v[1] for v in versions(db) if v[0] == 1] == ["ann1@example.com"]


def test_a_deleted_customer_has_its_current_version_closed(db):
    load_day(db, DAY1, BASE, CATALOG)
    load_day(db, DAY2, BASE[:3], CATALOG)  # customer 4 left the snapshot
    assert [v for v in versions(db) if v[0] == 4] == [
        (4, "ann4@example.com", "2026-04-01 00:00:00+00", "2026-05-03 00:00:00+00", False)]
    assert db.execute("select deleted_on::text from production.customers where customer_id = 4").fetchone()[0] == DAY2
    load_day(db, DAY3, BASE, CATALOG)  # and came back
    assert [(v[2], v[3], v[4]) for v in versions(db) if v[0] == 4] == [
        ("2026-04-01 00:00:00+00", "2026-05-03 00:00:00+00", False),
        ("2026-05-03 00:00:00+00", "infinity", True)]


def test_a_quarantined_row_is_not_taken_for_a_deletion(db):
    load_day(db, DAY1, BASE, CATALOG)
    load_day(db, DAY2, BASE[:3] + [customer(4, "2026-05-02T00:00:00Z", email="broken")], CATALOG)
    assert db.execute("select deleted_on from production.customers where customer_id = 4").fetchone()[0] is None
    assert db.execute("select reason from quarantine.rejected_rows").fetchall() == [("invalid_email",)]


def test_no_overlapping_ranges_and_one_current_row_per_key(db):
    load_day(db, DAY1, BASE, CATALOG)
    load_day(db, DAY2, [customer(1, "2026-05-02T10:00:00Z", email="x@example.com")] + BASE[1:3], CATALOG)
    load_day(db, DAY3, [customer(1, "2026-05-03T10:00:00Z", email="y@example.com")] + BASE[1:], CATALOG)
    overlaps = db.execute(
        "select count(*) from warehouse.dim_customers a join warehouse.dim_customers b "
        "on a.customer_id = b.customer_id and a.customer_sk < b.customer_sk "
        "and a.valid_from < b.valid_to and b.valid_from < a.valid_to").fetchone()[0]
    currents = db.execute(
        "select max(n) from (select count(*) filter (where is_current) as n from warehouse.dim_customers "
        "where customer_sk > 0 group by customer_id) t").fetchone()[0]
    assert (overlaps, currents) == (0, 1)


def test_price_changes_version_products(db):
    load_day(db, DAY1, BASE, CATALOG)
    load_day(db, DAY2, BASE, [product(10, "24.00", "2026-05-02T08:00:00Z"), CATALOG[1]])
    load_day(db, DAY2, BASE, [product(10, "24.00", "2026-05-02T08:00:00Z"), CATALOG[1]])
    load_day(db, DAY3, BASE, [product(10, "20.00", "2026-05-03T08:00:00Z")])  # 11 deleted
    assert versions(db, "dim_products", "product_id") == [
        (10, "20.00", "2026-01-01 00:00:00+00", "2026-05-02 08:00:00+00", False),
        (10, "24.00", "2026-05-02 08:00:00+00", "2026-05-03 08:00:00+00", False),
        (10, "20.00", "2026-05-03 08:00:00+00", "infinity", True),
        (11, "35.00", "2026-01-01 00:00:00+00", "2026-05-04 00:00:00+00", False),
    ]


def test_facts_point_at_the_version_valid_at_the_transaction_time(db):
    load_day(db, DAY1, BASE, CATALOG)
    moved = [customer(1, "2026-05-02T12:00:00Z", city="Shelbyville")] + BASE[1:]
    orders = [order(100, 1, "2026-05-02T09:00:00Z"), order(101, 1, "2026-05-02T15:00:00Z")]
    load_day(db, DAY2, moved, CATALOG, orders, [line(100, 1, 10), line(101, 1, 10)])
    rows = db.execute(
        "select f.transaction_id, c.city from warehouse.fact_sales f "
        "join warehouse.dim_customers c using (customer_sk) order by 1").fetchall()
    assert rows == [(100, "Springfield"), (101, "Shelbyville")]


def declared_check(layer: str, name: str):
    from ecommerce.quality.checks import layer_checks

    return {check.name: check for check in layer_checks(layer)}[name]


def test_fact_keys_are_declared_not_enforced_and_checked_before_the_date_completes(db):
    from airflow.sdk.exceptions import AirflowFailException

    from ecommerce.operators import QualityGateOperator
    from ecommerce.quality import engine

    enforced = db.execute(
        "select conname, conenforced from pg_constraint where contype = 'f' and conrelid in "
        "('warehouse.fact_sales'::regclass, 'production.transactions'::regclass, "
        "'production.transaction_items'::regclass) order by 1").fetchall()
    assert enforced == [("fact_sales_customer_sk_fkey", False), ("fact_sales_date_key_fkey", False),
                        ("fact_sales_product_sk_fkey", False), ("transaction_items_product_id_fkey", False),
                        ("transaction_items_transaction_id_fkey", False), ("transactions_customer_id_fkey", False)]
    assert db.execute("select count(*) from pg_trigger where tgrelid in ('warehouse.fact_sales'::regclass, "
                      "'production.transaction_items'::regclass) and tgisinternal").fetchone() == (0,)
    orders = [order(300, 1, "2026-05-01T10:00:00Z")]
    load_day(db, DAY1, BASE, CATALOG, orders, [line(300, 1, 10), line(300, 2, 11)])
    assert db.execute("select count(*) from audit.loaded_dates").fetchone() == (1,)
    # A fact on a product version that does not exist: the warehouse's gate, which the date's
    # last step (loaded_dates) runs after, fails and names the fact.
    db.execute("update warehouse.fact_sales set product_sk = 987654321 where line_number = 2")
    with db.cursor() as cursor:
        result = engine.evaluate(cursor, declared_check("warehouse", "fact_sales_product_known"), DAY1)
    assert (result.status, result.failing_rows) == ("fail", 1)
    assert [(row["transaction_id"], row["line_number"], row["product_sk"]) for row in result.sample] == [
        (300, 2, 987654321)]
    gate = QualityGateOperator(task_id="quality_gate", checks_file="warehouse.yml", business_date=DAY1)
    with pytest.raises(AirflowFailException, match="fact_sales_product_known"):
        gate.execute(task_context("warehouse.quality_gate"))


def test_an_order_naming_a_missing_customer_fails_the_production_checks(db):
    from ecommerce.quality import engine

    load_day(db, DAY1, BASE, CATALOG, [order(310, 2, "2026-05-01T10:00:00Z")], [line(310, 1, 10)])
    db.execute("delete from production.customers where customer_id = 2")
    with db.cursor() as cursor:
        declared = declared_check("production", "production_transactions_customer_known")
        result = engine.evaluate(cursor, declared, DAY1)
    assert result.status == "fail"
    assert [(row["transaction_id"], row["customer_id"]) for row in result.sample] == [(310, 2)]


def test_reloading_a_date_whose_order_is_now_rejected_leaves_none_of_its_lines(db):
    load_day(db, DAY1, BASE, CATALOG, [order(320, 3, "2026-05-01T10:00:00Z")], [line(320, 1, 10), line(320, 2, 11)])
    assert db.execute("select count(*) from production.transaction_items").fetchone() == (2,)
    # Reloaded: customer 3 is gone from the snapshot, so the order is quarantined, and its lines.
    load_day(db, DAY1, [c for c in BASE if c["customer_id"] != "3"], CATALOG,
             [order(320, 3, "2026-05-01T10:00:00Z")], [line(320, 1, 10), line(320, 2, 11)])
    assert db.execute("select count(*) from production.transactions").fetchone() == (0,)
    assert db.execute("select count(*) from production.transaction_items").fetchone() == (0,)
    assert db.execute("select count(*) from warehouse.fact_sales").fetchone() == (0,)


def test_a_fact_that_cannot_be_resolved_lands_on_the_unknown_member(db):
    # The snapshot dates customer 5's only version after the order: no version was valid then.
    early_order = [customer(5, "2026-05-04T09:00:00Z")]
    load_day(db, DAY1, BASE + early_order, CATALOG, [order(200, 5, "2026-05-01T10:00:00Z")], [line(200, 1, 10)])
    assert db.execute("select customer_sk, product_sk > 0 from warehouse.fact_sales").fetchall() == [(-1, True)]


def test_an_order_from_a_customer_missing_from_the_dates_snapshot_is_quarantined(db):
    load_day(db, DAY1, BASE, CATALOG)
    load_day(db, DAY2, BASE[:3], CATALOG, [order(201, 4, "2026-05-02T10:00:00Z")], [line(201, 1, 10)])
    reasons = db.execute("select source_table, reason from quarantine.rejected_rows order by 1").fetchall()
    assert reasons == [("transaction_items", "unknown_or_rejected_transaction"), ("transactions", "unknown_customer")]


def test_facts_and_aggregates_reconcile_with_the_valid_staged_lines(db):
    load_day(db, DAY1, BASE, CATALOG)
    orders = [order(300, 1, "2026-05-02T09:00:00Z"), order(301, 2, "2026-05-02T10:00:00Z"),
              order(302, 3, "2026-05-02T11:00:00Z", status="cancelled"), order(303, 999, "2026-05-02T11:00:00Z")]
    lines = [line(300, 1, 10, "2", "20.00", "0.10"), line(300, 2, 11, "1", "35.00"), line(301, 1, 11, "3", "35.00"),
             line(301, 1, 11, "3", "35.00"),  # exact duplicate: collapses
             line(302, 1, 10, "1", "20.00"), line(300, 3, 10, "0", "20.00"), line(303, 1, 10)]
    load_day(db, DAY2, BASE, CATALOG, orders, lines)
    facts = db.execute("select count(*), sum(gross_amount), sum(net_amount) from warehouse.fact_sales").fetchone()
    assert (facts[0], float(facts[1]), float(facts[2])) == (4, 200.0, 196.0)
    agg = db.execute("select sum(orders), sum(lines), sum(units), sum(gross_revenue), sum(net_revenue) "
                     "from warehouse.agg_daily_sales").fetchone()
    assert tuple(float(v) for v in agg) == (2, 3, 6, 180.0, 176.0)
    reasons = sorted(r[0] for r in db.execute(
        "select reason from quarantine.rejected_rows where source_table = 'transaction_items'"))
    assert reasons == ["non_positive_quantity", "unknown_or_rejected_transaction"]
    collapsed = db.execute("select rows_collapsed from audit.duplicates_collapsed "
                           "where table_name = 'transaction_items' and business_date = %s", (DAY2,)).fetchone()[0]
    assert len(lines) == facts[0] + len(reasons) + collapsed


def test_rerunning_a_date_leaves_every_table_identical(db):
    load_day(db, DAY1, BASE, CATALOG)
    args = (db, DAY2, BASE[1:], [product(10, "22.00", "2026-05-02T01:00:00Z")],
            [order(400, 2, "2026-05-02T09:00:00Z")], [line(400, 1, 10)])
    load_day(*args)
    tables = [("production", t) for t in ("customers", "products", "transactions", "transaction_items")] + [
        ("warehouse", t) for t in ("dim_customers", "dim_products", "dim_date", "fact_sales", "agg_daily_sales")]
    with db.cursor() as cursor:
        before = [table_checksum(cursor, s, t) for s, t in tables]
        load_day(*args)
        assert [table_checksum(cursor, s, t) for s, t in tables] == before


def test_rerunning_an_older_date_changes_nothing(db):
    later_joiner = customer(9, "2026-05-03T08:00:00Z")
    load_day(db, DAY1, BASE, CATALOG)
    load_day(db, DAY2, BASE[:3], CATALOG)  # customer 4 deleted
    load_day(db, DAY3, BASE[:3] + [later_joiner], CATALOG, [order(500, 9, "2026-05-03T09:00:00Z")], [line(500, 1, 10)])
    tables = [("production", t) for t in ("customers", "products", "transactions", "transaction_items")] + [
        ("warehouse", t) for t in ("dim_customers", "dim_products", "fact_sales", "agg_daily_sales")]
    with db.cursor() as cursor:
        before = [table_checksum(cursor, s, t) for s, t in tables]
        load_day(db, DAY2, BASE[:3], CATALOG)  # customer 9 is not in DAY2's snapshot: not a deletion
        load_day(db, DAY1, BASE, CATALOG)  # customer 4 is in DAY1's snapshot: still deleted
        assert [table_checksum(cursor, s, t) for s, t in tables] == before


def test_conflicting_copies_of_an_order_are_all_quarantined_and_identical_ones_collapse(db):
    load_day(db, DAY1, BASE, CATALOG)
    orders = [order(600, 1, "2026-05-02T09:00:00Z"), order(600, 2, "2026-05-02T09:00:00Z"),  # which customer?
              order(601, 1, "2026-05-02T10:00:00Z"), order(601, 1, "2026-05-02T10:00:00Z")]
    lines = [line(601, 1, 10), line(601, 1, 10), line(601, 2, 10, quantity="1"), line(601, 2, 10, quantity="3"),
             line(600, 1, 11)]
    load_day(db, DAY2, BASE, CATALOG, orders, lines)
    reasons = db.execute("select source_table, source_line, reason from quarantine.rejected_rows order by 1, 2").fetchall()
    assert reasons == [
        ("transaction_items", 4, "conflicting_duplicate"), ("transaction_items", 5, "conflicting_duplicate"),
        ("transaction_items", 6, "unknown_or_rejected_transaction"),
        ("transactions", 2, "conflicting_duplicate"), ("transactions", 3, "conflicting_duplicate")]
    assert db.execute("select transaction_id, line_number from production.transaction_items").fetchall() == [(601, 1)]
    collapsed = dict(db.execute("select table_name, rows_collapsed from audit.duplicates_collapsed "
                                "where business_date = %s", (DAY2,)).fetchall())
    assert (collapsed["transactions"], collapsed["transaction_items"]) == (1, 1)
    assert len(orders) == 1 + 2 + collapsed["transactions"]  # staged = loaded + quarantined + collapsed


def test_a_cleared_transaction_items_task_reruns_on_its_own(db):
    from conftest import task_context
    from ecommerce.operators import SqlModelOperator

    load_day(db, DAY1, BASE, CATALOG, [order(700, 1, "2026-05-01T09:00:00Z")], [line(700, 1, 10), line(700, 2, 11)])
    with db.cursor() as cursor:
        before = table_checksum(cursor, "production", "transaction_items")
        SqlModelOperator(task_id="items", sql="production/060_transaction_items.sql", business_date=DAY1).execute(
            task_context("production.transaction_items"))
        assert table_checksum(cursor, "production", "transaction_items") == before


def test_a_models_log_line_says_what_it_wrote_and_leaves_out_the_reading_it_does_not_count(db, monkeypatch):
    """A SQL model's statements report rows affected, not rows read: its summary said "0 rows
    read ... (0 rows/s read)"; a loader, which counts its lines, still says what it read."""
    from types import SimpleNamespace

    from ecommerce import audit
    from ecommerce.operators import SqlModelOperator

    logged = []
    monkeypatch.setattr(audit, "log", SimpleNamespace(info=lambda message, *args: logged.append(message % args)))
    load_day(db, DAY1, BASE, CATALOG, [order(701, 1, "2026-05-01T09:00:00Z")], [line(701, 1, 10)])
    logged.clear()
    written = SqlModelOperator(task_id="transactions", sql="production/050_transactions.sql",
                               business_date=DAY1).execute(task_context("production.transactions"))
    assert len(logged) == 1 and "read" not in logged[0]
    assert logged[0].startswith(f"production.transactions for {DAY1}: {written:,} rows written, 0 rejected in ")
    loader = audit.summary("ingest_staging.customers", DAY1, audit.RowCounts(read=12_345, written=12_000,
                                                                              rejected=345), 2.0)
    assert loader == ("ingest_staging.customers for 2026-05-01: 12,345 rows read, 12,000 written, 345 rejected "
                      "in 2.00s (6,172 rows/s read)")


def first_orders(db) -> dict[int, int]:
    return dict(db.execute("select customer_id, first_date_key from warehouse.customer_first_orders "
                           "where customer_id > 0").fetchall())


def test_a_first_order_follows_a_rerun_of_its_date(db):
    """The fact load keeps first orders from the replaced date alone; a customer whose first
    order was that date and is gone from it needs their whole history read."""
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z"), order(202, 2, "2026-05-02T09:00:00Z")],
             [line(201, 1, 10), line(202, 1, 10)])
    load_day(db, DAY3, BASE, CATALOG, [order(301, 1, "2026-05-03T09:00:00Z")], [line(301, 1, 10)])
    assert first_orders(db) == {1: 20260502, 2: 20260502}

    # An earlier date loaded late moves customer 2's first order; customer 1's (cancelled) does not.
    load_day(db, DAY1, BASE, CATALOG, [order(101, 1, "2026-05-01T09:00:00Z", status="cancelled"),
                                       order(102, 2, "2026-05-01T09:00:00Z")], [line(101, 1, 10), line(102, 1, 10)])
    assert first_orders(db) == {1: 20260502, 2: 20260501}

    # May 2nd again, customer 1's order now cancelled and customer 2's gone: 1's first order moves
    # on to May 3rd, 2's stays on May 1st.
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z", status="cancelled")], [line(201, 1, 10)])
    assert first_orders(db) == {1: 20260503, 2: 20260501}

    # Its order completed again: May 2nd is customer 1's first order once more.
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z")], [line(201, 1, 10)])
    assert first_orders(db) == {1: 20260502, 2: 20260501}
    assert db.execute("select count(*) from warehouse.agg_daily_sales where date_key = 20260503 "
                      "and new_customers > 0").fetchone()[0] == 0, "May 3rd's aggregate was made stale and redone"


#: New and returning customers per date and category, counted directly over every fact.
NEW_AND_RETURNING_FROM_FACTS = """
    with sales as (
        select f.date_key, p.category_name, c.customer_id
        from warehouse.fact_sales f join warehouse.dim_customers c using (customer_sk)
        join warehouse.dim_products p using (product_sk) where f.status = 'completed'),
    firsts as (select customer_id, min(date_key) as first_date_key from sales group by 1)
    select date_key, category_name, count(distinct customer_id) filter (where first_date_key = date_key),
           count(distinct customer_id) filter (where first_date_key < date_key)
    from sales join firsts using (customer_id) group by 1, 2 order by 1, 2"""


def aggregate_rows_written(db, date: str) -> int:
    """The agg_daily_sales rows the date's load wrote: the date's own and those of every date it recomputed."""
    return db.execute("select rows_written from audit.task_runs where task_id = 'warehouse.050_agg_daily_sales' "
                      "and business_date = %s", (date,)).fetchone()[0]


def test_a_moved_first_order_changes_its_old_dates_counts_without_recomputing_that_date(db):
    """A late date that moves a first order reads the customer's lines of the old date, not the
    date's facts: agg_daily_sales writes the late date's rows only, and every count agrees with a
    recount over all facts."""
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z"), order(202, 2, "2026-05-02T09:00:00Z")],
             [line(201, 1, 10), line(202, 1, 11)])
    load_day(db, DAY3, BASE, CATALOG, [order(301, 2, "2026-05-03T09:00:00Z")], [line(301, 1, 10)])
    load_day(db, DAY1, BASE, CATALOG, [order(101, 2, "2026-05-01T09:00:00Z")], [line(101, 1, 10)])
    assert first_orders(db) == {1: 20260502, 2: 20260501}
    assert aggregate_rows_written(db, DAY1) == 1, "May 2nd, where customer 2 is no longer new, was recomputed"
    counts = db.execute("select date_key, category_name, new_customers, returning_customers "
                        "from warehouse.agg_daily_sales order by 1, 2").fetchall()
    assert counts == db.execute(NEW_AND_RETURNING_FROM_FACTS).fetchall()
    assert (20260502, "Home", 1, 1) in counts and db.execute(
        "select count(*) from warehouse.new_customer_changes").fetchone()[0] == 0


def test_a_queued_first_order_change_the_first_orders_do_not_bear_out_fails_the_aggregate(db):
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z")], [line(201, 1, 10)])
    # Customer 1 is still new on May 2nd: a change saying otherwise was counted twice, or its
    # counterpart lost.
    db.execute("insert into warehouse.new_customer_changes (date_key, customer_id, change) values (20260502, 1, -1)")
    with pytest.raises(psycopg.errors.CheckViolation, match="first-order changes disagree"):
        run_models(DAY3, ("warehouse",))


#: The monthly sales and totals the customer and product analytics read, summed directly over
#: every fact.
SUMMARIES_FROM_FACTS = {
    "customer_monthly_sales": (
        "select c.customer_id, date_trunc('month', d.date)::date, count(distinct f.transaction_id), "
        "sum(f.net_amount), max(d.date) "
        "from warehouse.fact_sales f join warehouse.dim_customers c using (customer_sk) "
        "join warehouse.dim_date d using (date_key) where f.status = 'completed' group by 1, 2 order by 1, 2"),
    "customer_totals": (
        "select c.customer_id, count(distinct f.transaction_id), sum(f.net_amount), "
        "min(date_trunc('month', d.date))::date, max(d.date) "
        "from warehouse.fact_sales f join warehouse.dim_customers c using (customer_sk) "
        "join warehouse.dim_date d using (date_key) where f.status = 'completed' group by 1 order by 1"),
    "product_monthly_sales": (
        "select p.product_id, date_trunc('month', d.date)::date, sum(f.quantity), sum(f.net_amount) "
        "from warehouse.fact_sales f join warehouse.dim_products p using (product_sk) "
        "join warehouse.dim_date d using (date_key) where f.status = 'completed' group by 1, 2 order by 1, 2"),
}


def assert_summaries_match_the_facts(db) -> None:
    for table, from_facts in SUMMARIES_FROM_FACTS.items():
        kept = db.execute(f"select * from warehouse.{table} order by 1, 2").fetchall()
        assert kept == db.execute(from_facts).fetchall(), table


def test_monthly_sales_and_totals_follow_every_load_and_every_re_pointed_fact(db):
    """The summaries are kept from the reloaded date and the dates a dimension re-pointed; after
    every load they equal a sum over all facts."""
    # Customer 5 and product 12 have no version valid on May 2nd yet: their facts sit on -1.
    late_customer, late_product = customer(5, "2026-05-04T09:00:00Z"), product(12, "30.00", "2026-05-04T09:00:00Z")
    may2 = ([order(201, 1, "2026-05-02T09:00:00Z"), order(202, 5, "2026-05-02T10:00:00Z")],
            [line(201, 1, 10, "2"), line(202, 1, 12), line(202, 2, 11)])
    load_day(db, DAY2, BASE + [late_customer], CATALOG + [late_product], *may2)
    assert db.execute("select count(*) from warehouse.customer_monthly_sales where customer_id = -1").fetchone() == (1,)
    assert_summaries_match_the_facts(db)

    load_day(db, "2026-06-01", BASE + [late_customer], CATALOG + [late_product],
             [order(601, 1, "2026-06-01T09:00:00Z")], [line(601, 1, 12, "3")])
    assert_summaries_match_the_facts(db)

    # May 1st, loaded late, shows both with an April version: May 2nd's facts move off -1.
    load_day(db, DAY1, BASE + [customer(5, "2026-04-01T00:00:00Z")], CATALOG + [product(12, "30.00")],
             [order(101, 2, "2026-05-01T09:00:00Z")], [line(101, 1, 10)])
    assert db.execute("select count(*) from warehouse.fact_sales where customer_sk = -1 or product_sk = -1"
                      ).fetchone() == (0,)
    assert db.execute("select count(*) from warehouse.customer_monthly_sales where customer_id = -1").fetchone() == (0,)
    assert_summaries_match_the_facts(db)

    # May 2nd again, customer 1's order cancelled: customer 1 drops out of May.
    load_day(db, DAY2, BASE + [late_customer], CATALOG + [late_product],
             [order(201, 1, "2026-05-02T09:00:00Z", status="cancelled"), may2[0][1]], may2[1])
    assert db.execute("select month::text from warehouse.customer_monthly_sales where customer_id = 1"
                      ).fetchall() == [("2026-06-01",)]
    assert_summaries_match_the_facts(db)


def test_a_warehouse_loaded_before_the_monthly_sales_existed_gets_them_on_its_next_run(db):
    from ecommerce.schema import apply_schema

    load_day(db, DAY1, BASE, CATALOG, [order(101, 1, "2026-05-01T09:00:00Z")], [line(101, 1, 10)])
    load_day(db, DAY2, BASE, CATALOG, [order(201, 2, "2026-05-02T09:00:00Z")], [line(201, 1, 11)])
    for table in ("customer_daily_sales", "customer_monthly_sales", "customer_totals", "product_daily_sales",
                  "product_monthly_sales"):
        db.execute(f"delete from warehouse.{table}")
    forget_schema_version(db)
    apply_schema(db)  # migration 0008
    load_day(db, DAY3, BASE, CATALOG)
    assert db.execute("select count(*) from warehouse.customer_monthly_sales").fetchone() == (2,)
    assert_summaries_match_the_facts(db)


def test_a_warehouse_loaded_before_the_customer_totals_existed_gets_them_on_its_next_run(db):
    from ecommerce.schema import apply_schema

    load_day(db, DAY1, BASE, CATALOG, [order(101, 1, "2026-05-01T09:00:00Z")], [line(101, 1, 10)])
    load_day(db, DAY2, BASE, CATALOG, [order(201, 2, "2026-05-02T09:00:00Z")], [line(201, 1, 11)])
    db.execute("drop table warehouse.customer_totals")
    apply_schema(db)
    load_day(db, DAY3, BASE, CATALOG)  # no orders: it names no customer
    assert db.execute("select count(*) from warehouse.customer_totals").fetchone() == (2,)
    assert_summaries_match_the_facts(db)


def test_an_older_warehouse_s_customer_index_on_orders_gives_way_to_the_customer_alone(db):
    from ecommerce.schema import apply_schema

    def indexes():
        return db.execute("select indexname, indexdef from pg_indexes where schemaname = 'production' "
                          "and tablename = 'transactions' and indexdef like '%(customer_id%' ").fetchall()

    db.execute("drop index production.transactions_customer_id_idx")
    db.execute("create index transactions_customer_idx on production.transactions (customer_id, transaction_ts)")
    forget_schema_version(db)
    apply_schema(db)  # migration 0010
    [(name, definition)] = indexes()
    assert name == "transactions_customer_id_idx" and definition.endswith("(customer_id)")
    apply_schema(db)
    assert len(indexes()) == 1


def fact_partitions(db) -> list[tuple]:
    """(month's partition, date's partition, facts, least and greatest date_key) per date."""
    return db.execute("select inherits.inhparent::regclass::text, facts.tableoid::regclass::text, count(*), "
                      "min(facts.date_key), max(facts.date_key) "
                      "from warehouse.fact_sales as facts "
                      "inner join pg_inherits as inherits on inherits.inhrelid = facts.tableoid "
                      "group by 1, 2 order by 2").fetchall()


def test_facts_are_kept_in_a_partition_per_date_within_one_per_month_with_their_statistics(db):
    load_day(db, DAY1, BASE, CATALOG, [order(101, 1, "2026-05-01T09:00:00Z")], [line(101, 1, 10)])
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z")], [line(201, 1, 10), line(201, 2, 11)])
    load_day(db, "2026-06-01", BASE, CATALOG, [order(601, 2, "2026-06-01T09:00:00Z")], [line(601, 1, 10)])
    assert fact_partitions(db) == [
        ("warehouse.fact_sales_2026_05", "warehouse.fact_sales_2026_05_01", 1, 20260501, 20260501),
        ("warehouse.fact_sales_2026_05", "warehouse.fact_sales_2026_05_02", 2, 20260502, 20260502),
        ("warehouse.fact_sales_2026_06", "warehouse.fact_sales_2026_06_01", 1, 20260601, 20260601)]
    # each date's partition has the table's indexes (the attach built them)
    assert db.execute("select count(*) from pg_partition_tree('warehouse.fact_sales_pkey') where isleaf"
                      ).fetchone() == (3,)
    # the planner knows each date's partition at once, and the months and the whole table
    # (autovacuum never analyzes a partitioned table)
    assert db.execute("select relname, reltuples from pg_class where relname like 'fact_sales_2026%' "
                      "and relkind = 'r' order by 1").fetchall() == [
        ("fact_sales_2026_05_01", 1), ("fact_sales_2026_05_02", 2), ("fact_sales_2026_06_01", 1)]
    assert db.execute("select relname, reltuples >= 1 from pg_class where relname in "
                      "('fact_sales', 'fact_sales_2026_05', 'fact_sales_2026_06') order by 1").fetchall() == [
        ("fact_sales", True), ("fact_sales_2026_05", True), ("fact_sales_2026_06", True)]


def test_a_reload_replaces_the_dates_partition_and_a_failed_one_keeps_it(db):
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z")], [line(201, 1, 10), line(201, 2, 11)])
    first = db.execute("select 'warehouse.fact_sales_2026_05_02'::regclass::oid").fetchone()
    with db.cursor() as cursor:
        facts = table_checksum(cursor, "warehouse", "fact_sales")

    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z")], [line(201, 1, 10), line(201, 2, 11)])
    assert db.execute("select 'warehouse.fact_sales_2026_05_02'::regclass::oid").fetchone() != first
    assert fact_partitions(db) == [
        ("warehouse.fact_sales_2026_05", "warehouse.fact_sales_2026_05_02", 2, 20260502, 20260502)]
    with db.cursor() as cursor:
        assert table_checksum(cursor, "warehouse", "fact_sales") == facts
    # a new table per load, so nothing of the old one is left behind
    assert db.execute("select count(*) from pg_class where relname like 'fact_sales_loading%'").fetchone() == (0,)
    # the rows built in the loading table count as the facts written
    assert db.execute("select distinct rows_written from audit.task_runs "
                      "where task_id = 'warehouse.040_fact_sales' and business_date = %s", (DAY2,)).fetchall() == [(2,)]

    # a table that would hold another date's facts cannot become the date's partition
    with pytest.raises(psycopg.errors.CheckViolation):
        with db.transaction():
            db.execute("create table warehouse.fact_sales_loading (like warehouse.fact_sales)")
            db.execute("insert into warehouse.fact_sales_loading select * from warehouse.fact_sales")
            db.execute("update warehouse.fact_sales_loading set date_key = 20260503")
            db.execute("select warehouse.replace_fact_sales_date('2026-05-02')")
    assert fact_partitions(db) == [
        ("warehouse.fact_sales_2026_05", "warehouse.fact_sales_2026_05_02", 2, 20260502, 20260502)]


@pytest.mark.parametrize(("model", "phrase", "expected"), [
    ("warehouse/040_fact_sales.sql", "create temporary table replaced_customers", ["fact_sales_2026_05_02"]),
    ("warehouse/050_agg_daily_sales.sql", "create temporary table recomputed_sales", ["fact_sales_2026_05_02"]),
    ("warehouse/060_customer_monthly_sales.sql", "insert into warehouse.customer_daily_sales", ["fact_sales_2026_05_02"]),
    ("warehouse/070_product_monthly_sales.sql", "insert into warehouse.product_daily_sales", ["fact_sales_2026_05_02"]),
    ("analytics/daily_kpis.sql", "insert into model_rows", ["fact_sales_2026_05_02"]),
    ("analytics/basket_pairs.sql", "insert into model_rows", ["fact_sales_2026_05_02"]),
    # a rerun with no version changed re-points no fact, and no first order moved
    ("warehouse/020_dim_customers.sql", "create temporary table refreshed_facts", []),
    ("warehouse/030_dim_products.sql", "create temporary table refreshed_facts", []),
    ("warehouse/050_agg_daily_sales.sql", "create temporary table new_customer_deltas", []),
])
def test_the_facts_of_the_dates_a_statement_reads_are_its_only_partitions_planned(db, three_days, model, phrase,
                                                                                  expected):
    """Only the partitions of the dates read are in the plan: pruned as the statement is planned
    (by the business date's key, or by a parameter an earlier statement bound:
    ecommerce.models.bound_results), not as it runs, which opened and planned every one."""
    import json

    with db.transaction(force_rollback=True):
        statement, params = run_model_until(db, model, phrase, DAY2)
        (plan,), = db.execute("explain (analyze, format json) " + statement, params).fetchone()
    planned = sorted({node["Relation Name"] for node in plan_nodes(plan["Plan"])
                      if node.get("Relation Name", "").startswith("fact_sales_")})
    assert planned == expected, json.dumps(plan, indent=1)


def test_warehouse_date_key_is_the_dates_yyyymmdd(db, three_days):
    wrong = db.execute("select count(*) from generate_series(date '1999-12-25', date '2032-03-05', interval '1 day') "
                       "as day where warehouse.date_key(day::date) <> to_char(day, 'YYYYMMDD')::integer").fetchone()
    assert wrong == (0,)


def test_a_one_row_result_binds_the_columns_the_models_statements_name_as_parameters(db):
    from ecommerce.models import ModelError, bound_results

    statements = ("select 7 as wanted", "select %(wanted)s::integer + %(business_date)s::integer")
    bound = {"business_date": 1}
    assert bound_results(db.execute("select 7 as wanted"), statements, bound) == {"wanted": 7}
    assert bound_results(db.execute("select 7 as other"), statements, bound) == {}  # named by no statement
    assert bound_results(db.execute("select 7 as wanted, 8 as other"), statements, bound) == {}  # one column is not
    assert bound_results(db.execute("select 7 as wanted from generate_series(1, 2)"), statements, bound) == {}  # 2 rows
    assert bound_results(db.execute("select 7 as wanted where false"), statements, bound) == {}  # none
    assert bound_results(db.execute("create temporary table wanted (wanted integer)"), statements, bound) == {}
    with pytest.raises(ModelError, match="business_date"):  # never a new value for a bound one
        bound_results(db.execute("select 2 as business_date"), statements, bound)


def make_month_partitions_ordinary(db) -> None:
    """The layout before the date partitions: each month's partition an ordinary table."""
    months = db.execute(
        "select inhrelid::regclass::text, pg_get_expr(relpartbound, inhrelid) from pg_inherits "
        "inner join pg_class on pg_class.oid = inhrelid where inhparent = 'warehouse.fact_sales'::regclass").fetchall()
    db.execute("create table public.facts as select * from warehouse.fact_sales")
    for month, bounds in months:
        db.execute(f"drop table {month}")
        db.execute(f"create table {month} partition of warehouse.fact_sales {bounds}")
    db.execute("insert into warehouse.fact_sales select * from public.facts")
    db.execute("drop table public.facts")


@pytest.mark.parametrize("layout", ["unpartitioned", "partitioned by month"])
def test_facts_of_an_older_warehouse_move_into_date_partitions(db, layout):
    from ecommerce.schema import apply_schema

    load_day(db, DAY1, BASE, CATALOG, [order(101, 1, "2026-05-01T09:00:00Z")], [line(101, 1, 10)])
    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z")], [line(201, 1, 10), line(201, 2, 11)])
    load_day(db, "2026-06-01", BASE, CATALOG, [order(601, 2, "2026-06-01T09:00:00Z")], [line(601, 1, 10)])
    partitions = fact_partitions(db)
    with db.cursor() as cursor:
        facts = table_checksum(cursor, "warehouse", "fact_sales")
    if layout == "unpartitioned":
        # The table as it was created before: an ordinary one, primary key (transaction_id, line_number).
        db.execute("create table public.facts as select * from warehouse.fact_sales")
        db.execute("drop table warehouse.fact_sales")
        db.execute("create table warehouse.fact_sales (like public.facts including all, "
                   "primary key (transaction_id, line_number))")
        db.execute("create index fact_sales_date_idx on warehouse.fact_sales (date_key)")
        db.execute("insert into warehouse.fact_sales select * from public.facts")
        db.execute("drop table public.facts")
    else:
        make_month_partitions_ordinary(db)
        assert db.execute("select count(*) from pg_inherits where inhparent = 'warehouse.fact_sales_2026_05'::regclass"
                          ).fetchone() == (0,)

    forget_schema_version(db)
    apply_schema(db)  # migration 0005
    apply_schema(db)  # and again: nothing left to move
    assert db.execute("select relkind from pg_class where oid = 'warehouse.fact_sales'::regclass").fetchone() == ("p",)
    assert db.execute("select count(*) from pg_class where relname like any "
                      "(array['fact_sales_unpartitioned', 'fact_sales%by_month'])").fetchone() == (0,)
    assert fact_partitions(db) == partitions
    with db.cursor() as cursor:
        assert table_checksum(cursor, "warehouse", "fact_sales") == facts
    load_day(db, "2026-06-01", BASE, CATALOG, [order(601, 2, "2026-06-01T09:00:00Z")], [line(601, 1, 10)])
    with db.cursor() as cursor:
        assert table_checksum(cursor, "warehouse", "fact_sales") == facts


def test_the_next_bootstrap_drops_the_status_index_of_an_older_warehouse(db):
    """Every fact insert paid for an index on status that no query reads."""
    from ecommerce.schema import apply_schema

    load_day(db, DAY2, BASE, CATALOG, [order(201, 1, "2026-05-02T09:00:00Z")], [line(201, 1, 10)])
    db.execute("create index fact_sales_status_idx on warehouse.fact_sales (status)")  # as it was created before

    forget_schema_version(db)
    apply_schema(db)  # migration 0006
    indexed = db.execute(
        "select pg_get_indexdef(indexrelid) from pg_index where indrelid = 'warehouse.fact_sales'::regclass "
        "order by 1").fetchall()
    assert [definition for (definition,) in indexed] == [
        "CREATE INDEX fact_sales_customer_idx ON ONLY warehouse.fact_sales USING btree (customer_sk)",
        "CREATE INDEX fact_sales_date_idx ON ONLY warehouse.fact_sales USING btree (date_key)",
        "CREATE INDEX fact_sales_product_idx ON ONLY warehouse.fact_sales USING btree (product_sk)",
        "CREATE UNIQUE INDEX fact_sales_pkey ON ONLY warehouse.fact_sales USING btree (transaction_id, line_number, date_key)",
    ]
    # nor on any month's partition
    assert db.execute("select count(*) from pg_indexes where tablename like 'fact_sales%' and indexdef like '%(status)'"
                      ).fetchone() == (0,)


def test_only_a_fact_moving_to_or_from_the_unknown_member_makes_customer_aggregates_stale(db):
    """The customer aggregates count by customer_id: a fact re-pointed to another version of
    its customer leaves its date alone; one moving off the unknown member makes it stale."""
    from ecommerce.operators import SqlModelOperator

    def load_up_to_dim_customers(date, customers):
        stage_rows(db, "customers", date, customers)
        stage_rows(db, "products", date, CATALOG)
        run_models(date, layers=("production",))
        for model in ("010_dim_date", "020_dim_customers"):
            SqlModelOperator(task_id=model, sql=f"warehouse/{model}.sql", business_date=date).execute(
                task_context(f"warehouse.{model}"))

    def fact_customer(transaction_id):
        return db.execute("select customer_sk from warehouse.fact_sales where transaction_id = %s",
                          (transaction_id,)).fetchone()[0]

    # Customer 5 has no version valid at order 202's time yet: that fact is on the unknown member.
    customers = [customer(1, "2026-04-01T10:00:00Z"), customer(5, "2026-05-03T10:00:00Z")] + BASE[1:]
    load_day(db, DAY2, customers, CATALOG, [order(202, 5, "2026-05-02T09:00:00Z")], [line(202, 1, 10)])
    load_day(db, DAY3, customers, CATALOG, [order(301, 1, "2026-05-03T09:00:00Z")], [line(301, 1, 10)])
    on_version = fact_customer(301)
    assert fact_customer(202) == -1

    # May 1st, late, shows an older version of customer 1 (the version of order 301 now starts
    # at its updated_at: a new row) and customer 5 as it was then.
    load_up_to_dim_customers(DAY1, [customer(1, "2026-03-01T00:00:00Z", email="old1@example.com"),
                                    customer(5, "2026-04-01T00:00:00Z")] + BASE[1:])
    assert fact_customer(301) not in (on_version, -1) and fact_customer(202) != -1
    stale = db.execute("select model, business_date::text from warehouse.stale_dates order by 1").fetchall()
    assert stale == [("agg_daily_sales", DAY2), ("customer_monthly_sales", DAY2), ("daily_kpis", DAY2)]


@pytest.mark.parametrize("late_version, stale", [
    ({"unit_price": "20.00"}, False),  # the price it had until then
    ({"category": "Garden"}, True),    # the category it was in until then
], ids=["same attributes", "another category"])
def test_a_fact_re_pointed_makes_its_date_stale_for_the_category_totals_only_if_its_attributes_change(
        db, late_version, stale):
    """May 3rd alone shows product 10 as changed at 10:00, so its first version starts that day
    and order 301 at 11:00 is on it. May 2nd, late, shows the version before: the change now
    starts at 10:00, a new row, and order 301 is re-pointed to it — the same attributes, so
    agg_daily_sales of May 3rd stands. Order 302 at 09:00 moves to the earlier version: with
    another category its date is recomputed."""
    load_day(db, DAY3, BASE, [product(10, "25.00", "2026-05-03T10:00:00Z"), CATALOG[1]],
             [order(301, 1, "2026-05-03T11:00:00Z")] + ([order(302, 2, "2026-05-03T09:00:00Z")] if stale else []),
             [line(301, 1, 10)] + ([line(302, 1, 10)] if stale else []))
    sk_before = db.execute("select product_sk from warehouse.fact_sales where transaction_id = 301").fetchone()[0]
    earlier = {**product(10, "25.00", "2026-01-01T00:00:00Z"), **late_version}
    load_day(db, DAY2, BASE, [earlier, CATALOG[1]], [order(201, 3, "2026-05-02T09:00:00Z")], [line(201, 1, 11)])
    assert db.execute("select product_sk from warehouse.fact_sales where transaction_id = 301").fetchone()[0] \
        != sk_before, "the fact was re-pointed"
    # May 2nd's Home row, and May 3rd's Home and Garden rows if stale
    assert aggregate_rows_written(db, DAY2) == (3 if stale else 1)
    assert db.execute("select date_key, category_name, lines, net_revenue from warehouse.agg_daily_sales "
                      "order by 1, 2").fetchall() == db.execute(
        "select f.date_key, p.category_name, count(*), sum(f.net_amount) from warehouse.fact_sales f "
        "join warehouse.dim_products p using (product_sk) where f.status = 'completed' group by 1, 2 "
        "order by 1, 2").fetchall()
