"""One lane of ``make run``: ``ecommerce_pipeline`` for some business dates, then (in the first
lane) ``refresh_dashboards``, in one process: Airflow starts and parses the DAG files once.

Each run is a real ``dag.test()`` run, what ``airflow dags test`` does: a DagRun with its task
instances in the metadata database (the UI shows them), each task's log printed as it runs.
``dag.test()`` dates a run's start at its logical date (a day after the business date, which
made it look days long in the UI); each run's start is set back to when it really started, and
its note names the business date.
``make run`` starts one lane per core (``ecommerce.local.lanes``) as ``python -m
ecommerce.local.dag_runs PLAN.json``; the plan lists the lane's runs as ``{"number": ...,
"logical_date": ..., "conf": {...}}`` out of ``total`` dates, and whether it refreshes the
dashboards. Orders come on standard input (``lanes.Orders``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path

from ecommerce.local.lanes import Orders


def run_plan(plan: dict, orders: Orders) -> int:
    """Run the lane's plan with ``dag.test()`` (see ``run_lane``); 0 when all succeed."""
    from airflow.dag_processing.dagbag import DagBag

    from ecommerce.settings import PROJECT_ROOT

    logging.getLogger(DAG_TEST_LOGGER).addFilter(OneWaitWarning())
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"{path}: {error}", file=sys.stderr)
        return 1
    pipeline, dashboards = bag.get_dag("ecommerce_pipeline"), bag.get_dag("refresh_dashboards")
    first = plan["runs"][0] if plan["runs"] else None

    def run_date(planned: dict) -> bool:
        business_date = planned["conf"]["business_date"]
        logical_date = datetime.fromisoformat(planned["logical_date"]).replace(tzinfo=timezone.utc)
        with alone_until_stored(bag.dag_ids) if planned is first else nullcontext():
            started = datetime.now(timezone.utc)
            run = pipeline.test(logical_date=logical_date, run_conf=planned["conf"])
        record(run, started, f"make run: business date {business_date}")
        return not failed(run, f"ecommerce_pipeline failed for {business_date}")

    return run_lane(plan, orders, run_date, lambda: not failed(dashboards.test(), "refresh_dashboards failed"))


@contextmanager
def alone_until_stored(dag_ids: list[str]) -> Iterator[None]:
    """Around a lane's first ``dag.test()``: alone while the metadata database lacks a DAG.

    ``dag.test()`` first stores the DAG files' DAGs and their Assets in the metadata database. On
    a new database, two lanes storing them at once both insert the Asset the DAGs share, and the
    second lane fails on its unique key (seen on the first ``make run`` of a new AIRFLOW_HOME).
    So the first lane there holds a lock in AIRFLOW_HOME for its first run, and the others wait
    for it; once the DAGs are stored, each lane only takes the lock to see that they are.

    The lock is released with ``LOCK_UN``, not by closing the file: a process forked during the
    run (the OpenLineage listener's process pool) shares the open file, and the lock with it, for
    as long as it lives. When the lane that refreshes the dashboards had taken it, that lane, done
    with its dates, waited for the others to finish while they waited for the lock: ``make run``
    hung (in CI, until its time ran out).
    """
    from airflow.configuration import AIRFLOW_HOME

    with open(Path(AIRFLOW_HOME) / "dags-stored.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if dags_stored(dag_ids):
                fcntl.flock(lock, fcntl.LOCK_UN)
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def dags_stored(dag_ids: list[str]) -> bool:
    """Whether the metadata database holds a version of every one of ``dag_ids``."""
    from airflow.models.dag_version import DagVersion

    return all(DagVersion.get_version(dag_id) is not None for dag_id in dag_ids)


def run_lane(plan: dict, orders: Orders, run_date: Callable[[dict], bool], refresh: Callable[[], bool]) -> int:
    """Run the plan's dates in order, each after its progress line, stopping at the first failure
    or when told to; then, if the plan says so and ``orders`` say go, refresh the dashboards.
    0 when all succeed (or the lane was told to stop)."""
    for planned in plan["runs"]:
        if orders.stop():
            return 0
        print(f"==> [{planned['number']}/{plan['total']}] ecommerce_pipeline for business date "
              f"{planned['conf']['business_date']}", flush=True)
        if not run_date(planned):
            return 1
    if not plan["dashboards"] or not orders.go():
        return 0
    # In a deployment the Asset update triggers it; here it runs once after the last date.
    print("==> refresh_dashboards", flush=True)
    return 0 if refresh() else 1


#: The logger of ``dag.test()``'s loop.
DAG_TEST_LOGGER = "airflow.sdk.definitions.dag"


class OneWaitWarning(logging.Filter):
    """One line for each wait of ``dag.test()``, not one a second.

    While no task can run — a failure reaching the tasks after it (one step of upstream_failed
    a second), a task waiting out its retry delay — ``dag.test()`` warns every second with
    every waiting task instance. The first warning of a wait is kept, as a count; its repeats
    are dropped until the loop logs anything else (the next task starting).
    """

    def __init__(self) -> None:
        super().__init__()
        self.waiting = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("No tasks to run"):
            self.waiting = False
            return True
        if self.waiting:
            return False
        self.waiting = True
        waiting = record.args[0] if isinstance(record.args, tuple) and record.args else ()
        record.msg, record.args = ("No task can run now (%d waiting for an upstream failure to reach them, "
                                   "or for a retry); dag.test() checks again every second", (len(waiting),))
        return True


def record(run, started: datetime, note: str) -> None:
    """Give the run its real start time and a note (shown in the UI's grid and run details)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    if run is None:
        return
    with create_session() as session:
        stored = session.get(DagRun, run.id)
        stored.start_date = started
        stored.note = note


def failed(run, message: str) -> bool:
    """Whether ``dag.test()`` returned no successful run; says so, pointing at the task log."""
    from airflow.utils.state import DagRunState

    if run is not None and run.state == DagRunState.SUCCESS:
        return False
    print(f"{message}; see the task log above.", file=sys.stderr)
    return True


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as plan_file:
        sys.exit(run_plan(json.load(plan_file), Orders(sys.stdin.fileno())))
