"""A date's order lines are read through the lines' primary key, whatever the history's length.

production.transaction_items has no date column: the statements that replace, check or turn
into facts a date's lines reach them through the date's orders (so do the declared checks of
the date's lines, include/quality). Joined on the ids alone, a
date among many is planned as a scan of every date's lines (a cost that grows with every date
loaded); within the range of the date's order ids (``macros/date_orders.sql``) the primary
key finds them. These tests plan those statements on a history of 30 dates."""

from __future__ import annotations

import json

import pytest

from conftest import connect, plan_nodes, reset_warehouse, run_model_until

DATES = 30
ORDERS_PER_DATE = 4_000
DAY = "2026-05-16"  # one in the middle of the history

#: Every statement that reads the date's lines: (model, a phrase that picks the statement).
STATEMENTS = [
    ("production/050_transactions.sql", "delete from production.transaction_items"),
    ("production/060_transaction_items.sql", "delete from production.transaction_items"),
    ("warehouse/040_fact_sales.sql", "create table warehouse.fact_sales_loading"),
]


@pytest.fixture(scope="module")
def long_history():
    """30 dates of orders (ids numbered per date, as the generator and most shops do), two lines
    each, with their planner statistics."""
    reset_warehouse()
    with connect(autocommit=True) as conn:
        conn.execute(
            "insert into production.transactions (transaction_id, customer_id, transaction_ts, channel, "
            "  payment_method, status, shipping_cost, batch_date) "
            "select day * 10000000 + n, n, date '2026-05-01' + day + interval '12 hours', 'web', 'paypal', "
            "  'completed', 0, date '2026-05-01' + day "
            "from generate_series(0, %(dates)s - 1) as day, generate_series(1, %(orders)s) as n",
            {"dates": DATES, "orders": ORDERS_PER_DATE})
        conn.execute(
            "insert into production.transaction_items (transaction_id, line_number, product_id, quantity, "
            "  unit_price, discount) "
            "select transaction_id, line, 1, 1, 10, 0 from production.transactions, generate_series(1, 2) as line")
        conn.execute("analyze production.transactions, production.transaction_items")
    yield
    reset_warehouse()


@pytest.mark.parametrize(("model", "phrase"), STATEMENTS)
def test_a_dates_lines_are_read_through_the_primary_key(long_history, model, phrase):
    with connect() as conn:
        statement, params = run_model_until(conn, model, phrase, DAY)  # the order range, the table it writes
        (plan,), = conn.execute("explain (format json) " + statement, params).fetchone()
        conn.rollback()
    assert_lines_read_through_the_primary_key(plan)


#: The declared checks that read the date's lines: (layer, check name).
CHECKS = [("production", "production_transaction_items_product_known"),
          ("production", "transaction_items_staged_balance"), ("warehouse", "fact_sales_balance_production")]


@pytest.mark.parametrize(("layer", "name"), CHECKS)
def test_the_checks_of_a_dates_lines_read_them_through_the_primary_key(long_history, layer, name):
    from ecommerce.quality.checks import layer_checks
    from ecommerce.quality.engine import query_parameters

    check = {check.name: check for check in layer_checks(layer)}[name]
    query = check.balance_values() if check.type == "balance" else check.failing_rows(typed=True)
    with connect() as conn:
        params = query_parameters(conn.cursor(), [check], DAY)  # the bounds of the `via` scope, as the gate binds them
        (plan,), = conn.execute(b"explain (format json) " + query.as_bytes(conn), params).fetchone()
    assert_lines_read_through_the_primary_key(plan)


def assert_lines_read_through_the_primary_key(plan: dict) -> None:
    nodes = list(plan_nodes(plan["Plan"]))
    shown = json.dumps(plan, indent=1)
    assert not [node for node in nodes
                if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "transaction_items"], shown
    assert [node for node in nodes if node.get("Index Name") == "transaction_items_pkey"], shown
