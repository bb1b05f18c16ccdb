"""Two business dates at once: models of other tables run at the same time, writers of one table
(and its readers) take turns (ecommerce.table_locks).

Each case holds one date's model transaction open on one connection (the model has run, its
transaction not yet committed) and runs another date's model on a second connection, then
watches that second backend until it either finishes or waits on a lock.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from conftest import connect, load_after_staging, stage_generated, task_context

DATES = ["2026-04-06", "2026-04-07"]
SHOP = dict(seed=5, orders=30, customers=120, new_customers=2, products=40, customer_change_rate=0.05,
            customer_delete_rate=0.01, price_change_rate=0.05, discontinue_rate=0.001, defect_rate=0.02)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    stage_generated(tmp_path_factory.mktemp("locks-raw"), DATES, SHOP)
    load_after_staging(DATES)


class Forecast:
    """The forecast task's transaction, run like a model."""

    def run(self, conn, context) -> None:
        from ecommerce.forecast import refresh

        with conn.transaction(), conn.cursor() as cursor:
            refresh(cursor)


def model(sql: str, business_date: str):
    from ecommerce.operators import SqlModelOperator

    if sql == "forecast":
        return Forecast()
    return SqlModelOperator(task_id=sql.replace("/", "."), sql=f"{sql}.sql", business_date=business_date)


def advisory_keys(locks) -> set[tuple[int, int]]:
    """``pg_locks``' (classid, objid) of advisory locks on 64-bit keys."""
    return {((lock.key % 2**64) >> 32, lock.key % 2**32) for lock in locks}


def model_locks(sql: str, business_date: str):
    from ecommerce import forecast, table_locks
    from ecommerce.models import model_statements
    from ecommerce.operators.sql_model import model_tables

    if sql == "forecast":
        return table_locks.locks(*table_locks.tables(forecast.STATEMENTS), business_date)
    return table_locks.locks(*model_tables(model_statements(f"{sql}.sql")), business_date)


def second_date_beside_the_first(first: str, second: str) -> tuple[bool, set[tuple[int, int]]]:
    """Run ``first`` for DATES[0] and hold its transaction open; run ``second`` for DATES[1] on
    another connection. Whether the second waited on a lock while the first was open, and the
    advisory locks it waited on; the first is then rolled back and the second let finish."""
    errors: list[BaseException] = []
    with connect() as holder, connect(autocommit=True, prepare_threshold=None) as runner:
        pid = runner.info.backend_pid

        def run_second():
            try:
                model(second, DATES[1]).run(runner, task_context(second))
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        with holder.transaction(), connect(autocommit=True) as watcher:
            model(first, DATES[0]).run(holder, task_context(first))
            thread = threading.Thread(target=run_second)
            thread.start()
            waiting: set[tuple[int, int]] | None = None
            while thread.is_alive() and waiting is None:
                blocked = watcher.execute("select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                                          (pid,)).fetchone()
                if blocked and blocked[0]:
                    waiting = {(int(classid), int(objid)) for classid, objid in watcher.execute(
                        "select classid::bigint, objid::bigint from pg_locks "
                        "where pid = %s and not granted and locktype = 'advisory'", (pid,)).fetchall()}
                time.sleep(0.005)
            finished_alone = not thread.is_alive()
            raise psycopg.Rollback()  # the first's transaction ends: the second goes on
        thread.join()
    assert not errors, errors
    assert finished_alone == (waiting is None)
    return waiting is not None, waiting or set()


@pytest.mark.parametrize(("first", "second"), [
    ("analytics/rfm_segments", "analytics/top_products"),
    ("analytics/daily_kpis", "analytics/cohort_retention"),
    ("warehouse/060_customer_monthly_sales", "warehouse/070_product_monthly_sales"),
    ("forecast", "analytics/top_products"),
])
def test_another_dates_model_of_another_table_runs_while_one_is_open(loaded, first, second):
    """Models the graph shows side by side, which the one warehouse lock made take turns."""
    waited, _ = second_date_beside_the_first(first, second)
    assert not waited


@pytest.mark.parametrize(("first", "second"), [
    ("analytics/cohort_retention", "analytics/cohort_retention"),  # one table, two dates
    ("warehouse/020_dim_customers", "warehouse/040_fact_sales"),  # both rewrite fact_sales
    ("warehouse/060_customer_monthly_sales", "analytics/rfm_segments"),  # reads customer_totals
    # fact_sales moves first orders and queues the moves; agg_daily_sales takes the queue and
    # checks it against the first orders: never between the two
    ("warehouse/040_fact_sales", "warehouse/050_agg_daily_sales"),
    ("forecast", "analytics/insights"),  # the insights read the outlook the forecast writes
])
def test_another_dates_model_waits_for_a_writer_of_a_table_it_touches(loaded, first, second):
    waited, keys = second_date_beside_the_first(first, second)
    assert waited
    wanted = {lock.table: lock for lock in model_locks(second, DATES[1])}
    conflicting = [lock for lock in model_locks(first, DATES[0])
                   if lock.table in wanted and (lock.exclusive or wanted[lock.table].exclusive)]
    assert conflicting
    assert keys and keys <= advisory_keys(conflicting)
