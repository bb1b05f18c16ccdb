"""End to end through `make airflow`: Airflow's own services and REST API v2, its UI in a real
browser, and the services themselves — a second instance side by side on its own ports, and
each stopping every process it started on SIGTERM or SIGHUP (as on Ctrl-C).

The instances are the real entry point (``make_airflow.Instance``): the api-server, scheduler,
dag-processor and triggerer on loopback, the tasks' execution API in a process of its own, with
the FAB auth manager of the deployment, against the embedded warehouse. The services start once
for the module; the second instance starts for the last tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psutil
import pytest

from conftest import connect, free_port, reset_warehouse, table_checksum
from e2e.make_airflow import Instance
from ecommerce.settings import PROJECT_ROOT
from ecommerce_local.services import scheduler_heartbeat

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "admin", "api-test-password"
SECOND_PASSWORD = "services-test"  # the second instance's admin (AIRFLOW_ADMIN_USER unset: admin)
RUN_TIMEOUT = 420
#: The DAGs README.md and docs/operations.md tell a new user to unpause.
UNPAUSE = ("ecommerce_pipeline", "refresh_dashboards")


class Api:
    """The REST API of a running ``Instance``, logged in as the admin."""

    def __init__(self, instance: Instance, password: str = PASSWORD):
        self.instance, self.base, self.home = instance, instance.base, instance.home
        self.token = self.call("POST", "/auth/token", {"username": ADMIN, "password": password})["access_token"]

    def call(self, method: str, path: str, body=None, raw: bool = False):
        request = urllib.request.Request(
            self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     **({"Authorization": f"Bearer {self.token}"} if getattr(self, "token", None) else {})})
        for attempt in range(5):
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    data = reply.read()
                break
            except urllib.error.HTTPError as error:
                # 503: the API could not get the SQLite metadata database this time (busy)
                if error.code != 503 or attempt == 4:
                    raise
                time.sleep(2)
            except urllib.error.URLError:
                if self.instance.process.poll() is not None:
                    pytest.fail(f"make airflow exited; its output ends:\n{self.instance.printed()[-3000:]}")
                raise
        return data.decode() if raw else json.loads(data)

    def dags(self, dag_ids, timeout: float = 120) -> dict[str, dict]:
        """The DAGs ``dag_ids``, once the dag-processor has parsed their files."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return {dag_id: self.call("GET", f"/api/v2/dags/{dag_id}") for dag_id in dag_ids}
            except urllib.error.HTTPError as error:
                if error.code != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(2)

    def unpause(self, dag_ids) -> None:
        for dag_id in dag_ids:
            self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def wait_for_run(self, dag_id: str, run_id: str) -> dict:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            run = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(1)
        raise TimeoutError(f"{dag_id} {run_id} did not finish within {RUN_TIMEOUT}s")

    def trigger(self, business_date: str, noted: bool = True, **conf) -> dict:
        """A manual run of ``business_date``; ``noted``: with a note of the test's own."""
        logical = datetime.fromisoformat(business_date).replace(tzinfo=timezone.utc) + timedelta(days=1)
        note = {"note": f"API test for {business_date} ({logical:%Y-%m-%d})"} if noted else {}
        return self.call("POST", "/api/v2/dags/ecommerce_pipeline/dagRuns", {
            "logical_date": None, "conf": {"business_date": business_date, **conf}, **note})


@contextmanager
def running(home, **env: str) -> Iterator[Api]:
    """An instance in ``home`` on an empty warehouse, up, its REST API logged in as the admin;
    stopped after. ``env`` adds to its environment."""
    # The scheduler looks for work every 0.1 s instead of every second when idle: a run's ~30
    # steps follow one another, and a failure reaches the last step one scheduler loop per step.
    # A retry waits 2 s at most (Airflow's global cap on every task's backoff), not the 20-40 s
    # of the DAG's first retry: what is tested is that it retries, not how long it waits.
    instance = Instance(home, PASSWORD, AIRFLOW_ADMIN_USER=ADMIN, AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="0.1",
                        AIRFLOW__CORE__MAX_TASK_RETRY_DELAY="2", **env)
    reset_warehouse()
    try:
        instance.start()
        instance.wait_until_up()
        yield Api(instance)
    finally:
        instance.kill()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with running(tmp_path_factory.mktemp("make-airflow-a")) as client:
        # as a new user finds them: paused, as in Docker; the docs say to unpause both
        client.found_paused = {dag_id: dag["is_paused"] for dag_id, dag in client.dags(UNPAUSE).items()}
        time.sleep(5)  # ten scheduler loops at least: a DAG found unpaused would have its run by now
        client.runs_before_unpausing = client.call("GET", "/api/v2/dags/~/dagRuns")["total_entries"]
        client.unpause(UNPAUSE)
        yield client


