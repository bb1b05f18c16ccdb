"""The environment of a local command: warehouse URI, AIRFLOW_HOME, data folder, PYTHONPATH.

Profiles keep a developer's demo data, the test suite and the benchmark apart on the same
machine: ``run`` (``make run``, ``make airflow``), ``test`` (``make test``) and ``bench``
(``make bench``), each with its own Airflow metadata, data folder and warehouse database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ecommerce.settings import PROJECT_ROOT, WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS
from ecommerce_local import sqlite_metadata, warehouse

#: Where this package lives (local/): on the PYTHONPATH of every process of the local mode, which
#: imports it by name (its lanes, ``make airflow``'s hostname callable, SQLite's connect args).
LOCAL_PACKAGES = Path(__file__).resolve().parents[1]
LOCAL_DIR = PROJECT_ROOT / ".local"
PGDATA = LOCAL_DIR / "pgdata"
WAREHOUSE_ENV = "AIRFLOW_CONN_ECOMMERCE_WAREHOUSE"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
#: [core] max_templated_field_length: a rendered field longer than this is shown cut. 64 KiB, four
#: times the largest SQL model rendered (tests/unit/test_local_mode.py keeps that margin).
MAX_TEMPLATED_FIELD_LENGTH = 65536
#: Set to AIRFLOW__API__BASE_URL when ``build`` derived that from AIRFLOW_PORT (the user set none).
DERIVED_BASE_URL_ENV = "ECOMMERCE_DERIVED_API_BASE_URL"


def local_base_url(port: int | str) -> str:
    """``[api] base_url`` of `make airflow` on ``port``: where the FAB auth manager sends the
    browser to log in (and back), and where alerts link to."""
    return f"http://localhost:{port}"


@dataclass(frozen=True)
class Profile:
    name: str
    database: str
    airflow_home: Path
    data_dir: Path


PROFILES = {
    "run": Profile("run", "ecommerce", LOCAL_DIR / "airflow", PROJECT_ROOT / "data"),
    "test": Profile("test", "ecommerce_test", LOCAL_DIR / "test" / "airflow", LOCAL_DIR / "test" / "data"),
    "bench": Profile("bench", "ecommerce_bench", LOCAL_DIR / "bench" / "airflow", LOCAL_DIR / "bench" / "data"),
}


def test_profile(worker: str | None) -> Profile:
    """The test suite's profile; a pytest-xdist worker (``gw0``, ``gw1``…) gets its own database,
    AIRFLOW_HOME and data folder (``ecommerce_test_gw0``, ``.local/test/gw0/``), so the workers
    never meet in a table or a metadata database."""
    test = PROFILES["test"]
    if not worker:
        return test
    folder = LOCAL_DIR / "test" / worker
    return Profile(f"test-{worker}", f"{test.database}_{worker}", folder / "airflow", folder / "data")


def build(profile: Profile) -> dict[str, str]:
    """Return ``os.environ`` plus what a local Airflow command needs, starting the warehouse."""
    env = dict(os.environ)
    if not env.get(WAREHOUSE_ENV):
        env[WAREHOUSE_ENV] = warehouse.ensure(PGDATA, profile.database)
    if not env.get("ECOMMERCE_DATA_DIR"):  # unset or left empty in .env
        env["ECOMMERCE_DATA_DIR"] = str(profile.data_dir)
    env.update(
        AIRFLOW_HOME=str(profile.airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # The deployment's auth manager (users and roles in the metadata database), here too.
        AIRFLOW__CORE__AUTH_MANAGER=FAB_AUTH_MANAGER,
        # A new DAG starts paused, as in Docker (docker-compose.yml): nothing runs on its schedule
        # before the user has looked and unpaused it. make run's dag.test() runs regardless.
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        # Task logs stay readable in the terminal of `make run`.
        AIRFLOW__LOGGING__COLORED_CONSOLE_LOG="False",
        # Rendered Templates shows a SQL model whole: Airflow's default (4096 characters) cut
        # the largest, 14 kB rendered, after about 89 lines. The Docker deployment sets the
        # same in docker-compose.yml (x-airflow-common).
        AIRFLOW__CORE__MAX_TEMPLATED_FIELD_LENGTH=str(MAX_TEMPLATED_FIELD_LENGTH),
    )
    # Lineage: OpenLineage events as JSON lines under <data root>/lineage/, unless the user
    # configured a transport (any AIRFLOW__OPENLINEAGE__* or OPENLINEAGE_* setting).
    if not any(name.startswith(("AIRFLOW__OPENLINEAGE__TRANSPORT", "AIRFLOW__OPENLINEAGE__CONFIG_PATH",
                                "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")) and value for name, value in env.items()):
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": str(Path(env["ECOMMERCE_DATA_DIR"]) / "lineage" / "events.jsonl"),
             "append": True})
    env.setdefault("AIRFLOW__OPENLINEAGE__NAMESPACE", "ecommerce")
    # Emit from a thread of the task process (dag.test() runs every task in one process).
    env.setdefault("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
    # The metadata database is SQLite here (unless the user named another): writers wait their
    # turn, and a task waits for the API server's answer longer than the server may wait.
    if env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite").startswith("sqlite"):
        for engine in ("", "_ASYNC"):
            env.setdefault(f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS{engine}",
                           f"{sqlite_metadata.__name__}.CONNECT_ARGS")
        env.setdefault("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", str(sqlite_metadata.API_TIMEOUT))
    # Alerts link to the task's log in the UI of `make airflow`. A URL derived here is marked as
    # such: `make airflow` derives it again from the port it listens on (a child started with
    # another AIRFLOW_PORT, as the e2e tests start theirs, must not keep this one's).
    if not env.get("AIRFLOW__API__BASE_URL") or env["AIRFLOW__API__BASE_URL"] == env.get(DERIVED_BASE_URL_ENV):
        env["AIRFLOW__API__BASE_URL"] = env[DERIVED_BASE_URL_ENV] = local_base_url(env.get("AIRFLOW_PORT") or 8080)
    pythonpath = [str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT / "dags"), str(LOCAL_PACKAGES)]
    if env.get("PYTHONPATH"):
        pythonpath.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    profile.airflow_home.mkdir(parents=True, exist_ok=True)
    Path(env["ECOMMERCE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    (Path(env["ECOMMERCE_DATA_DIR"]) / "lineage").mkdir(exist_ok=True)
    migrate_metadata(profile.airflow_home, env)
    return env


def airflow_bin() -> str:
    """The ``airflow`` command of this venv (PATH may not hold it)."""
    return str(Path(sys.executable).with_name("airflow"))


def migrate_metadata(airflow_home: Path, env: dict[str, str]) -> None:
    """Create or upgrade the SQLite metadata database once per Airflow version, with the
    warehouse pool the DAGs use (as airflow-init does in Docker). A home without one gets a copy
    of ``metadata_template``: a new home costs a file copy, not Airflow's migrations again."""
    from importlib.metadata import version

    stamp = airflow_home / f".migrated-{version('apache-airflow-core')}"
    if stamp.exists():
        keep_private(airflow_home)
        return
    env = dict(env, AIRFLOW_HOME=str(airflow_home))
    database = airflow_home / "airflow.db"
    if database.exists() or env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):  # an upgrade, or not SQLite here
        initialize_metadata(airflow_home, env)
    else:
        airflow_home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(metadata_template(env), database)
        database.chmod(0o600)
        # An airflow command writes the home's airflow.cfg (its paths, its own secret keys).
        subprocess.run([airflow_bin(), "config", "get-value", "core", "dags_folder"], env=env, check=True,
                       stdout=subprocess.DEVNULL, umask=0o077)
    keep_private(airflow_home)
    stamp.touch()


