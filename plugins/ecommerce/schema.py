"""Bring the warehouse to the current schema: numbered migrations, then the schema files.

``include/sql/schema`` describes the current tables (``create … if not exists``, ``create or
replace``), and applies whenever it could change something (``schema_is_current``).
``include/sql/migrations`` holds what those files cannot say to a warehouse an older release
built — a column added, renamed or dropped, a constraint or index replaced, data moved — one
numbered file per change, each applied once, in order, in a transaction of its own, and
recorded in ``audit.schema_migrations``.

Which version a warehouse is at:

- ``audit.schema_migrations`` exists: its newest version (0 if it is empty: the first migration
  of an unversioned warehouse failed).
- it does not, but a pipeline schema holds a table: version 0, a warehouse built before the
  migrations existed (by ca680fa or an earlier release, which ran their upgrade steps on every
  bootstrap). Migrations 0001–0010 are those steps, so each checks the catalog before it
  changes anything: a version-0 warehouse may be from any of those releases.
- nothing: a fresh warehouse. The schema files create it and it is stamped at the newest
  version, in one transaction, without running a migration.

A warehouse at a version newer than the newest migration here is refused: an older release
must not run against tables it does not know.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ecommerce.failures import SetupProblem
from ecommerce.lineage import PIPELINE_SCHEMAS
from ecommerce.models import all_homes
from ecommerce.settings import PROJECT_ROOT, SQL_DIR

log = logging.getLogger(__name__)

SCHEMA_DIR = SQL_DIR / "schema"
MIGRATIONS_DIR = SQL_DIR / "migrations"
VERSION_TABLE = "audit.schema_migrations"
#: The record of the migrations a warehouse holds. ran is false for those a fresh warehouse was
#: stamped with (the schema files it was built from already held them); checksum is the sha256
#: of the file's text when it was recorded.
VERSION_TABLE_DDL = f"""
create table if not exists {VERSION_TABLE} (
    version integer primary key,
    name text not null,
    checksum text not null,
    ran boolean not null,
    applied_at timestamptz not null default clock_timestamp()
)"""
# Serialises concurrent bootstraps (two runs starting at once) on the same database.
BOOTSTRAP_LOCK_KEY = 7_301_001


def schema_files() -> list:
    """The DDL files in the order they apply: their numeric prefix."""
    return sorted(SCHEMA_DIR.glob("*.sql"))


@dataclass(frozen=True)
class Migration:
    """One file of ``include/sql/migrations``, ``NNNN_name.sql``."""

    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations(folder: Path | None = None) -> list[Migration]:
    """The migrations of ``folder`` (MIGRATIONS_DIR) in version order: numbered 1, 2, 3… without
    a gap or a repeat, so that ``migrations()[version:]`` are those a warehouse at ``version``
    has not run."""
    folder = folder or MIGRATIONS_DIR
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", path.name)
        if match is None:
            raise ValueError(f"{path}: a migration is named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path))
    numbers = [migration.version for migration in found]
    if numbers != list(range(1, len(found) + 1)):
        raise ValueError(f"{folder}: migrations are numbered 1, 2, 3… without a gap or a repeat; found {numbers}")
    return found


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


def warehouse_version(cursor) -> int | None:
    """The warehouse's schema version: the newest recorded migration, 0 for a warehouse built
    before migrations were recorded, None for a fresh one (no table in a pipeline schema)."""
    cursor.execute("select to_regclass(%s) is not null", (VERSION_TABLE,))
    if cursor.fetchone()[0]:
        cursor.execute(f"select coalesce(max(version), 0) from {VERSION_TABLE}")
        return cursor.fetchone()[0]
    cursor.execute("select exists (select from pg_class where relkind in ('r', 'p') "
                   "and relnamespace::regnamespace::text = any(%s))", (list(PIPELINE_SCHEMAS),))
    return 0 if cursor.fetchone()[0] else None


def check_version(cursor, version: int, known: list[Migration]) -> None:
    """Refuse a warehouse newer than the code; warn of a recorded migration whose file changed."""
    newest = known[-1] if known else None
    if version > len(known):
        cursor.execute(f"select name from {VERSION_TABLE} where version = %s", (version,))
        name = (cursor.fetchone() or ("?",))[0]
        knows = f"{newest.version:04d}_{newest.name}" if newest else "none"
        raise SetupProblem(
            f"the warehouse's schema is at version {version} ({name}), newer than this code knows: its newest "
            f"migration is {knows} ({MIGRATIONS_DIR.relative_to(PROJECT_ROOT)}). A later release upgraded it; run "
            f"that release or a newer one against it — a release does not downgrade a schema "
            f"(docs/operations.md, Upgrading)")
    if version:
        cursor.execute(f"select version, name, checksum from {VERSION_TABLE} order by version")
        for number, name, checksum in cursor.fetchall():
            if checksum != known[number - 1].checksum:
                log.warning("migration %04d_%s has changed since this warehouse recorded it: its present text "
                            "will never run here (add a new migration instead)", number, name)


def record(cursor, migration: Migration, ran: bool) -> None:
    cursor.execute(f"insert into {VERSION_TABLE} (version, name, checksum, ran) values (%s, %s, %s, %s)",
                   (migration.version, migration.name, migration.checksum, ran))


@contextmanager
def bootstrap_lock(conn):
    """One bootstrap at a time on the database (two runs starting at once): a session lock, as
    the bootstrap commits more than once."""
    with conn.transaction():
        conn.execute("select pg_advisory_lock(%s)", (BOOTSTRAP_LOCK_KEY,))
    try:
        yield
    finally:
        if not conn.closed:
            with conn.transaction():
                conn.execute("select pg_advisory_unlock(%s)", (BOOTSTRAP_LOCK_KEY,))


#: What the schema files were last applied as (include/sql/schema/003_quarantine_audit.sql).
APPLIED_TABLE = "audit.schema_applied"
#: A table the schema files declare.
_DECLARED_TABLE = re.compile(r"\bcreate\s+table\s+if\s+not\s+exists\s+(\w+\.\w+)", re.IGNORECASE)


def schema_fingerprint() -> str:
    """sha256 of what ``create_current`` applies: the schema files and the model homes' DDL."""
    digest = hashlib.sha256()
    for path in schema_files():
        digest.update(path.read_bytes())
    for model in all_homes():
        digest.update(model.ddl().encode())
    return digest.hexdigest()