@pytest.fixture(scope="module")
def clean_run(api):
    """The daily run for yesterday that unpausing the DAG starts, with the default volume."""
    deadline = time.monotonic() + 120
    while not (runs := api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns?run_type=scheduled")["dag_runs"]):
        assert time.monotonic() < deadline, "unpausing started no scheduled run"
        time.sleep(2)
    run = api.wait_for_run("ecommerce_pipeline", runs[0]["dag_run_id"])
    return datetime.fromisoformat(run["data_interval_start"]).date().isoformat(), run


def test_the_dags_start_paused_and_nothing_runs_until_the_user_unpauses_them(api):
    """As in Docker (AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION): the docs' first step is to
    unpause ecommerce_pipeline and refresh_dashboards, and no run starts before."""
    assert api.found_paused == dict.fromkeys(UNPAUSE, True)
    assert api.runs_before_unpausing == 0
    docs = {name: " ".join((PROJECT_ROOT / name).read_text().split()) for name in ("README.md", "docs/operations.md")}
    for name, text in docs.items():
        assert "start paused, locally and in Docker" in text, name
        assert "unpause `ecommerce_pipeline` and `refresh_dashboards`" in text, name


def test_the_daily_run_succeeds(clean_run):
    _, run = clean_run
    assert run["state"] == "success"


def test_the_terminal_shows_the_ui_address_and_the_run_outcome_in_few_lines(api, clean_run):
    """Quiet: the components' output is in their log files; the terminal has the start-up, the
    UI's address and one line per finished run (the supervisor polls the REST API every 10 s).
    Before, it had every task log and HTTP access line: thousands of lines a run."""
    business_date, run = clean_run
    outcome = f"run ecommerce_pipeline {run['dag_run_id']} (business date {business_date}): success in "
    deadline = time.monotonic() + 60
    while outcome not in (printed := api.instance.printed()):
        assert time.monotonic() < deadline, f"no line for the run; the terminal shows:\n{printed[-3000:]}"
        time.sleep(1)
    assert f"Airflow UI and REST API: http://localhost:{api.instance.port}" in printed
    # start-up (2), the UI's address (2), a line per run: this one and the dashboard refreshes
    assert len(printed.splitlines()) < 40, printed


def test_each_component_writes_its_output_to_its_own_log_file(api, clean_run):
    """$AIRFLOW_HOME/logs/services/<component>.log, a header line for each start."""
    from ecommerce_local.services import COMPONENTS, EXECUTION_API, LOG_SERVER

    assert f"{api.home}/logs/services/<component>.log" in api.instance.printed()
    for name in (*COMPONENTS, EXECUTION_API, LOG_SERVER):
        log = api.instance.component_log(name)
        assert log.startswith("\n==== ") and log.count("\n==== ") == 1, f"{name}: started once"
        assert len(log.splitlines()) > 2, f"{name}: {log}"
    assert "method=GET path=/api/v2/dags" in api.instance.component_log("api-server")  # its access log
    assert "ecommerce_pipeline" in api.instance.component_log("scheduler")


def test_every_port_the_services_open_is_on_loopback(api, clean_run):
    instance = api.instance
    assert instance.listening() == {("127.0.0.1", port) for port in instance.ports}


def test_the_tasks_reach_the_execution_api_on_a_process_of_its_own(api, clean_run):
    """The api-server of the UI and the REST API does not serve it, so a REST or UI action
    cannot stall a task's request (ecommerce_local.services): the run's tasks used the other."""
    def health(url: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=30) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    execution = f"http://localhost:{api.instance.execution_port}"
    assert health(f"{execution}/execution/health") == (200, '{"status":"healthy"}')
    assert health(f"{execution}/api/v2/monitor/health")[0] == 404
    # the UI's page (it answers every path it does not know), not the execution API
    assert health(f"{api.base}/execution/health")[1].startswith("<!doctype html>")


def test_a_sql_model_shows_the_sql_it_ran_in_its_rendered_templates(api, clean_run):
    from ecommerce.models import render_model

    _, run = clean_run
    for task_id, model in (("warehouse.fact_sales", "warehouse/040_fact_sales.sql"),
                           ("warehouse.dim_customers", "warehouse/020_dim_customers.sql")):  # the largest
        task = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{run['dag_run_id']}/taskInstances/"
                               f"{task_id}")
        sql = task["rendered_fields"]["sql"]
        if task_id == "warehouse.fact_sales":
            assert "create table warehouse.fact_sales_loading as" in sql
            assert "{%" not in sql and "%(business_date)s" in sql
        # whole: not cut at [core] max_templated_field_length (Airflow's default 4096 characters)
        assert sql.strip() == render_model(model).strip(), sql[-300:]