def metadata_template(env: dict[str, str]) -> Path:
    """A metadata database freshly migrated by this Airflow version, made once under .local.
    Only the database: a home's airflow.cfg names the home's own database and log folder and
    holds its own secret keys."""
    from importlib.metadata import version

    template = LOCAL_DIR / f"airflow-metadata-{version('apache-airflow-core')}.db"
    if not template.exists():
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=LOCAL_DIR, prefix="airflow-metadata-") as scratch:
            initialize_metadata(Path(scratch), dict(env, AIRFLOW_HOME=scratch))
            # atomic: a process making the same template at the same time replaces it with its equal
            os.replace(Path(scratch) / "airflow.db", template)
    return template


def initialize_metadata(airflow_home: Path, env: dict[str, str]) -> None:
    """``airflow db migrate`` and the warehouse pool, in ``airflow_home`` (``env``'s AIRFLOW_HOME)."""
    airflow = airflow_bin()
    # umask 077: the database (users' password hashes, connections) and airflow.cfg are
    # created readable by their owner only.
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL, umask=0o077)
    subprocess.run([airflow, "pools", "set", WAREHOUSE_POOL, str(WAREHOUSE_POOL_SLOTS),
                    "Concurrent tasks against the warehouse database"], env=env, check=True,
                   stdout=subprocess.DEVNULL, umask=0o077)


def keep_private(airflow_home: Path) -> None:
    """Owner-only modes for the metadata database (and its journal files) and airflow.cfg,
    also when an earlier version created them readable by everyone."""
    for path in [*airflow_home.glob("airflow.db*"), airflow_home / "airflow.cfg"]:
        if path.exists():
            path.chmod(0o600)
