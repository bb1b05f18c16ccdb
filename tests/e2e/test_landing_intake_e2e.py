"""Event-driven intake end to end, through `make airflow`'s services (``make_airflow.Instance``:
the real scheduler, dag-processor, triggerer and API server): a date's folder dropped into the
landing folder with its ``_READY`` marker starts that date's ``ecommerce_pipeline`` run, which
loads it; the marker is consumed, so the date runs once, and a marker written again loads it
again; a folder not named for a date fails the intake run with the reason; a marker written
before a file fails the started run naming the file. Checked through the REST API and the
warehouse.
"""

from __future__ import annotations

import json
import time

import pytest

from conftest import connect
from e2e.test_make_airflow_e2e import RUN_TIMEOUT, Api, running
from ecommerce.landing_trigger import READY_MARKER
from test_landing_e2e import DATE, write_landing

pytestmark = pytest.mark.e2e

#: What a user unpauses for the intake (README.md, docs/operations.md).
INTAKE_DAGS = ("landing_intake", "ecommerce_pipeline")
MALFORMED = "2026-3-15"  # not YYYY-MM-DD
INCOMPLETE = "2026-03-16"  # its _READY written before its transactions.csv


def deliver(landing, folder_name: str = DATE, missing: str | None = None) -> None:
    """Drop a date's folder as a user would: the files (but ``missing``), then ``_READY``."""
    folder = write_landing(landing, folder_name=folder_name) / folder_name
    if missing:
        (folder / missing).unlink()
    (folder / READY_MARKER).touch()


def wait_for(what: str, find, timeout: float = RUN_TIMEOUT):
    """``find()``'s first truthy answer, asked every second."""
    deadline = time.monotonic() + timeout
    while not (found := find()):
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f}s"
        time.sleep(1)
    return found


def runs_of(api: Api, business_date: str) -> list[dict]:
    """The ecommerce_pipeline runs the intake started for ``business_date``."""
    runs = api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns?limit=100")["dag_runs"]
    return [run for run in runs if run["dag_run_id"].startswith(f"landing__{business_date}__")]


def loaded(business_date: str) -> tuple[int, int]:
    """How many times ``audit.loaded_dates`` has the date, and the order lines its facts hold."""
    with connect() as conn:
        return conn.execute(
            "select (select count(*) from audit.loaded_dates where business_date = %(d)s), "
            "(select count(*) from warehouse.fact_sales f join warehouse.dim_date d using (date_key) "
            "where d.date = %(d)s)", {"d": business_date}).fetchone()


def task_log(api: Api, dag_id: str, run: dict, task_id: str) -> str:
    return json.dumps(api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/"
                                      f"{task_id}/logs/1?full_content=true"))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The services, a date's folder delivered before they start (a marker written while no
    triggerer runs is taken when one starts), the intake DAGs unpaused as the docs say. Airflow
    registers the watcher of an unpaused DAG when the dag-processor parses its file again: here
    within 5 s, not the 30 s of ``min_file_process_interval``'s default (docs/operations.md)."""
    home = tmp_path_factory.mktemp("make-airflow-intake")
    deliver(home / "data" / "landing")
    with running(home, AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="5") as client:
        client.landing = home / "data" / "landing"
        assert all(dag["is_paused"] for dag in client.dags(INTAKE_DAGS).values())
        client.unpause(INTAKE_DAGS)
        yield client


def test_the_docs_say_to_unpause_what_the_intake_needs():
    """What this module unpauses before it drops a folder, as README.md and operations.md tell."""
    from ecommerce.settings import PROJECT_ROOT

    readme, operations = (" ".join((PROJECT_ROOT / name).read_text().split())
                          for name in ("README.md", "docs/operations.md"))
    assert "with `landing_intake` and `ecommerce_pipeline` unpaused" in readme
    assert "**Unpause `landing_intake` and `ecommerce_pipeline`**" in operations


