"""One run per business date at a time: a second run waits for an active holder, takes over
from a finished one, and other dates never wait."""

from __future__ import annotations

import threading
import time

import pytest

from conftest import connect
from ecommerce.date_claims import claim

DATE = "2026-05-01"


@pytest.fixture(autouse=True)
def _empty(empty_warehouse):
    pass


def claim_in_thread(run_id: str, states: dict, date: str = DATE) -> threading.Thread:
    def work():
        with connect(autocommit=True) as conn, conn.cursor() as cursor:
            claim(cursor, date, "ecommerce_pipeline", run_id, lambda dag_id, run: states.get(run), poll_seconds=0.05)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def holder(db, date: str = DATE) -> str:
    return db.execute("select run_id from audit.date_claims where business_date = %s", (date,)).fetchone()[0]


def test_a_second_run_of_the_date_waits_for_the_running_one(db):
    states = {"first": "running"}
    claim_in_thread("first", states).join(timeout=10)
    second = claim_in_thread("second", states)
    time.sleep(0.5)
    assert second.is_alive() and holder(db) == "first", "the second run waits"
    other_date = claim_in_thread("third", states, date="2026-05-02")
    other_date.join(timeout=10)
    assert not other_date.is_alive(), "another date does not wait"
    states["first"] = "failed"
    second.join(timeout=10)
    assert not second.is_alive() and holder(db) == "second"


def test_a_rerun_of_the_holder_and_a_vanished_holder_are_no_obstacle(db):
    states = {"first": "running"}
    claim_in_thread("first", states).join(timeout=10)
    again = claim_in_thread("first", states)  # a retried or cleared task of the same run
    again.join(timeout=10)
    assert not again.is_alive()
    del states["first"]  # e.g. replaced by `airflow dags test` of the same date
    claim_in_thread("second", states).join(timeout=10)
    assert holder(db) == "second"


def test_airflow_run_states_are_read_by_name():
    from types import SimpleNamespace

    from airflow.utils.state import DagRunState

    from ecommerce.date_claims import ACTIVE_STATES, airflow_run_state

    def get_dagrun_state(dag_id, run_id):
        if run_id == "deleted":
            raise RuntimeError("404 Not Found")
        return DagRunState.RUNNING

    state = airflow_run_state(SimpleNamespace(get_dagrun_state=get_dagrun_state))
    assert state("ecommerce_pipeline", "scheduled__x") in ACTIVE_STATES
    assert state("ecommerce_pipeline", "deleted") is None
