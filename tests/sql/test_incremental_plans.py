"""An incremental model replaces the rows of the dates it recomputes through its primary key
(the date first), whatever the history's length.

Its ``delete`` (``ecommerce.models``, materialised ``incremental``) once named the dates by a
join with the recomputed dates and the model's new rows: planned as a scan of every date's rows
(11 ms of ``analytics.basket_pairs`` at 64 default dates, a cost that grew with every date
loaded). These tests plan it on a history of 30 dates."""

from __future__ import annotations

import json

import pytest

from conftest import connect, plan_nodes, reset_warehouse, run_model_until
from ecommerce.models import homes

DATES = 30
PAIRS_PER_DATE = 3_000
DAY = "2026-05-16"  # one in the middle of the history


@pytest.fixture
def emptied_after():
    yield
    reset_warehouse()  # the fake rows go


def test_an_incremental_models_delete_finds_the_dates_rows_through_its_key(emptied_after):
    """analytics.basket_pairs, the largest incremental table (a row per pair and date)."""
    model = next(model for model in homes("analytics") if model.name == "basket_pairs")
    assert model.materialized == "incremental" and model.primary_key[0] == model.incremental_by
    reset_warehouse()
    with connect(autocommit=True) as conn:
        conn.execute(
            "insert into analytics.basket_pairs (date, pair_level, item_a, item_b, orders) "
            "select date '2026-05-01' + day, 'product', n::text, n::text, 1 "
            "from generate_series(0, %(dates)s - 1) as day, generate_series(1, %(pairs)s) as n",
            {"dates": DATES, "pairs": PAIRS_PER_DATE})
        conn.execute("analyze analytics.basket_pairs")
    with connect() as conn:  # the dates taken, the model's new rows (none: no facts)
        statement, params = run_model_until(conn, model.file, f"delete from {model.table} ", DAY)
        (plan,), = conn.execute("explain (format json) " + statement, params).fetchone()
        conn.rollback()
    scans = [node for node in plan_nodes(plan["Plan"])
             if node.get("Relation Name") == "basket_pairs" and node["Node Type"] != "ModifyTable"]
    assert scans and all(node["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")
                         for node in scans), json.dumps(plan, indent=1)