@pytest.fixture(scope="module")
def first_run(api):
    (started,) = wait_for(f"ecommerce_pipeline run for {DATE}", lambda: runs_of(api, DATE))
    run = api.wait_for_run("ecommerce_pipeline", started["dag_run_id"])
    return {**run, "marker_left": (api.landing / DATE / READY_MARKER).exists()}


def test_a_dropped_folder_starts_its_dates_run_which_loads_it(api, first_run):
    assert first_run["state"] == "success"
    assert first_run["note"] == f"business date {DATE}"
    conf = first_run["conf"]
    assert {key: conf[key] for key in ("business_date", "source", "landing_dir")} == {
        "business_date": DATE, "source": "landing", "landing_dir": str(api.landing)}
    assert loaded(DATE) == (1, 3)  # the landed files' three order lines
    intake = api.call("GET", "/api/v2/dags/landing_intake/dagRuns")["dag_runs"]
    assert [(run["run_type"], run["state"]) for run in intake] == [("asset_triggered", "success")]


@pytest.fixture(scope="module")
def second_drop(api, first_run):
    """Three deliveries at once, while the services run: the first date's marker again, a
    folder not named for a date, and a date whose marker came before its transactions."""
    (api.landing / DATE / READY_MARKER).touch()
    deliver(api.landing, MALFORMED)
    deliver(api.landing, INCOMPLETE, missing="transactions.csv")

    def failed_intake():
        runs = api.call("GET", "/api/v2/dags/landing_intake/dagRuns")["dag_runs"]
        return [run for run in runs if run["state"] == "failed"]

    (failed,) = wait_for("failed landing_intake run", failed_intake)
    (again,) = wait_for(f"second run for {DATE}", lambda: [
        run for run in runs_of(api, DATE) if run["dag_run_id"] != first_run["dag_run_id"]])
    (incomplete,) = wait_for(f"run for {INCOMPLETE}", lambda: runs_of(api, INCOMPLETE))
    return {"failed_intake": failed,
            "again": api.wait_for_run("ecommerce_pipeline", again["dag_run_id"]),
            "incomplete": api.wait_for_run("ecommerce_pipeline", incomplete["dag_run_id"])}


def test_a_folder_not_named_for_a_date_fails_the_intake_run_naming_it(api, second_drop):
    run = second_drop["failed_intake"]
    task = api.call("GET", f"/api/v2/dags/landing_intake/dagRuns/{run['dag_run_id']}/taskInstances/"
                           "check_folder_names")
    assert (task["state"], task["try_number"]) == ("failed", 1)  # not retried: a retry cannot fix a name
    assert (f"landing folder {api.landing / MALFORMED} is not named for a business date: name it YYYY-MM-DD "
            "(e.g. 2026-03-14)") in task_log(api, "landing_intake", run, "check_folder_names")
    assert not (api.landing / MALFORMED / READY_MARKER).exists()
    assert runs_of(api, MALFORMED) == []


def test_a_marker_written_before_a_file_fails_the_started_run_naming_the_file(api, second_drop):
    run = second_drop["incomplete"]
    assert (run["state"], run["note"]) == ("failed", f"business date {INCOMPLETE}")
    task = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{run['dag_run_id']}/taskInstances/"
                           "generate.raw_files")
    assert (task["state"], task["try_number"]) == ("failed", 1)
    assert (f"landing folder {api.landing / INCOMPLETE} lacks transactions.csv"
            in task_log(api, "ecommerce_pipeline", run, "generate.raw_files"))


def test_the_marker_is_consumed_so_the_date_runs_once_per_marker(api, first_run, second_drop):
    """Gone when its run had finished; and while the watcher looked again and again (its first
    run, then the second drop's three runs), the date ran once more only, for its second marker."""
    assert first_run["marker_left"] is False
    assert sorted(run["dag_run_id"] for run in runs_of(api, DATE)) == sorted(
        (first_run["dag_run_id"], second_drop["again"]["dag_run_id"]))


def test_a_marker_written_again_loads_the_date_again_to_the_same_content(api, second_drop):
    assert second_drop["again"]["state"] == "success"
    assert loaded(DATE) == (1, 3)
    assert loaded(INCOMPLETE) == (0, 0)