def test_the_metadata_database_is_readable_by_its_owner_only(api):
    assert (api.home / "airflow.db").stat().st_mode & 0o777 == 0o600


def test_a_task_log_read_through_the_api_has_its_row_counts(api, clean_run):
    _, run = clean_run
    log = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{run['dag_run_id']}/taskInstances/"
                          "ingest_staging.transaction_items/logs/1?full_content=true")
    text = json.dumps(log)
    assert "rows read" in text and "reconciles" in text and "quarantined" in text


def test_the_dashboards_refresh_after_the_asset_update(api, clean_run):
    _, run = clean_run
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = api.call("GET", "/api/v2/dags/refresh_dashboards/dagRuns?order_by=-start_date")["dag_runs"]
        done = [r for r in runs if r["run_type"] == "asset_triggered" and r["state"] == "success"
                and r["start_date"] >= run["start_date"]]
        if done:
            return
        time.sleep(1)
    pytest.fail(f"refresh_dashboards did not run after the Asset update: {runs}")


def ungrouped_events(task_log: dict) -> list[str]:
    """The lines of a task log the UI shows without expanding a "::group::" section (the UI
    folds groups as a stack and ignores a surplus close)."""
    depth, shown = 0, []
    for entry in task_log["content"]:
        event = str(entry.get("event", "")) if isinstance(entry, dict) else str(entry)
        if event.startswith("::group::"):
            depth += 1
        elif event.startswith("::endgroup::"):
            depth = max(0, depth - 1)
        elif depth == 0:
            shown.append(event)
    return shown


def test_the_fail_once_switch_retries_and_the_data_equals_a_clean_run(api, clean_run):
    business_date, _ = clean_run
    tables = [("production", t) for t in ("customers", "products", "transactions", "transaction_items")] + [
        ("warehouse", t) for t in ("dim_customers", "dim_products", "fact_sales", "agg_daily_sales")]
    with connect() as conn, conn.cursor() as cursor:
        clean = [table_checksum(cursor, schema, table) for schema, table in tables]
    run = api.wait_for_run("ecommerce_pipeline",
                           api.trigger(business_date, fail_once="production.transactions")["dag_run_id"])
    assert run["state"] == "success"
    task = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{run['dag_run_id']}/taskInstances/"
                           "production.transactions")
    assert (task["state"], task["try_number"]) == ("success", 2)
    first_try = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{run['dag_run_id']}/taskInstances/"
                                "production.transactions/logs/1?full_content=true")
    assert "fail-once switch" in json.dumps(first_try)
    # The retried try's failure line is logged, outside every collapsed group.
    assert [line for line in ungrouped_events(first_try) if line.startswith("TASK FAILED")
            and "task=production.transactions" in line and "try=1" in line and "fail-once switch" in line]
    with connect() as conn, conn.cursor() as cursor:
        assert [table_checksum(cursor, schema, table) for schema, table in tables] == clean


@pytest.fixture(scope="module")
def backfill(api, clean_run):
    """After the first daily run: a backfill of the dates before it, two runs at once."""
    newest = datetime.fromisoformat(clean_run[0]).replace(tzinfo=timezone.utc)
    api.call("POST", "/api/v2/backfills", {
        "dag_id": "ecommerce_pipeline", "from_date": (newest - timedelta(days=3)).isoformat(),
        "to_date": (newest - timedelta(days=2)).isoformat(), "max_active_runs": 2, "dag_run_conf": {"orders": 300}})
    # Its runs, once finished (the scheduler marks the backfill itself complete every 30 s).
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        runs = api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns?run_type=backfill")["dag_runs"]
        if runs and all(run["state"] in ("success", "failed") for run in runs):
            return newest.date().isoformat(), runs
        assert time.monotonic() < deadline, f"the backfill's runs did not finish: {runs}"
        time.sleep(1)


