"""Apply the versioned DDL of ``include/sql/schema`` in order, idempotently."""

from __future__ import annotations

import logging
import os

from ecommerce.settings import SQL_DIR

log = logging.getLogger(__name__)

SCHEMA_DIR = SQL_DIR / "schema"
# Serialises concurrent bootstraps (two runs starting at once) on the same database.
_LOCK_KEY = 7_301_001


def schema_files() -> list:
    """The DDL files in the order they apply: their numeric prefix."""
    return sorted(SCHEMA_DIR.glob("*.sql"))


BI_READER = "bi_reader"
#: Local-mode default; a deployment sets BI_READER_PASSWORD (see .env.example).
LOCAL_BI_READER_PASSWORD = "bi_reader_local"


def ensure_bi_reader(cursor, password: str) -> None:
    """Create the read-only login role if needed and set its password."""
    from psycopg import sql

    cursor.execute("select 1 from pg_roles where rolname = %s", (BI_READER,))
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("create role {} login").format(sql.Identifier(BI_READER)))
    cursor.execute(sql.SQL("alter role {} with login nosuperuser nocreatedb nocreaterole password {}").format(
        sql.Identifier(BI_READER), sql.Literal(password)))


def apply_schema(conn, bi_reader_password: str | None = None) -> list[str]:
    """Apply every schema file in one transaction on ``conn``; return the names applied.

    Each file is written to be re-run (``if not exists``, ``on conflict do nothing``), so
    applying the whole set on every run brings any database up to the current version.
    """
    password = bi_reader_password or os.environ.get("BI_READER_PASSWORD") or LOCAL_BI_READER_PASSWORD
    applied = []
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        ensure_bi_reader(cursor, password)
        for path in schema_files():
            cursor.execute(path.read_text(encoding="utf-8"))
            applied.append(path.name)
            log.info("applied %s", path.name)
    return applied
