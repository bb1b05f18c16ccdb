"""Apply the versioned DDL of ``include/sql/schema`` in order, idempotently."""

from __future__ import annotations

import logging

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


def ensure_bi_reader(cursor) -> None:
    """Make sure the read-only login exists before its grants are applied.

    The roles file creates it, with its password and limits. A warehouse set up by hand
    (AIRFLOW_CONN_ECOMMERCE_WAREHOUSE pointing elsewhere) may lack it: a connection that may
    create roles creates a bare one, any other stops with what to run.
    """
    from psycopg import sql

    cursor.execute("select 1 from pg_roles where rolname = %s", (BI_READER,))
    if cursor.fetchone() is not None:
        return
    cursor.execute("select rolsuper or rolcreaterole from pg_roles where rolname = current_user")
    if not cursor.fetchone()[0]:
        raise SetupProblem(
            f"the role {BI_READER} does not exist and {BI_READER} cannot be created by this connection's "
            f"role (least privilege): run {ROLES_FILE.relative_to(PROJECT_ROOT)} with psql as a "
            "superuser of the warehouse's server (docs/operations.md, Security)")
    cursor.execute(sql.SQL("create role {} login nosuperuser nocreatedb nocreaterole").format(
        sql.Identifier(BI_READER)))
    log.warning("created the role %s without a password: set one with %s", BI_READER, ROLES_FILE.name)


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