def test_a_backfill_carries_its_dag_run_conf_into_every_run(api, backfill):
    """POST /api/v2/backfills with dag_run_conf: every run has it, and generates its volume.
    (The UI's backfill form sends dag_run_conf: null unless "Override parameters on existing
    runs" is ticked: docs/operations.md.)"""
    from ecommerce.generation.config import GeneratorConfig

    _, runs = backfill
    stored = api.call("GET", "/api/v2/backfills?dag_id=ecommerce_pipeline")["backfills"]
    assert [b["dag_run_conf"] for b in stored] == [{"orders": 300}]
    assert [run["conf"] for run in runs] == [{"orders": 300}] * 2
    assert GeneratorConfig().orders >= 1000  # the default volume, far from the backfill's
    for run in runs:
        business_date = datetime.fromisoformat(run["data_interval_start"]).date().isoformat()
        manifest = json.loads((api.home / "data" / "raw" / business_date / "manifest.json").read_text())
        assert manifest["config"]["orders"] == 300
        assert 0 < manifest["files"]["transactions.csv"]["rows"] < 800


def test_every_run_names_its_business_date_in_its_note(api, clean_run, backfill):
    """Scheduled, backfill and manual runs: the note the scheduler sets as it starts the run
    (ecommerce.run_notes), the run's field the UI shows; a note of the user's own is kept."""
    business_date, scheduled = clean_run
    run = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{scheduled['dag_run_id']}")
    assert run["note"] == f"business date {business_date}"
    for run in backfill[1]:
        run = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{run['dag_run_id']}")
        assert run["note"] == f"business date {datetime.fromisoformat(run['data_interval_start']):%Y-%m-%d}"
    earlier = (datetime.fromisoformat(business_date) - timedelta(days=5)).date().isoformat()
    manual = api.wait_for_run("ecommerce_pipeline", api.trigger(
        earlier, noted=False, source="landing", landing_dir="/nonexistent/landing")["dag_run_id"])
    assert manual["note"] == f"business date {earlier}"  # it failed at once: no landing folder
    noted = [r for r in api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns?run_type=manual")["dag_runs"]
             if (r["note"] or "").startswith("API test for")]
    assert noted and all(r["note"].startswith(f"API test for {r['conf']['business_date']} ") for r in noted)
    # a DAG without a business_date param gets none
    refreshes = api.call("GET", "/api/v2/dags/refresh_dashboards/dagRuns")["dag_runs"]
    assert refreshes and {r["note"] for r in refreshes} == {None}


def test_a_backfill_of_earlier_dates_after_the_daily_run_succeeds(backfill):
    newest, runs = backfill
    assert len(runs) == 2 and {run["state"] for run in runs} == {"success"}
    with connect() as conn:
        loaded = [row[0].isoformat() for row in conn.execute(
            "select business_date from audit.loaded_dates order by 1")]
    assert len(loaded) == 3 and loaded[-1] == newest, "two earlier dates joined the newest one"


def test_a_contract_violation_fails_at_once_without_retries(api, backfill):
    run = api.wait_for_run("ecommerce_pipeline", api.trigger(
        backfill[0], orders=300, source="landing", landing_dir="/nonexistent/landing")["dag_run_id"])
    task = api.call("GET", f"/api/v2/dags/ecommerce_pipeline/dagRuns/{run['dag_run_id']}/taskInstances/"
                           "generate.raw_files")
    assert (run["state"], task["state"], task["try_number"]) == ("failed", "failed", 1)


