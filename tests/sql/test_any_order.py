"""Hand-made snapshot stories loaded out of order: each ends equal to loading the same dates
oldest first (dimensions compared by natural key and validity, facts by the versions they name)."""

from __future__ import annotations

import pytest

from conftest import assert_same_content, reset_warehouse, run_models, stage_rows, warehouse_content
from test_warehouse_models import CATALOG, customer, line, order, product

LAYERS = ("production", "warehouse", "analytics")
BASE = [customer(n, "2026-04-01T00:00:00Z") for n in (1, 2, 3)]


def load(db, date: str, day: dict) -> None:
    for table in ("customers", "products", "transactions", "transaction_items"):
        stage_rows(db, table, date, day.get(table, []))
    run_models(date, LAYERS)


def content_after(db, story: dict, order_of_dates: list[str]) -> dict:
    reset_warehouse()
    db.execute("set timezone = 'UTC'")
    for date in order_of_dates:
        load(db, date, story[date])
    return warehouse_content(db)


def assert_order_does_not_matter(db, story: dict, late_order: list[str]) -> dict:
    oldest_first = content_after(db, story, sorted(story))
    assert_same_content(content_after(db, story, late_order), oldest_first)
    return oldest_first


def versions_of(content: dict, customer_id: int) -> list[tuple]:
    """(email, valid_from, valid_to) of a customer's dimension versions, oldest first."""
    rows = [row for row in content["warehouse.dim_customers"] if row[0] == customer_id]
    return sorted((row[3], row[9], row[10]) for row in rows)


@pytest.fixture
def db(db):
    db.execute("set timezone = 'UTC'")
    return db


def test_a_change_revealed_late(db):
    # 1 changes email on May 2nd; the May 2nd snapshot arrives after May 3rd's, as do its orders.
    changed = [customer(1, "2026-05-02T10:00:00Z", email="new1@example.com")] + BASE[1:]
    story = {
        "2026-05-01": {"customers": BASE, "products": CATALOG},
        "2026-05-02": {"customers": changed, "products": CATALOG,
                       "transactions": [order(10, 1, "2026-05-02T09:00:00Z"), order(11, 1, "2026-05-02T11:00:00Z")],
                       "transaction_items": [line(10, 1, 10), line(11, 1, 10)]},
        "2026-05-03": {"customers": changed, "products": CATALOG,
                       "transactions": [order(12, 1, "2026-05-03T09:00:00Z")], "transaction_items": [line(12, 1, 11)]},
    }
    content = assert_order_does_not_matter(db, story, ["2026-05-01", "2026-05-03", "2026-05-02"])
    assert versions_of(content, 1) == [
        ("ann1@example.com", "2026-04-01 00:00:00+00", "2026-05-02 10:00:00+00"),
        ("new1@example.com", "2026-05-02 10:00:00+00", "infinity"),
    ]
    facts = sorted((row[5], row[2]) for row in content["warehouse.fact_sales"])
    assert facts == [(10, "2026-04-01 00:00:00+00"), (11, "2026-05-02 10:00:00+00"),
                     (12, "2026-05-02 10:00:00+00")]


def test_a_delete_then_return_with_the_middle_snapshot_loaded_last(db):
    story = {
        "2026-05-01": {"customers": BASE, "products": CATALOG},
        "2026-05-02": {"customers": BASE[:2], "products": CATALOG},  # 3 deleted
        "2026-05-03": {"customers": BASE, "products": CATALOG,       # and back
                       "transactions": [order(20, 3, "2026-05-03T12:00:00Z")], "transaction_items": [line(20, 1, 10)]},
    }
    content = assert_order_does_not_matter(db, story, ["2026-05-03", "2026-05-01", "2026-05-02"])
    assert versions_of(content, 3) == [
        ("ann3@example.com", "2026-04-01 00:00:00+00", "2026-05-03 00:00:00+00"),
        ("ann3@example.com", "2026-05-03 00:00:00+00", "infinity"),
    ]
    assert {row[0]: row[-1] for row in content["production.customers"]}[3] is None, "3 is live again"


def test_the_first_ever_snapshot_loaded_last(db):
    # Product 11 is discontinued on May 2nd, product 10 changes price on May 3rd.
    story = {
        "2026-05-01": {"customers": BASE, "products": CATALOG,
                       "transactions": [order(30, 2, "2026-05-01T08:00:00Z")], "transaction_items": [line(30, 1, 11)]},
        "2026-05-02": {"customers": BASE, "products": [CATALOG[0]]},
        "2026-05-03": {"customers": BASE, "products": [product(10, "25.00", "2026-05-03T06:00:00Z")],
                       "transactions": [order(31, 2, "2026-05-03T08:00:00Z")], "transaction_items": [line(31, 1, 10)]},
    }
    content = assert_order_does_not_matter(db, story, ["2026-05-03", "2026-05-02", "2026-05-01"])
    products = sorted((row[0], str(row[4]), row[8], row[9]) for row in content["warehouse.dim_products"]
                      if row[0] > 0)
    assert products == [
        (10, "20.00", "2026-01-01 00:00:00+00", "2026-05-03 06:00:00+00"),
        (10, "25.00", "2026-05-03 06:00:00+00", "infinity"),
        (11, "35.00", "2026-01-01 00:00:00+00", "2026-05-03 00:00:00+00"),
    ]
    first_orders = {row[0]: row[1] for row in content["warehouse.customer_first_orders"]}
    assert first_orders[2] == 20260501


def test_a_quarantined_snapshot_line_deletes_nothing(db):
    broken = [customer(3, "2026-04-01T00:00:00Z", email="not-an-email")]
    story = {
        "2026-05-01": {"customers": BASE, "products": CATALOG},
        "2026-05-02": {"customers": BASE[:2] + broken, "products": CATALOG},
        "2026-05-03": {"customers": BASE, "products": CATALOG},
    }
    content = assert_order_does_not_matter(db, story, ["2026-05-02", "2026-05-03", "2026-05-01"])
    assert versions_of(content, 3) == [("ann3@example.com", "2026-04-01 00:00:00+00", "infinity")]


def test_a_snapshot_with_an_unreadable_key_infers_no_deletion(db):
    unreadable = [{**customer(1, "2026-04-01T00:00:00Z"), "customer_id": "x1"}]
    story = {
        "2026-05-01": {"customers": BASE, "products": CATALOG},
        "2026-05-02": {"customers": BASE[1:] + unreadable, "products": CATALOG},  # 1's key unreadable
        "2026-05-03": {"customers": BASE[1:], "products": CATALOG},               # 1 really gone
    }
    content = assert_order_does_not_matter(db, story, ["2026-05-03", "2026-05-02", "2026-05-01"])
    assert versions_of(content, 1) == [("ann1@example.com", "2026-04-01 00:00:00+00", "2026-05-04 00:00:00+00")]
    assert ("customers", "2026-05-02", False) in {(r[0], r[1].isoformat(), r[2])
                                                  for r in content["production.snapshot_dates"]}