def declared_tables() -> list[str]:
    """The tables the schema files and the model homes create, qualified."""
    tables = {model.table for model in all_homes()}
    for path in schema_files():
        tables.update(_DECLARED_TABLE.findall(path.read_text(encoding="utf-8")))
    return sorted(tables)


#: What the schema files leave in the catalog, as one md5, read without locking a table: the
#: declared tables (their privileges; a missing one as missing) and their own indexes, the
#: pipeline schemas' functions and views (their text and privileges), the schemas', the
#: database's and this role's default privileges. A date's partitions and staging tables come
#: and go, and are not in it.
CATALOG_STATE = """
with tables as (
    select name, to_regclass(name) as oid from unnest(%(tables)s::text[]) as name
)

select md5(string_agg(item, e'\\n' order by item)) from (
    select concat_ws(' ', 'table', name, case when tables.oid is null then 'missing'
                                              else coalesce(relacl::text, 'owner only') end)
    from tables left join pg_class on pg_class.oid = tables.oid
    union all
    select concat_ws(' ', 'index', tables.name, pg_class.relname)
    from tables join pg_index on pg_index.indrelid = tables.oid join pg_class on pg_class.oid = pg_index.indexrelid
    union all
    select concat_ws(' ', 'function', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
                     md5(p.prosrc || coalesce(p.prosqlbody::text, '')), p.proacl)
    from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace
    where n.nspname = any(%(schemas)s)
    union all
    select concat_ws(' ', 'view', n.nspname, c.relname, md5(r.ev_action::text), c.relacl)
    from pg_class as c join pg_namespace as n on n.oid = c.relnamespace join pg_rewrite as r on r.ev_class = c.oid
    where c.relkind = 'v' and n.nspname = any(%(schemas)s)
    union all
    select concat_ws(' ', 'schema', nspname, nspacl) from pg_namespace where nspname = any(%(schemas)s)
    union all
    select concat_ws(' ', 'database', datacl) from pg_database where datname = current_database()
    union all
    select concat_ws(' ', 'default', defaclnamespace::regnamespace, defaclobjtype, defaclacl)
    from pg_default_acl where defaclrole = current_user::text::regrole
) as state(item)
"""