@pytest.mark.parametrize("conf, refused", [
    ({"orders": -5}, "Invalid input for param orders: -5 is less than the minimum of 1"),
    ({"orders": 99_999_999}, "Invalid input for param orders: 99999999 is greater than the maximum of 2000000"),
    ({"defect_rate": 0.5}, "Invalid input for param defect_rate: 0.5 is greater than the maximum of 0.05"),
    ({"business_date": "12/01/2026"}, "Invalid input for param business_date: '12/01/2026' "),
])
def test_the_api_refuses_a_param_out_of_range_with_a_message_naming_it(api, conf, refused):
    """What the trigger form sends too, now that it no longer sets a number out of range to the
    nearest bound (ecommerce.params): refused, not run with another value."""
    before = api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns")["total_entries"]
    with pytest.raises(urllib.error.HTTPError) as error:
        api.call("POST", "/api/v2/dags/ecommerce_pipeline/dagRuns",
                 {"logical_date": None, "conf": {"business_date": "2026-11-01", **conf}})
    assert error.value.code == 400
    detail = json.loads(error.value.read())["detail"]
    assert detail.startswith(refused), detail
    assert api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns")["total_entries"] == before


class HeldPort:
    """An HTTP server of its own on 127.0.0.1:8080, as another Airflow or any web server would
    hold Airflow's default port, recording the paths asked of it; ``None`` when something
    else holds 8080 already (left alone: the tests then check only where the browser went)."""

    def __init__(self):
        import http.server
        import threading

        self.asked: list[str] = []
        asked = self.asked

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"not the Airflow under test")

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 8080), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def port_8080_held():
    """8080 held by another HTTP server for the test's length only (other suites may want it)."""
    try:
        held = HeldPort()
    except OSError:  # in use: by something that is not ours to stop
        yield None
        return
    try:
        yield held
    finally:
        held.close()


def test_the_login_redirects_stay_on_the_instance_port_with_8080_taken(api, port_8080_held):
    """[api] base_url is where the FAB auth manager sends a browser to log in and back: derived
    from AIRFLOW_PORT, never left at 8080 (ecommerce_local.services.service_env)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    runs = f"{api.base}/dags/ecommerce_pipeline/runs"
    for path, page in ((f"/api/v2/auth/login?next={urllib.parse.quote(runs)}", "/auth/login/?next="),
                       ("/api/v2/auth/logout", "/auth/logout")):
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(api.base + path, timeout=30)
        assert redirect.value.code in (302, 303, 307), path
        assert redirect.value.headers["Location"].startswith(api.base + page), \
            (path, redirect.value.headers["Location"])
    assert not port_8080_held or port_8080_held.asked == []


def chromium_or_skip() -> str:
    from ecommerce.dashboards.screenshot import chromium_path

    if not shutil.which(chromium_path()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {chromium_path()}: .ci/run installs it")
        pytest.skip("Chromium not installed")
    return chromium_path()


def test_the_ui_logs_in_and_shows_the_daily_run_successful(api, clean_run, port_8080_held):
    """As a user opens a run list before logging in: the login page, and back to the list after
    it, all on the instance's port while another server holds 8080."""
    from playwright.sync_api import sync_playwright

    from ecommerce.dashboards.screenshot import CHROMIUM_ARGS

    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            visited: list[str] = []
            page.on("request", lambda request: visited.append(request.url))
            page.goto(f"{api.base}/dags/ecommerce_pipeline/runs")
            page.wait_for_url(lambda url: "/auth/login" in url, timeout=60_000)
            assert page.url.startswith(f"{api.base}/auth/login/"), page.url
            page.fill("input[name=username]", ADMIN)
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)
            assert page.url.startswith(f"{api.base}/dags/ecommerce_pipeline/runs"), page.url
            page.get_by_text("ecommerce_pipeline").first.wait_for(timeout=60_000)
            daily = page.locator("tbody tr", has_text=clean_run[1]["dag_run_id"]).first
            daily.wait_for(timeout=60_000)
            assert "Success" in daily.inner_text()
            page.screenshot(path=str(api.home / "airflow_ui.png"))
            elsewhere = [url for url in visited if url.startswith("http") and not url.startswith(api.base + "/")]
            assert elsewhere == [], elsewhere
            assert not port_8080_held or port_8080_held.asked == []
        finally:
            browser.close()


