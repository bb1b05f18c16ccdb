"""The local mode's helpers: date ranges of `make run`, connection URIs, `make airflow`'s restarts."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import pytest

from ecommerce_local.pipeline_run import business_dates
from ecommerce_local.warehouse import connection_uri, psycopg_conninfo


def test_days_ending_at_date_in_order():
    assert business_dates("2026-11-20", 3) == [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]


def test_start_overrides_days():
    assert business_dates("2026-03-01", 99, "2026-02-27") == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]


@pytest.mark.parametrize("last, days, first", [("2026-11-20", 0, ""), ("2026-11-20", 3, "2026-11-21")])
def test_an_empty_range_is_refused(last, days, first):
    with pytest.raises(SystemExit):
        business_dates(last, days, first)


def test_socket_uri_round_trips_to_psycopg_with_case_kept():
    uri = connection_uri("/tmp/My Clone/.local/pgdata", 5432, "ecommerce")
    assert uri == "postgresql://ecommerce@%2Ftmp%2FMy%20Clone%2F.local%2Fpgdata:5432/ecommerce"
    assert psycopg_conninfo(uri) == "host='/tmp/My Clone/.local/pgdata' port=5432 user=ecommerce dbname=ecommerce"


def test_tcp_uri_with_password_to_psycopg():
    assert psycopg_conninfo("postgresql://bi:p%40ss@db.internal:5433/ecommerce") == (
        "host=db.internal port=5433 user=bi password=p@ss dbname=ecommerce"
    )


def test_an_external_warehouse_uri_is_used_and_no_embedded_server_starts(tmp_path, monkeypatch):
    from ecommerce_local import environment

    external = "postgresql://etl:secret@db.internal:5432/ecommerce"
    monkeypatch.setenv("AIRFLOW_CONN_ECOMMERCE_WAREHOUSE", external)
    monkeypatch.setenv("ECOMMERCE_DATA_DIR", str(tmp_path / "data"))
    started = []
    monkeypatch.setattr(environment.warehouse, "ensure", lambda *args: started.append(args))
    monkeypatch.setattr(environment, "migrate_metadata", lambda *args: None)
    profile = environment.Profile("scratch", "unused", tmp_path / "airflow", tmp_path / "data")
    env = environment.build(profile)
    assert env["AIRFLOW_CONN_ECOMMERCE_WAREHOUSE"] == external
    assert started == []


def test_without_a_uri_the_embedded_server_is_used(tmp_path, monkeypatch):
    from ecommerce_local import environment

    monkeypatch.delenv("AIRFLOW_CONN_ECOMMERCE_WAREHOUSE", raising=False)
    monkeypatch.setenv("ECOMMERCE_DATA_DIR", "")  # left empty in .env: the profile's folder
    monkeypatch.setattr(environment.warehouse, "ensure", lambda pgdata, database: f"postgresql://embedded/{database}")
    monkeypatch.setattr(environment, "migrate_metadata", lambda *args: None)
    profile = environment.Profile("scratch", "scratch_db", tmp_path / "airflow", tmp_path / "data")
    env = environment.build(profile)
    assert env["AIRFLOW_CONN_ECOMMERCE_WAREHOUSE"] == "postgresql://embedded/scratch_db"
    assert env["ECOMMERCE_DATA_DIR"] == str(tmp_path / "data")


def test_make_backfill_gives_every_dates_run_its_orders(tmp_path, monkeypatch):
    """`make backfill START=… END=… ORDERS=500`: each date's run (in whichever lane) has the
    business date and the orders in its conf."""
    import argparse
    import json
    from pathlib import Path

    from ecommerce_local import lanes, pipeline_run

    planned = []

    def run_lanes(commands, env, output):
        for command in commands:
            planned.extend(json.loads(Path(command[-1]).read_text())["runs"])
        return 1  # stop before the summary, which would read the warehouse

    monkeypatch.setattr(lanes, "run_lanes", run_lanes)
    args = argparse.Namespace(date="2026-11-20", days=14, start="2026-11-16", source="generate", landing="",
                              orders=500)
    assert pipeline_run.run(args, {"AIRFLOW_HOME": str(tmp_path)}) == 1
    assert sorted(run["conf"]["business_date"] for run in planned) == [f"2026-11-{d}" for d in range(16, 21)]
    assert {run["conf"]["orders"] for run in planned} == {500}


def test_rendered_templates_show_every_sql_model_whole(tmp_path, monkeypatch):
    """Airflow cuts a rendered field past [core] max_templated_field_length (default 4096):
    Rendered Templates showed warehouse.fact_sales cut after about 89 lines."""
    from ecommerce.models import render_model
    from ecommerce.settings import SQL_DIR
    from ecommerce_local import environment

    monkeypatch.setenv("AIRFLOW_CONN_ECOMMERCE_WAREHOUSE", "postgresql://etl@db.internal:5432/ecommerce")
    monkeypatch.setattr(environment, "migrate_metadata", lambda *args: None)
    env = environment.build(environment.Profile("scratch", "unused", tmp_path / "airflow", tmp_path / "data"))
    limit = int(env["AIRFLOW__CORE__MAX_TEMPLATED_FIELD_LENGTH"])
    models = [path.relative_to(SQL_DIR).as_posix() for layer in ("production", "warehouse", "analytics")
              for path in (SQL_DIR / layer).glob("*.sql")]
    largest = max(len(render_model(model)) for model in models)
    assert largest > 4096 and 4 * largest <= limit, (largest, limit)


def test_a_second_make_run_waits_for_the_first(tmp_path, capsys):
    import subprocess
    import sys
    import threading
    import time

    from ecommerce_local.pipeline_run import one_make_run_at_a_time

    first = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path[:0] = ['plugins', 'local']\n"
        "from ecommerce_local.pipeline_run import one_make_run_at_a_time\n"
        f"with one_make_run_at_a_time({str(tmp_path)!r}):\n"
        "    print('holding', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "holding"
        entered = threading.Event()

        def second():
            with one_make_run_at_a_time(str(tmp_path)):
                entered.set()

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not entered.is_set(), "the second make run waits"
        assert f"another make run (pid {first.pid}) is running" in capsys.readouterr().out
        first.kill()  # even a killed first run lets the second go on
        thread.join(timeout=10)
        assert entered.is_set()
    finally:
        first.kill()
        first.wait()


@pytest.mark.parametrize("variables, message", [
    ({"DATE": '2026-11-20"; touch {canary}; echo "'}, "DATE must be a date as YYYY-MM-DD"),
    ({"DATE": "2026-02-30"}, "DATE must be a date as YYYY-MM-DD, not '2026-02-30'"),
    ({"DAYS": "two"}, "DAYS must be a whole number from 1 to 3,660, not 'two'"),
    ({"ORDERS": "1000000000"}, "ORDERS must be a whole number from 0 to 2,000,000"),
])
def test_make_run_refuses_bad_values_in_one_line_before_anything_runs(tmp_path, variables, message):
    import os
    import subprocess

    from ecommerce.settings import PROJECT_ROOT

    canary = tmp_path / "pasted-into-the-shell"
    arguments = [f"{name}={value.format(canary=canary)}" for name, value in variables.items()]
    # Should a value slip through, the run finds no warehouse instead of the test's.
    env = dict(os.environ, AIRFLOW_CONN_ECOMMERCE_WAREHOUSE="postgresql://nobody@127.0.0.1:9/none")
    result = subprocess.run(["make", "-s", "run", *arguments], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("make")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert not canary.exists()


@pytest.mark.parametrize("password, warned", [(None, True), ("admin", True), ("a-long-chosen-one", False)])
def test_make_airflow_warns_when_the_admin_has_the_default_password(capsys, password, warned):
    from ecommerce_local.services import admin_login

    env = {"AIRFLOW_ADMIN_PASSWORD": password} if password else {}
    assert admin_login(env) == ("admin", password or "admin")
    assert ("default password" in capsys.readouterr().err) is warned


#: ``supervise`` over one component that exits at once, the longest wait cut to 2 s. Its clock
#: runs as usual, but each of its sleeps takes a tenth of its length, the clock jumping the rest:
#: the waits it computes and keeps are the real ones, without their seconds.
KEEPS_EXITING = """
import sys
import time
from ecommerce_local import services
services.RESTART_DELAY_MAX = 2
real_monotonic, real_sleep, skipped = time.monotonic, time.sleep, [0.0]
def sleep(seconds):
    real_sleep(seconds / 10)
    skipped[0] += seconds - seconds / 10