def catalog_state(cursor) -> str:
    """``CATALOG_STATE`` of the warehouse on ``cursor``."""
    cursor.execute(CATALOG_STATE, {"tables": declared_tables(), "schemas": list(PIPELINE_SCHEMAS)})
    return cursor.fetchone()[0]


def schema_is_current(cursor, fingerprint: str) -> bool:
    """Whether applying the schema files would change nothing: this role applied these very
    files (``fingerprint``), and the catalog is as they left it (``CATALOG_STATE``: a table,
    index, function or view dropped or replaced, a grant revoked, bi_reader dropped, show).

    Applying them takes locks even when nothing changes (an index ``if not exists`` takes its
    table's SHARE lock, a comment its table's SHARE UPDATE EXCLUSIVE lock; a grant rewrites
    the table's catalog row), held until the bootstrap commits. A run starting while another
    run's tasks wrote those tables waited on them, and they on it: PostgreSQL broke the
    deadlock by failing a task, which retried 20 s later. This check reads one row and the
    catalog, and locks no table of the pipeline. Rows are not in it: ``truncate
    audit.schema_applied`` makes the next bootstrap apply the files again (the unknown members
    of the dimensions, had they been deleted).
    """
    cursor.execute("select to_regclass(%s) is not null", (APPLIED_TABLE,))
    if not cursor.fetchone()[0]:
        return False
    cursor.execute(f"select fingerprint, applied_by = current_user, catalog_state from {APPLIED_TABLE}")
    recorded = cursor.fetchone()
    return recorded is not None and recorded[:2] == (fingerprint, True) and recorded[2] == catalog_state(cursor)


def record_applied(cursor, fingerprint: str) -> None:
    """Record the schema files as applied now, by this role, and the catalog they left."""
    cursor.execute(f"delete from {APPLIED_TABLE}")
    cursor.execute(f"insert into {APPLIED_TABLE} (fingerprint, applied_by, catalog_state) "
                   "values (%s, current_user, %s)", (fingerprint, catalog_state(cursor)))


def create_current(cursor) -> list[str]:
    """Apply the schema files in order (each re-runnable): create what is missing, replace the
    functions and views, grant; then create the tables the model homes declare
    (``ecommerce.models``) where missing. Return the files applied."""
    applied = []
    ensure_bi_reader(cursor)
    for path in schema_files():
        cursor.execute(path.read_text(encoding="utf-8"))
        applied.append(path.name)
        log.info("applied %s", path.name)
    for model in all_homes():
        cursor.execute(model.ddl())
        applied.append(model.file)
    log.info("created the tables the model homes declare, where missing")
    return applied


def apply_schema(conn) -> list[str]:
    """Bring the warehouse on ``conn`` to the current schema; return the files applied.

    Under the bootstrap's advisory lock: each migration the warehouse has not run, in a
    transaction of its own with its record, then the schema files in one more transaction (a
    fresh warehouse stamped in it at the newest version). ``conn`` should not be inside a
    transaction (each step commits on its own). A migration that fails rolls its transaction
    back and stops the bootstrap: the warehouse stays at the version before it. The schema
    files are skipped when no migration ran and ``schema_is_current``.
    """
    known = migrations()
    applied = []
    with bootstrap_lock(conn):
        with conn.transaction(), conn.cursor() as cursor:
            version = warehouse_version(cursor)
            if version is not None:
                check_version(cursor, version, known)
                cursor.execute(VERSION_TABLE_DDL)
        for migration in known[len(known) if version is None else version:]:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(migration.sql)
                record(cursor, migration, ran=True)
            applied.append(migration.path.name)
            log.info("migrated the warehouse to version %d (%s)", migration.version, migration.path.name)
        fingerprint = schema_fingerprint()
        with conn.transaction(), conn.cursor() as cursor:
            if version is not None and not applied and schema_is_current(cursor, fingerprint):
                log.info("the schema files are applied as they are, and the catalog as they left it: nothing to do")
                return applied
            applied += create_current(cursor)
            record_applied(cursor, fingerprint)
            if version is None:
                cursor.execute(VERSION_TABLE_DDL)
                for migration in known:
                    record(cursor, migration, ran=False)
                log.info("created the warehouse at schema version %d", len(known))
    return applied