def test_the_trigger_form_sends_a_number_out_of_range_as_typed_and_shows_airflow_refusing_it(api, clean_run):
    """Airflow's form clamps a number to a top-level minimum/maximum when the field loses focus
    (ecommerce.params keeps the bounds under allOf): -5 stays -5, and triggering shows the
    refusal naming the param; the description states the range beside the field."""
    from playwright.sync_api import sync_playwright

    from ecommerce.dashboards.screenshot import CHROMIUM_ARGS

    executable = chromium_or_skip()
    before = api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns")["total_entries"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{api.base}/auth/login/")
            page.fill("input[name=username]", ADMIN)
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)
            page.goto(f"{api.base}/dags/ecommerce_pipeline")
            page.get_by_role("button", name="Trigger").first.click(timeout=60_000)
            orders = page.locator("input[name=element_orders]")  # under Run Parameters, open
            orders.fill("-5")
            orders.press("Tab")  # leaves the field: where a top-level minimum clamped it to 1
            assert orders.input_value() == "-5"
            assert page.get_by_text("A whole number from 1 to 2,000,000").first.is_visible()
            page.screenshot(path=str(api.home / "trigger_form.png"))
            page.get_by_role("dialog").get_by_role("button", name="Trigger").last.click()
            page.get_by_text("-5 is less than the minimum of 1").first.wait_for(timeout=30_000)
        finally:
            browser.close()
    assert api.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns")["total_entries"] == before


# --- `make airflow` as a service: a second instance beside the first, then both stopped ---

@pytest.fixture(scope="module")
def second_inbox():
    """The SMTP server the second instance's alerts go to."""
    from aiosmtpd.controller import Controller

    from e2e.test_alerts_e2e import Inbox

    inbox = Inbox()
    inbox.server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    inbox.server.start()
    try:
        yield inbox
    finally:
        inbox.server.stop()


@pytest.fixture(scope="module")
def second(api, second_inbox, tmp_path_factory):
    """A second instance beside the first, its DAGs left paused: this is about the services (and
    a freshness deadline of 9 s, its alerts mailed to ``second_inbox``)."""
    instance = Instance(tmp_path_factory.mktemp("make-airflow-b"), SECOND_PASSWORD,
                        ECOMMERCE_FRESHNESS_HOURS="0.0025", ECOMMERCE_ALERT_EMAILS="ops@example.com",
                        ECOMMERCE_SCHEDULER_STUCK_SECONDS=str(STUCK_SECONDS),
                        AIRFLOW_CONN_SMTP_DEFAULT=f"smtp://127.0.0.1:{second_inbox.server.port}"
                                                  "?disable_tls=true&disable_ssl=true")
    try:
        instance.start(via_make=True)  # through the Makefile's recipe: make's own end on SIGTERM
        instance.wait_until_up()
        yield instance
    finally:
        instance.kill()


def alive(processes: list[psutil.Process]) -> list[str]:
    return [" ".join(p.cmdline()[:3]) for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def wait_gone(processes: list[psutil.Process], timeout: float = 90) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := alive(processes)) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def test_two_instances_run_side_by_side_each_on_its_own_ports_and_metadata(api, second, clean_run):
    first = api.instance
    assert first.healthy() and second.healthy()
    assert {port for _, port in first.listening()} == first.ports
    assert {port for _, port in second.listening()} == second.ports
    # the second has its own admin and none of the first one's runs
    assert api.call("GET", "/api/v2/dags/~/dagRuns")["total_entries"] > 0
    assert Api(second, SECOND_PASSWORD).call("GET", "/api/v2/dags/~/dagRuns")["total_entries"] == 0


def test_a_date_not_loaded_by_its_freshness_deadline_is_mailed_by_the_scheduler(second, second_inbox):
    """A run of 2026-11-19 on the paused DAG stays queued: 9 s after it was queued its deadline
    has passed, and the scheduler has the executor send the alert through smtp_default. The run
    has no logical date, as Api.trigger's runs: a deadline must not stop it being created."""
    from e2e.test_alerts_e2e import late_mail

    client = Api(second, SECOND_PASSWORD)
    deadline = time.monotonic() + 120
    while True:  # the dag-processor has to parse the DAG file first
        try:
            client.call("POST", "/api/v2/dags/ecommerce_pipeline/dagRuns", {
                "dag_run_id": "freshness_2026-11-19", "logical_date": None,
                "conf": {"business_date": "2026-11-19"}})
            break
        except urllib.error.HTTPError as error:
            if error.code != 404 or time.monotonic() > deadline:
                raise
            time.sleep(2)
    deadline = time.monotonic() + 120
    while not second_inbox.messages:
        assert time.monotonic() < deadline, "no freshness alert within 120 s"
        time.sleep(1)
    assert "freshness_2026-11-19 (queued)" in late_mail(second_inbox, "2026-11-19", "2026-11-20")
    assert client.call("GET", "/api/v2/dags/ecommerce_pipeline/dagRuns/freshness_2026-11-19")["state"] == "queued"