time.monotonic, time.sleep = lambda: real_monotonic() + skipped[0], sleep
args = {"flaky": [sys.executable, "-c", "print('its own output'); raise SystemExit(3)"]}
env = {"AIRFLOW_HOME": sys.argv[1]}
services.supervise(env, args, {"flaky": services.spawn("flaky", args["flaky"], env)})
"""


def test_make_airflow_starts_a_component_that_keeps_exiting_again_ever_later(tmp_path):
    """Not at once each time: a broken component must not spin (ecommerce_local.services). Its
    output goes to its log file, which the line names, not to the terminal."""
    supervisor = subprocess.Popen([sys.executable, "-c", KEEPS_EXITING, str(tmp_path)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(itertools.islice(supervisor.stderr, 3)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    os.killpg(supervisor.pid, signal.SIGKILL)
    supervisor.wait()
    log = tmp_path / "logs" / "services" / "flaky.log"
    assert lines == [f"airflow flaky exited with code 3; starting it again in {delay} s (its output: {log})\n"
                     for delay in (1, 2, 2)]
    assert supervisor.stdout.read() == ""
    assert log.read_text().count("its own output") >= 3 and log.read_text().count("==== ") >= 3


def test_stopping_make_airflow_kills_what_a_component_that_exited_left_behind(tmp_path):
    """A scheduler that exits while the services start leaves its executor's workers in its
    process group; the stop that follows must not leave them running."""
    import psutil

    from ecommerce_local import services

    pid_file = tmp_path / "worker.pid"
    component = services.spawn("scheduler", ["sh", "-c", f"sleep 600 & echo $! > {pid_file}; exit 3"],
                               {"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(tmp_path)})
    component.wait()
    worker = psutil.Process(int(pid_file.read_text()))
    assert worker.is_running()
    services.stop({"scheduler": component})
    # Killed: gone, or a zombie until its new parent reaps it (PID 1 here took about a second).
    deadline = time.monotonic() + 10
    while not killed(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert killed(worker)


def killed(process) -> bool:
    import psutil

    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_new_airflow_home_gets_a_copy_of_the_migrated_metadata_and_a_configuration_of_its_own(
        tmp_path, monkeypatch):
    """No migration runs for it, and Airflow then reads the home's own database, with the
    warehouse pool, not the template's or another home's."""
    from ecommerce.settings import WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS
    from ecommerce_local import environment

    environment.metadata_template(dict(os.environ))  # made by the first new home of the session
    migrated = []
    monkeypatch.setattr(environment, "initialize_metadata", lambda home, env: migrated.append(home))
    home = tmp_path / "airflow"
    environment.migrate_metadata(home, dict(os.environ))
    assert migrated == []
    assert {name: (home / name).stat().st_mode & 0o777 for name in ("airflow.db", "airflow.cfg")} == {
        "airflow.db": 0o600, "airflow.cfg": 0o600}
    read = subprocess.run(
        [sys.executable, "-c", "from airflow.configuration import conf; from airflow.models.pool import Pool; "
                               f"print(conf.get('database', 'sql_alchemy_conn'), Pool.get_pool({WAREHOUSE_POOL!r}).slots)"],
        env=dict(os.environ, AIRFLOW_HOME=str(home)), capture_output=True, text=True, check=True)
    assert read.stdout.split() == [f"sqlite:///{home}/airflow.db", str(WAREHOUSE_POOL_SLOTS)]


@pytest.mark.slow
def test_the_admin_is_created_and_a_password_changed_in_the_env_replaces_the_old_one(tmp_path):
    """``airflow users create`` leaves an existing user's password as it was (and exits 0): a
    password changed in .env must still take effect at the next start (``ecommerce.admin_user``)."""
    import sqlite3

    from werkzeug.security import check_password_hash

    from ecommerce_local import environment
    from ecommerce_local.services import ensure_admin

    home = tmp_path / "airflow"
    environment.migrate_metadata(home, dict(os.environ))
    env = dict(os.environ, AIRFLOW_HOME=str(home))

    def stored() -> list[tuple[str, str, str]]:
        with sqlite3.connect(home / "airflow.db") as db:
            return db.execute("select u.username, u.password, r.name from ab_user u "
                              "join ab_user_role ur on ur.user_id = u.id join ab_role r on r.id = ur.role_id").fetchall()

    ensure_admin(env, "admin", "the-first-password")
    [(user, first, role)] = stored()
    assert (user, role) == ("admin", "Admin") and check_password_hash(first, "the-first-password")
    ensure_admin(env, "admin", "the-second-password")
    [(user, second, role)] = stored()
    assert check_password_hash(second, "the-second-password")
    assert not check_password_hash(second, "the-first-password")


def test_an_airflow_home_of_an_older_version_is_migrated_in_place(tmp_path, monkeypatch):
    from ecommerce_local import environment

    migrated = []
    monkeypatch.setattr(environment, "initialize_metadata", lambda home, env: migrated.append(home))
    (tmp_path / ".migrated-2.11.0").touch()
    (tmp_path / "airflow.db").write_text("its runs and users")
    environment.migrate_metadata(tmp_path, dict(os.environ))
    assert migrated == [tmp_path] and (tmp_path / "airflow.db").read_text() == "its runs and users"


def test_an_airflow_home_made_readable_by_an_older_version_is_made_private(tmp_path):
    from ecommerce_local.environment import keep_private

    for name in ("airflow.db", "airflow.db-wal", "airflow.cfg"):
        (tmp_path / name).write_text("x")
        (tmp_path / name).chmod(0o644)
    keep_private(tmp_path)
    assert {path.name: path.stat().st_mode & 0o777 for path in tmp_path.iterdir()} == {
        "airflow.db": 0o600, "airflow.db-wal": 0o600, "airflow.cfg": 0o600}


def test_each_test_worker_has_a_database_and_an_airflow_home_of_its_own():
    from ecommerce_local import environment

    assert environment.test_profile(None) == environment.PROFILES["test"]
    first, second = environment.test_profile("gw0"), environment.test_profile("gw1")
    assert (first.database, second.database) == ("ecommerce_test_gw0", "ecommerce_test_gw1")
    assert len({first.airflow_home, second.airflow_home, environment.PROFILES["test"].airflow_home}) == 3
    assert len({first.data_dir, second.data_dir, environment.PROFILES["test"].data_dir}) == 3


def test_this_test_process_uses_its_workers_database():
    import os

    from conftest import connect
    from ecommerce_local import environment

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if os.environ.get(environment.WAREHOUSE_ENV, "").startswith("postgresql://ecommerce@%2F"):  # embedded
        with connect() as conn:
            assert conn.execute("select current_database()").fetchone()[0] == environment.test_profile(worker).database
    assert os.environ["AIRFLOW_HOME"] == str(environment.test_profile(worker).airflow_home)


def test_airflow_waits_for_the_sqlite_metadata_databases_write_lock_longer_than_5_s():
    """SQLite lets one process write at a time; with Python's default 5-s wait for the lock, a run
    triggered from the REST API of a busy `make airflow` got a 500 ("database is locked"). A task
    then waits for the API server's answer longer than the server may wait for the lock."""
    import asyncio

    from airflow import settings
    from airflow.sdk.api.client import API_TIMEOUT
    from ecommerce_local.sqlite_metadata import CONNECT_ARGS

    async def async_wait() -> int:
        async with settings.async_engine.connect() as conn:
            wait = (await conn.exec_driver_sql("pragma busy_timeout")).scalar()
        await settings.async_engine.dispose()  # in this event loop, which ends here
        return wait

    with settings.engine.connect() as conn:
        assert conn.exec_driver_sql("pragma busy_timeout").scalar() == CONNECT_ARGS["timeout"] * 1000 > 5000
    assert asyncio.run(async_wait()) == CONNECT_ARGS["timeout"] * 1000
    assert API_TIMEOUT > CONNECT_ARGS["timeout"]


