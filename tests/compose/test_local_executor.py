"""The deployment with the LocalExecutor: what a user does after ``docker-compose up -d``,
through the published ports only, then the faults an operator meets."""

from __future__ import annotations

import os
import re
import signal
import socket
import time

import psycopg
import pytest

import warehouse
from conftest import api_of, log
from stack import StepFailed, StepTimedOut

KIND, EXECUTOR, PROFILES, SCALE = "local", "LocalExecutor", (), None
DAG = "ecommerce_pipeline"
DATE, ORDERS = "2026-11-20", 200
RUN_LIMIT = 900


def test_a_secret_missing_from_env_is_named(scratch_project):
    project = scratch_project("config")
    project.set_env(AIRFLOW_FERNET_KEY="")
    with pytest.raises(StepFailed, match=r"\.env lacks AIRFLOW_FERNET_KEY"):
        project.preflight()


def test_a_published_port_taken_is_named(scratch_project):
    project = scratch_project("port")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        project.set_env(WAREHOUSE_PORT=str(port))
        with pytest.raises(StepFailed, match=rf"port {port} \(WAREHOUSE_PORT, the warehouse\) is taken"):
            project.preflight()


def test_a_data_folder_airflow_cannot_write_stops_the_init_with_the_fix(deployment_images, scratch_project):
    project = scratch_project("uid", AIRFLOW_UID="50000")
    data = project.directory / "data"
    os.chown(data, 0, 0)
    data.chmod(0o755)
    result = project.compose("run", "--rm", "--no-deps", "airflow-init", step="airflow-init as uid 50000",
                             timeout=300, check=False)
    assert result.returncode != 0
    assert "./data belongs to uid 0 and is not writable by uid 50000 (AIRFLOW_UID)" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def stack(running_project):
    return running_project


@pytest.fixture(scope="module")
def api(stack):
    return api_of(stack)


@pytest.fixture(scope="module")
def first_run(api):
    """A business date triggered with params through the REST API, then the DAG unpaused (it
    starts paused): the triggered run and the scheduled one both run."""
    started = time.monotonic()
    run_id = api.trigger(DAG, {"business_date": DATE, "orders": ORDERS})
    for dag_id in (DAG, "refresh_dashboards"):
        api.set_paused(dag_id, False)
    run = api.wait_for_run(DAG, run_id, RUN_LIMIT)
    log(f"{run_id}: success in {time.monotonic() - started:.0f} s (trigger to success)")
    return run


def test_a_triggered_date_runs_with_its_params_and_refreshes_the_dashboards(stack, api, first_run):
    assert first_run["conf"] == {"business_date": DATE, "orders": ORDERS}
    assert first_run["note"] == f"business date {DATE}"  # the scheduler's plugin (ecommerce.run_notes)
    with warehouse.connect(stack, "ecommerce") as conn:
        assert conn.execute("select count(*) from audit.loaded_dates where business_date = %s", (DATE,)).fetchone()[0] == 1
        orders = conn.execute("select count(*) from production.transactions where transaction_ts::date = %s",
                              (DATE,)).fetchone()[0]
    assert 0 < orders < 10 * ORDERS  # the run generated the volume its params asked for, not the default
    deadline = time.monotonic() + RUN_LIMIT
    while not [run for run in api.runs("refresh_dashboards") if run["state"] == "success"]:
        assert time.monotonic() < deadline, "refresh_dashboards did not succeed after the pipeline's run"
        time.sleep(3)
    page = stack.directory / "data" / "dashboards" / "index.html"
    assert page.exists() and DATE in page.read_text()


def test_the_scheduled_run_that_unpausing_starts_succeeds(api, first_run):
    scheduled = [run for run in api.runs(DAG) if run["run_type"] == "scheduled"]
    assert scheduled, "unpausing started no scheduled run"
    api.wait_for_run(DAG, scheduled[0]["dag_run_id"], RUN_LIMIT)


def test_a_task_log_is_readable_through_the_api(api, first_run):
    instances = {ti["task_id"]: ti for ti in api.task_instances(DAG, first_run["dag_run_id"])}
    staging = instances["ingest_staging.transaction_items"]
    text = api.log(DAG, first_run["dag_run_id"], staging["task_id"], staging["try_number"], staging["map_index"])
    assert "rows" in text and DATE in text, text[-2000:]


