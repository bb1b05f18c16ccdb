"""One lane of ``make run``: ``ecommerce_pipeline`` for some business dates, then (in the first
lane) ``refresh_dashboards``, in one process: Airflow starts and parses the DAG files once.

Each run is a real ``dag.test()`` run, what ``airflow dags test`` does: a DagRun with its task
instances in the metadata database (the UI shows them), each task's log printed as it runs.
``dag.test()`` dates a run's start at its logical date (a day after the business date, which
made it look days long in the UI); each run's start is set back to when it really started, and
its note names the business date.
``make run`` starts one lane per core (``ecommerce_local.lanes``) as ``python -m
ecommerce_local.dag_runs PLAN.json``; the plan lists the lane's runs as ``{"number": ...,
"logical_date": ..., "conf": {...}}`` out of ``total`` dates, and whether it refreshes the
dashboards. Orders come on standard input (``lanes.Orders``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ecommerce_local.lanes import Orders


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
    from ecommerce.freshness import without_deadline

    pipeline, dashboards = without_deadline(bag.get_dag("ecommerce_pipeline")), bag.get_dag("refresh_dashboards")
    store_dags()

    def run_date(planned: dict) -> bool:
        business_date = planned["conf"]["business_date"]
        logical_date = datetime.fromisoformat(planned["logical_date"]).replace(tzinfo=timezone.utc)
        started = datetime.now(timezone.utc)
        run = pipeline.test(logical_date=logical_date, run_conf=planned["conf"])
        record(run, started, f"make run: business date {business_date}")
        return not failed(run, f"ecommerce_pipeline failed for {business_date}")

    return run_lane(plan, orders, run_date, lambda: not failed(dashboards.test(), "refresh_dashboards failed"))


def store_dags() -> None:
    """Store the DAG files' DAGs in the metadata database as ``dag.test()`` first does, one lane at
    a time (``one_lane_at_a_time``).

    ``dag.test()`` stores them anew whenever the files changed since: a new metadata database, a
    DAG edited (a tag, a task, an Asset added). Two lanes storing the same change at once both
    insert what is new, and the second fails on a unique key (seen: the Asset the DAGs share on a
    new AIRFLOW_HOME; a new tag after an edit). Stored first by each lane in turn, with the calls
    ``dag.test()`` makes, the DAGs are up to date when a run starts, and its own storing finds
    nothing to write.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    with one_lane_at_a_time():
        manager = DagBundlesManager()
        manager.sync_bundles_to_db()
        for bundle in manager.get_all_dag_bundles():
            if not bundle.is_initialized:
                bundle.initialize()
            bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
            sync_bag_to_db(bag, bundle.name, bundle.version)


#: The lock file in AIRFLOW_HOME that ``one_lane_at_a_time`` holds.
STORE_LOCK = "store-dags.lock"


@contextmanager
def one_lane_at_a_time() -> Iterator[None]:
    """Hold the AIRFLOW_HOME's lock for storing DAGs; the other lanes wait for it.

    Released with ``LOCK_UN``, not only by closing the file: a process forked while it is held
    shares the open file, and would keep the lock for as long as it lives (the OpenLineage
    listener's process pool did, forked during a run when the lock was held across one).
    """
    from airflow.configuration import AIRFLOW_HOME

    with open(Path(AIRFLOW_HOME) / STORE_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