def scheduler_heartbeat_after(instance, moment: datetime, timeout: float) -> None:
    """Until the API's health check gives a scheduler heartbeat later than ``moment`` (as the
    supervisor reads it: ecommerce_local.services.scheduler_heartbeat)."""
    deadline = time.monotonic() + timeout
    while True:
        answered, heartbeat = scheduler_heartbeat(instance.port)
        if heartbeat and heartbeat > moment:
            return
        assert time.monotonic() < deadline, (f"no scheduler heartbeat since {moment} (the API "
                                             f"{'answered' if answered else 'did not answer'}; last: {heartbeat})")
        time.sleep(1)


#: The second instance's ECOMMERCE_SCHEDULER_STUCK_SECONDS (180 by default).
STUCK_SECONDS = 30


def test_a_scheduler_that_lives_but_no_longer_heartbeats_is_killed_and_starts_again(second):
    """A scheduler seen hanging as it stopped after an error in its loop (waiting on a dead
    executor worker) never exited, so never started again; here one stopped with SIGSTOP: the
    supervisor finds its heartbeat STUCK_SECONDS old, kills it, and a new one heartbeats."""
    scheduler = second.component("scheduler")
    scheduler.suspend()
    stopped_at = datetime.now(timezone.utc)
    try:
        assert wait_gone([scheduler], timeout=STUCK_SECONDS + 60) == []
    finally:
        if scheduler.is_running():
            scheduler.resume()
    scheduler_heartbeat_after(second, stopped_at, timeout=120)
    assert second.component("scheduler").pid != scheduler.pid and second.process.poll() is None
    assert "airflow scheduler has not heartbeat for" in second.printed()


def test_a_component_that_exits_starts_again_with_nothing_of_it_left(second):
    """As ``restart: always`` in docker-compose.yml. The scheduler exits on an error in its loop:
    on the SQLite metadata database, a backfill created while runs went on deleted a run the
    scheduler held (ecommerce_local.services.supervise). Killed, it leaves its executor's
    workers behind; they go, and a new scheduler heartbeats."""
    scheduler = second.component("scheduler")
    workers = scheduler.children(recursive=True)
    assert workers, "the LocalExecutor's workers"
    scheduler.kill()
    killed_at = datetime.now(timezone.utc)
    assert wait_gone([scheduler, *workers]) == []
    scheduler_heartbeat_after(second, killed_at, timeout=120)
    assert second.component("scheduler").pid != scheduler.pid and second.process.poll() is None
    assert "airflow scheduler exited with code -9" in second.printed()


def test_sighup_stops_every_process_it_started_and_leaves_the_other_instance_running(api, second):
    """As a closed terminal does."""
    first = api.instance
    started = first.signal_group(signal.SIGHUP)
    # make airflow, api-server, execution API, scheduler, dag-processor, triggerer, log server
    assert len(started) >= 7
    assert wait_gone(started) == []
    assert first.process.wait(timeout=30) == 0 and not first.healthy()
    assert second.healthy()


def test_sigterm_to_make_airflow_stops_every_process_and_make_ends_cleanly(second):
    """Through make: make waits while the supervisor stops its components, then ends as make
    does on SIGTERM (killed by it: 143 in a shell), without "wait: No child processes" (a
    shell between make and the supervisor died at once and left make reaping nothing)."""
    supervisor = second.supervisor()
    assert supervisor.ppid() == second.process.pid, "make's child is the supervisor, no shell between"
    started = second.signal_group(signal.SIGTERM)
    assert len(started) >= 8  # make, and the seven of the instance
    assert second.process.wait(timeout=90) == -signal.SIGTERM
    # make ended after the supervisor had stopped (and make had reaped it), not before
    assert not supervisor.is_running()
    assert wait_gone(started) == [] and not second.healthy()
    assert "No child processes" not in second.printed() and "Traceback" not in second.printed()
