"""Run ``ecommerce_pipeline`` for several business dates, then ``refresh_dashboards``, in one
process: Airflow starts and parses the DAG files once, not once per date.

Each run is a real ``dag.test()`` run, what ``airflow dags test`` does: a DagRun with its task
instances in the metadata database (the UI shows them), each task's log printed as it runs.
``dag.test()`` dates a run's start at its logical date (a day after the business date, which
made it look days long in the UI); each run's start is set back to when it really started, and
its note names the business date.
``make run`` calls it as ``python -m ecommerce.local.dag_runs PLAN.json`` in the local
environment; the plan lists the runs as ``{"logical_date": ..., "conf": {...}}``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone


def run_plan(plan: list[dict]) -> int:
    """Run every planned pipeline run in order, stopping at the first failure; 0 when all succeed."""
    from airflow.dag_processing.dagbag import DagBag

    from ecommerce.settings import PROJECT_ROOT

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"{path}: {error}", file=sys.stderr)
        return 1
    pipeline, dashboards = bag.get_dag("ecommerce_pipeline"), bag.get_dag("refresh_dashboards")
    for number, planned in enumerate(plan, start=1):
        business_date = planned["conf"]["business_date"]
        print(f"==> [{number}/{len(plan)}] ecommerce_pipeline for business date {business_date}", flush=True)
        logical_date = datetime.fromisoformat(planned["logical_date"]).replace(tzinfo=timezone.utc)
        started = datetime.now(timezone.utc)
        run = pipeline.test(logical_date=logical_date, run_conf=planned["conf"])
        record(run, started, f"make run: business date {business_date}")
        if failed(run, f"ecommerce_pipeline failed for {business_date}"):
            return 1
    # In a deployment the Asset update triggers it; here it runs once after the last date.
    print("==> refresh_dashboards", flush=True)
    return 1 if failed(dashboards.test(), "refresh_dashboards failed") else 0


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
        sys.exit(run_plan(json.load(plan_file)))
