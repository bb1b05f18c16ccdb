"""Apply the versioned DDL of ``include/sql/schema`` in order, idempotently."""

from __future__ import annotations

import logging
import os

from ecommerce.failures import SetupProblem
from ecommerce.settings import PROJECT_ROOT, SQL_DIR

log = logging.getLogger(__name__)

SCHEMA_DIR = SQL_DIR / "schema"
# Serialises concurrent bootstraps (two runs starting at once) on the same database.
_LOCK_KEY = 7_301_001


def schema_files() -> list:
    """The DDL files in the order they apply: their numeric prefix."""
    return sorted(SCHEMA_DIR.glob("*.sql"))


BI_READER = "bi_reader"
#: Creates the roles; run by a superuser (include/sql/admin/warehouse_roles.sql).
ROLES_FILE = SQL_DIR / "admin" / "warehouse_roles.sql"
#: bi_reader's limits as the roles file sets them, for a bi_reader the bootstrap creates on a
#: server that file never ran on. psql runs the one, Python the other: a test creates the role
#: both ways and compares them (tests/sql/test_least_privilege.py).
BI_READER_ATTRIBUTES = "login nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit 20"
BI_READER_TIMEOUT_ENV = "BI_READER_STATEMENT_TIMEOUT"
BI_READER_DEFAULT_TIMEOUT = "2min"


def ensure_bi_reader(cursor) -> None:
    """Make sure the read-only login exists before its grants are applied.

    The roles file creates it, with its password and limits. A warehouse set up by hand
    (AIRFLOW_CONN_ECOMMERCE_WAREHOUSE pointing elsewhere) may lack it: a connection that may
    create roles creates it with the roles file's limits (connection limit, statement timeout,
    read-only sessions), in the bootstrap's transaction, so it never exists without them; any
    other connection stops with what to run.
    """
    from psycopg import errors, sql

    cursor.execute("select 1 from pg_roles where rolname = %s", (BI_READER,))
    if cursor.fetchone() is not None:
        return
    cursor.execute("select rolsuper or rolcreaterole from pg_roles where rolname = current_user")
    if not cursor.fetchone()[0]:
        raise SetupProblem(
            f"the role {BI_READER} does not exist and {BI_READER} cannot be created by this connection's "
            f"role (least privilege): run {ROLES_FILE.relative_to(PROJECT_ROOT)} with psql as a "
            "superuser of the warehouse's server (docs/operations.md, Security)")
    role = sql.Identifier(BI_READER)
    # The attributes go with create role: a role with CREATEROLE alone may not alter them later.
    cursor.execute(sql.SQL("create role {} " + BI_READER_ATTRIBUTES).format(role))
    timeout = os.environ.get(BI_READER_TIMEOUT_ENV) or BI_READER_DEFAULT_TIMEOUT
    try:
        cursor.execute(sql.SQL("alter role {} set statement_timeout = {}").format(role, sql.Literal(timeout)))
    except errors.InvalidParameterValue as error:
        raise SetupProblem(f"{BI_READER_TIMEOUT_ENV}={timeout!r} is not a PostgreSQL duration "
                           f"(e.g. 2min, 30s): {error}") from error
    cursor.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(role))
    log.warning("created the role %s (statement timeout %s, read-only sessions) without a password: "
                "set one with %s", BI_READER, timeout, ROLES_FILE.name)


def apply_schema(conn) -> list[str]:
    """Apply every schema file in one transaction on ``conn``; return the names applied.

    Each file is written to be re-run (``if not exists``, ``on conflict do nothing``), so
    applying the whole set on every run brings any database up to the current version.
    """
    applied = []
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        ensure_bi_reader(cursor)
        for path in schema_files():
            cursor.execute(path.read_text(encoding="utf-8"))
            applied.append(path.name)
            log.info("applied %s", path.name)
    return applied