def test_least_privilege_on_the_published_warehouse_port(stack, first_run):
    with warehouse.connect(stack, "bi_reader") as conn:
        assert conn.execute("select count(*) from warehouse.fact_sales").fetchone()[0] > 0
        assert conn.execute("select count(*) from analytics.daily_kpis").fetchone()[0] > 0
        for schema in ("staging", "audit"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from {schema}.loaded_dates" if schema == "audit"
                             else "select * from staging.customers limit 1")
            conn.rollback()
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        warehouse.connect(stack, "bi_reader", database="airflow").close()
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        warehouse.connect(stack, "airflow", database="ecommerce").close()
    with warehouse.connect(stack, "ecommerce") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("copy (select 1) to program 'id'")


def test_a_failed_run_reports_its_failed_task_and_a_slow_step_its_limit(api, first_run):
    run_id = api.trigger(DAG, {"business_date": "2026-11-21", "source": "landing",
                               "landing_dir": "/opt/airflow/data/no-such-folder"})
    with pytest.raises(StepTimedOut, match=r"still (queued|running) after 0 s"):
        api.wait_for_run(DAG, run_id, timeout=0)
    with pytest.raises(StepFailed) as failure:
        api.wait_for_run(DAG, run_id, RUN_LIMIT)
    report = str(failure.value)
    assert f"run {run_id} of {DAG} failed" in report
    assert "generate.raw_files: failed" in report and "no-such-folder" in report
    assert "--- containers ---" in report and re.search(r"airflow-scheduler +running +healthy", report), report


def scheduler(stack) -> dict:
    return next(c for c in stack.containers() if c["Config"]["Labels"]["com.docker.compose.service"]
                == "airflow-scheduler")


def test_a_scheduler_killed_during_a_run_restarts_and_the_run_succeeds(stack, api, first_run):
    run_id = api.trigger(DAG, {"business_date": "2026-11-22", "orders": ORDERS})
    deadline = time.monotonic() + RUN_LIMIT
    while not any(ti["state"] == "running" for ti in api.task_instances(DAG, run_id)):
        assert time.monotonic() < deadline, "no task of the run started"
        time.sleep(1)
    before = scheduler(stack)
    os.kill(before["State"]["Pid"], signal.SIGKILL)  # the container's init: the whole scheduler dies
    log(f"killed the scheduler (pid {before['State']['Pid']}) during {run_id}")
    killed = time.monotonic()
    while scheduler(stack)["RestartCount"] == before["RestartCount"]:
        assert time.monotonic() < deadline, "the scheduler was not restarted"
        time.sleep(1)
    log(f"the scheduler restarted {time.monotonic() - killed:.0f} s after the kill")
    api.wait_for_run(DAG, run_id, RUN_LIMIT)
    log(f"{run_id}: success {time.monotonic() - killed:.0f} s after the kill")


def wait_until_idle(api) -> None:
    for run in api.runs(DAG):
        if run["state"] in ("queued", "running"):
            api.wait_for_run(DAG, run["dag_run_id"], RUN_LIMIT)


def rerun(stack, api) -> tuple[dict, dict, list[str]]:
    """The warehouse before and after a rerun of DATE, and the runs the scheduler started
    meanwhile (a new day's run, when midnight UTC passed)."""
    known = {run["dag_run_id"] for run in api.runs(DAG)}
    before = warehouse.checksums(stack)
    api.wait_for_run(DAG, api.trigger(DAG, {"business_date": DATE, "orders": ORDERS}), RUN_LIMIT)
    scheduled = [run["dag_run_id"] for run in api.runs(DAG) if run["dag_run_id"] not in known
                 and run["run_type"] == "scheduled"]
    wait_until_idle(api)
    return before, warehouse.checksums(stack), scheduled


def test_down_and_up_keep_the_warehouse_and_a_rerun_leaves_it_identical(stack, api, first_run):
    api.set_paused(DAG, True)  # no new day's run while the stack goes down and up
    wait_until_idle(api)
    before = warehouse.checksums(stack)
    assert before["fact_sales"][0] > 0
    stack.down()
    stack.up()
    api.token = ""  # a new api-server: log in again
    assert warehouse.checksums(stack) == before
    api.set_paused(DAG, False)  # a paused DAG's triggered runs wait in the queue
    before, after, scheduled = rerun(stack, api)
    if scheduled:  # midnight passed: that date loaded beside the rerun; once more, alone
        log(f"the scheduler started {scheduled} during the rerun: rerunning once more")
        before, after, _ = rerun(stack, api)
    assert after == before, {table: (before.get(table), after.get(table)) for table in set(before) | set(after)
                             if before.get(table) != after.get(table)}
