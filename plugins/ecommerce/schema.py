"""Apply the versioned DDL of ``include/sql/schema`` in order, idempotently."""

from __future__ import annotations

import logging

from ecommerce.settings import SQL_DIR

log = logging.getLogger(__name__)

SCHEMA_DIR = SQL_DIR / "schema"
# Serialises concurrent bootstraps (two runs starting at once) on the same database.
_LOCK_KEY = 7_301_001


def schema_files() -> list:
    """The DDL files in the order they apply: their numeric prefix."""
    return sorted(SCHEMA_DIR.glob("*.sql"))


def apply_schema(conn) -> list[str]:
    """Apply every schema file in one transaction on ``conn``; return the names applied.

    Each file is written to be re-run (``if not exists``, ``on conflict do nothing``), so
    applying the whole set on every run brings any database up to the current version.
    """
    applied = []
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        for path in schema_files():
            cursor.execute(path.read_text(encoding="utf-8"))
            applied.append(path.name)
            log.info("applied %s", path.name)
    return applied
