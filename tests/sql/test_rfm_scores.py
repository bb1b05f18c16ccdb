"""RFM's scores are ntile(5)'s: the model finds each quintile's first customer (macros/ntile.sql)
instead of calling the window function, and must give every customer the score it would."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from conftest import connect, reset_warehouse, task_context

#: What the window function gives: the model as it was (ties to the lower customer_id).
NTILE = """
select customer_id, (select max(last_date) from warehouse.customer_totals) - last_date, orders, net_revenue,
    ntile(5) over (order by last_date, customer_id),
    ntile(5) over (order by orders, customer_id),
    ntile(5) over (order by net_revenue, customer_id)
from warehouse.customer_totals
where customer_id <> -1
"""
MODEL = """
select customer_id, recency_days, frequency, monetary, r_score, f_score, m_score
from analytics.rfm_segments
"""


@pytest.fixture(scope="module")
def db():
    reset_warehouse()
    with connect(autocommit=True) as conn:
        yield conn


def customers(count: int, shape: str, seed: int) -> list[tuple]:
    """(customer_id, orders, net_revenue, last_date) of ``count`` customers, the unknown member
    (-1) among them at times; ``shape``: distinct measures, a few values each, or one value."""
    rng = random.Random(seed)
    rows = []
    for customer_id in rng.sample(range(-3, 5 * count + 5), count):
        if shape == "distinct":
            orders, cents, days = rng.randint(1, 10**6), rng.randint(-10**5, 10**9), rng.randint(0, 5000)
        elif shape == "few values":
            orders, cents, days = rng.choice([1, 1, 1, 2, 7]), rng.choice([999, 1999, 25000]), rng.randint(0, 3)
        else:
            orders, cents, days = 3, 4200, 10
        rows.append((customer_id, orders, cents / 100, date(2026, 1, 1) + timedelta(days=days)))
    return rows


def load_and_score(db, rows: list[tuple]) -> None:
    """``rows`` as the customers' totals, then the model as its task runs it."""
    from ecommerce.operators import SqlModelOperator

    db.execute("truncate warehouse.customer_totals")
    with db.cursor().copy("copy warehouse.customer_totals (customer_id, orders, net_revenue, first_month, last_date) "
                          "from stdin") as copy:
        for customer_id, orders, net_revenue, last_date in rows:
            copy.write_row((customer_id, orders, net_revenue, last_date.replace(day=1), last_date))
    SqlModelOperator(task_id="rfm_segments", sql="analytics/rfm_segments.sql", business_date="2026-11-20").run(
        db, task_context("analytics.rfm_segments"))


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 101, 2003])
@pytest.mark.parametrize("shape", ["distinct", "few values", "one value"])
def test_every_customer_has_the_scores_ntile_gives(db, count, shape):
    rows = customers(count, shape, seed=count)
    load_and_score(db, rows)

    expected = sorted(db.execute(NTILE).fetchall())
    assert len(expected) == len([row for row in rows if row[0] != -1])
    assert sorted(db.execute(MODEL).fetchall()) == expected


def test_recency_counts_from_the_latest_date_of_every_total_the_unknown_members_too(db):
    load_and_score(db, [(1, 2, 10.0, date(2026, 1, 1)), (2, 1, 5.0, date(2026, 1, 5)), (-1, 9, 99.0, date(2026, 2, 1))])
    assert db.execute("select customer_id, recency_days from analytics.rfm_segments order by 1").fetchall() \
        == [(1, 31), (2, 27)]
    assert sorted(db.execute(MODEL).fetchall()) == sorted(db.execute(NTILE).fetchall())
