"""The Celery profile: two workers share a backfill, and Flower asks for its login."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request

import pytest

from conftest import api_of, log
from stack import StepTimedOut

KIND, EXECUTOR, PROFILES, SCALE = "celery", "CeleryExecutor", ("celery",), {"airflow-worker": 2}
DAG = "ecommerce_pipeline"
START, END, ORDERS = "2026-11-10", "2026-11-13", 200
RUN_LIMIT = 1500


@pytest.fixture(scope="module")
def backfill(running_project):
    """A backfill of four dates with params, through the REST API, run to success."""
    api = api_of(running_project)
    api.set_paused(DAG, False)  # the DAGs start paused, and a paused DAG's backfill runs wait
    started = time.monotonic()
    created = api.request("POST", "/api/v2/backfills", {
        "dag_id": DAG, "from_date": f"{START}T00:00:00Z", "to_date": f"{END}T00:00:00Z",
        "dag_run_conf": {"orders": ORDERS}, "max_active_runs": 4, "reprocess_behavior": "completed"})
    deadline = time.monotonic() + RUN_LIMIT
    while len(runs := [run for run in api.runs(DAG) if run["run_type"] == "backfill"]) < 4:  # four dates
        if time.monotonic() > deadline:
            raise StepTimedOut(f"backfill {created['id']} created {len(runs)} runs of 4 in {RUN_LIMIT} s")
        time.sleep(2)
    for run in runs:
        api.wait_for_run(DAG, run["dag_run_id"], max(1, deadline - time.monotonic()))
    log(f"backfill of 4 dates on 2 workers: success in {time.monotonic() - started:.0f} s")
    return api, runs


def test_a_backfill_of_four_dates_keeps_its_params_and_runs_on_both_workers(running_project, backfill):
    api, runs = backfill
    assert all(run["conf"] == {"orders": ORDERS} for run in runs), [run["conf"] for run in runs]
    hostnames = {ti["hostname"] for run in runs for ti in api.task_instances(DAG, run["dag_run_id"])
                 if ti["state"] == "success"}
    workers = {container["Config"]["Hostname"] for container in running_project.containers()
               if container["Config"]["Labels"]["com.docker.compose.service"] == "airflow-worker"}
    assert len(workers) == 2
    assert hostnames == workers, f"tasks ran on {hostnames}, the workers are {workers}"


def test_flower_asks_for_its_login(running_project):
    env = running_project.env
    url = f"http://127.0.0.1:{env['FLOWER_PORT']}/"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)
    assert refused.value.code == 401
    request = urllib.request.Request(url)
    user, password = env["FLOWER_BASIC_AUTH"].split(":", 1)
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