def test_a_metadata_database_the_user_named_gets_no_sqlite_settings(tmp_path, monkeypatch):
    from ecommerce_local import environment

    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://airflow@db.internal/airflow")
    for name in ("DATABASE__SQL_ALCHEMY_CONNECT_ARGS", "DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC",
                 "WORKERS__EXECUTION_API_TIMEOUT"):
        monkeypatch.delenv(f"AIRFLOW__{name}", raising=False)
    monkeypatch.setenv("ECOMMERCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(environment, "migrate_metadata", lambda *args: None)
    env = environment.build(environment.Profile("scratch", "unused", tmp_path / "airflow", tmp_path / "data"))
    assert not [name for name in env if name.startswith("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS")]
    assert "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT" not in env


def test_make_airflow_sends_logins_to_its_own_port_not_one_an_outer_environment_derived(tmp_path, monkeypatch):
    """[api] base_url is where the FAB auth manager sends a browser to log in. One derived from
    AIRFLOW_PORT (or its default, 8080) by an outer environment — the test suite's, whose
    `make airflow` instances take free ports — is derived again from the port the API listens
    on; a URL the user set is theirs."""
    from ecommerce_local import environment
    from ecommerce_local.services import service_env

    for name in ("AIRFLOW__API__BASE_URL", environment.DERIVED_BASE_URL_ENV, "AIRFLOW_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_ECOMMERCE_WAREHOUSE", "postgresql://etl@db.internal:5432/ecommerce")
    monkeypatch.setattr(environment, "migrate_metadata", lambda *args: None)
    profile = environment.Profile("scratch", "unused", tmp_path / "airflow", tmp_path / "data")
    outer = environment.build(profile)
    assert outer["AIRFLOW__API__BASE_URL"] == "http://localhost:8080"  # make run's alerts: make airflow's default
    assert service_env(dict(outer, AIRFLOW_PORT="9123"), 9123)["AIRFLOW__API__BASE_URL"] == "http://localhost:9123"
    monkeypatch.setattr(os, "environ", dict(outer, AIRFLOW_PORT="9124"))
    assert environment.build(profile)["AIRFLOW__API__BASE_URL"] == "http://localhost:9124"
    own = dict(outer, AIRFLOW__API__BASE_URL="https://airflow.example.test")
    assert service_env(own, 9123)["AIRFLOW__API__BASE_URL"] == "https://airflow.example.test"
    monkeypatch.setattr(os, "environ", dict(own, AIRFLOW_PORT="9124"))
    assert environment.build(profile)["AIRFLOW__API__BASE_URL"] == "https://airflow.example.test"


@pytest.mark.parametrize("conf, note, shown", [
    ({"business_date": "2026-11-20"}, "business date 2026-11-21", " (business date 2026-11-20)"),  # conf first
    ({}, "business date 2026-11-29", " (business date 2026-11-29)"),  # the scheduler's note
    (None, None, ""),  # refresh_dashboards: no business date
    ({}, "rerun after the fix", ""),  # a note of the user's own is not a date
])
def test_make_airflow_prints_one_line_per_finished_run(conf, note, shown):
    from ecommerce_local.services import run_line

    run = {"dag_id": "ecommerce_pipeline", "dag_run_id": "manual__x", "state": "failed", "conf": conf, "note": note,
           "start_date": "2026-12-06T00:16:00.5+00:00", "end_date": "2026-12-06T00:17:52.9+00:00"}
    assert run_line(run) == f"run ecommerce_pipeline manual__x{shown}: failed in 1m52s"


def test_a_scheduler_is_silent_since_its_heartbeat_or_since_it_started_whichever_is_later():
    from datetime import datetime, timedelta, timezone

    from ecommerce_local.services import silent_for

    now = datetime.now(timezone.utc)
    assert silent_for(None, since_start=12.0) == 12.0
    assert 299 < silent_for(now - timedelta(seconds=300), since_start=600.0) < 302
    # a heartbeat older than the process is the process before's: counted from the start
    assert silent_for(now - timedelta(seconds=300), since_start=20.0) == 20.0


@pytest.mark.parametrize("given", ["0", "-5", "soon", "nan"])
def test_a_bad_stuck_scheduler_setting_is_refused_naming_it(given):
    from ecommerce_local.services import SCHEDULER_STUCK, stuck_seconds

    with pytest.raises(SystemExit, match="ECOMMERCE_SCHEDULER_STUCK_SECONDS must be a positive number"):
        stuck_seconds({"ECOMMERCE_SCHEDULER_STUCK_SECONDS": given})
    assert stuck_seconds({"ECOMMERCE_SCHEDULER_STUCK_SECONDS": " "}) == SCHEDULER_STUCK
    assert stuck_seconds({"ECOMMERCE_SCHEDULER_STUCK_SECONDS": "45"}) == 45.0
