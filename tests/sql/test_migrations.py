"""Numbered migrations (include/sql/migrations, ecommerce.schema) on real PostgreSQL: a warehouse
the previous release built, upgraded, equals one built fresh; each migration runs once, in a
transaction of its own; a warehouse newer than the code is refused."""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from conftest import PIPELINE_SCHEMAS, connect, drop_warehouse, forget_schema_version, reset_warehouse
from ecommerce.failures import SetupProblem
from ecommerce.schema import (APPLIED_TABLE, BOOTSTRAP_LOCK_KEY, MIGRATIONS_DIR, VERSION_TABLE, apply_schema,
                              declared_tables, migrations)

#: The last release before numbered migrations (commit ca680fa): its bootstrap ran the schema files alone.
PREVIOUS_RELEASE = Path(__file__).parents[1] / "data" / "previous_release"

#: What the warehouse's catalog holds of the pipeline's schemas, one query per kind of object.
#: Names, not oids; every row as text, so that two warehouses compare row for row.
CATALOG = {
    "schemas": """
        select nspname, nspowner::regrole, nspacl from pg_namespace where nspname = any(%(schemas)s)""",
    "relations": """
        select relnamespace::regnamespace, relname, relkind, relpersistence, relowner::regrole, relacl,
            relispartition, pg_get_expr(relpartbound, oid), pg_get_partkeydef(oid), reloptions,
            relrowsecurity, obj_description(oid, 'pg_class'),
            case when relkind in ('v', 'm') then pg_get_viewdef(oid) end
        from pg_class where relnamespace::regnamespace::text = any(%(schemas)s)""",
    "columns": """
        select attrelid::regclass, row_number() over (partition by attrelid order by attnum), attname,
            format_type(atttypid, atttypmod), attnotnull, pg_get_expr(adbin, adrelid), attidentity,
            attgenerated, attcollation::regcollation, attacl, col_description(attrelid, attnum)
        from pg_attribute
        inner join pg_class on pg_class.oid = attrelid
        left join pg_attrdef on adrelid = attrelid and adnum = attnum
        where relnamespace::regnamespace::text = any(%(schemas)s) and attnum > 0 and not attisdropped""",
    "constraints": """
        select coalesce(conrelid::regclass::text, contypid::regtype::text), conname, contype,
            pg_get_constraintdef(oid), conenforced, convalidated, condeferrable, condeferred, conislocal
        from pg_constraint where connamespace::regnamespace::text = any(%(schemas)s)""",
    "indexes": """
        select indexrelid::regclass, pg_get_indexdef(indexrelid), indisprimary, indisunique, indisvalid
        from pg_index inner join pg_class on pg_class.oid = indexrelid
        where relnamespace::regnamespace::text = any(%(schemas)s)""",
    "functions": """
        select pronamespace::regnamespace, proname, pg_get_function_identity_arguments(oid), prokind,
            proowner::regrole, proacl, pg_get_functiondef(oid)
        from pg_proc where pronamespace::regnamespace::text = any(%(schemas)s)""",
    "triggers": """
        select tgrelid::regclass, tgname, pg_get_triggerdef(pg_trigger.oid)
        from pg_trigger inner join pg_class on pg_class.oid = tgrelid
        where relnamespace::regnamespace::text = any(%(schemas)s) and not tgisinternal""",
    "sequences": """
        select seqrelid::regclass, seqtypid::regtype, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle
        from pg_sequence inner join pg_class on pg_class.oid = seqrelid
        where relnamespace::regnamespace::text = any(%(schemas)s)""",
    "types": """
        select typnamespace::regnamespace, typname, typtype, format_type(typbasetype, typtypmod), typacl
        from pg_type
        where typnamespace::regnamespace::text = any(%(schemas)s) and typrelid = 0 and typelem = 0""",
    "policies": """
        select polrelid::regclass, polname, polcmd, pg_get_expr(polqual, polrelid)
        from pg_policy inner join pg_class on pg_class.oid = polrelid
        where relnamespace::regnamespace::text = any(%(schemas)s)""",
    "default privileges": """
        select defaclrole::regrole, defaclnamespace::regnamespace, defaclobjtype, defaclacl
        from pg_default_acl where defaclnamespace::regnamespace::text = any(%(schemas)s)""",
    "database privileges": "select datacl from pg_database where datname = current_database()",
}


def catalog(conn) -> dict[str, list[tuple]]:
    return {kind: sorted(tuple(str(value) for value in row)
                         for row in conn.execute(query, {"schemas": list(PIPELINE_SCHEMAS)}).fetchall())
            for kind, query in CATALOG.items()}


def catalog_differences(upgraded: dict, fresh: dict) -> dict[str, dict[str, list]]:
    """Per kind of object, the rows only the upgraded warehouse has and those only the fresh one has."""
    differences = {}
    for kind in CATALOG:
        extra, missing = Counter(upgraded[kind]) - Counter(fresh[kind]), Counter(fresh[kind]) - Counter(upgraded[kind])
        if extra or missing:
            differences[kind] = {"upgraded only": sorted(extra.elements()), "fresh only": sorted(missing.elements())}
    return differences


def previous_release():
    """The bootstrap of the release before numbered migrations: its own ecommerce/schema.py,
    applying its own schema files (kept under ``PREVIOUS_RELEASE``, as commit ca680fa had them,
    so that the test needs no git history)."""
    spec = importlib.util.spec_from_file_location("previous_release_schema",
                                                  PREVIOUS_RELEASE / "plugins/ecommerce/schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.SCHEMA_DIR = PREVIOUS_RELEASE / "include/sql/schema"
    return module


def recorded(conn) -> list[tuple]:
    return conn.execute(f"select version, name, ran from {VERSION_TABLE} order by version").fetchall()


def migration_folder(tmp_path: Path, **added: str) -> Path:
    """The shipped migrations and ``added`` ones (name: SQL), in a folder of their own."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    for name, text in added.items():
        (folder / f"{name}.sql").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def current_warehouse_after():
    """Each test starts from, and leaves, a fresh current warehouse."""
    reset_warehouse()
    yield
    reset_warehouse()


@pytest.fixture
def with_migrations(monkeypatch, tmp_path):
    """Point the bootstrap at the shipped migrations and the ones named here."""
    def use(**added: str) -> list:
        monkeypatch.setattr("ecommerce.schema.MIGRATIONS_DIR", migration_folder(tmp_path, **added))
        return migrations()
    return use


def test_a_warehouse_the_previous_release_built_upgrades_to_what_a_fresh_one_is(tmp_path):
    known = migrations()
    with connect(autocommit=True) as conn:
        drop_warehouse(conn)
        old = previous_release()
        assert "007_bi_reader.sql" in old.apply_schema(conn)
        assert conn.execute("select to_regclass(%s)", (VERSION_TABLE,)).fetchone() == (None,)
        assert catalog(conn) != {}, "the previous release built nothing"

        applied = apply_schema(conn)
        assert applied[:len(known)] == [migration.path.name for migration in known]
        assert recorded(conn) == [(migration.version, migration.name, True) for migration in known]
        upgraded = catalog(conn)

        drop_warehouse(conn)
        assert not set(apply_schema(conn)) & {migration.path.name for migration in known}
        assert recorded(conn) == [(migration.version, migration.name, False) for migration in known]
        fresh = catalog(conn)
    assert catalog_differences(upgraded, fresh) == {}
    # the queries saw the warehouse
    assert all(upgraded[kind] for kind in ("schemas", "relations", "columns", "constraints", "indexes", "functions",
                                           "sequences", "default privileges"))


def test_the_catalog_comparison_sees_a_difference(db):
    """A column's default, an index, a grant: each shows as a difference."""
    before = catalog(db)
    db.execute("alter table audit.task_runs alter column rows_read set default 1")
    db.execute("create index probe_idx on audit.task_runs (dag_id)")
    db.execute("grant select on audit.task_runs to bi_reader")
    differences = catalog_differences(catalog(db), before)
    assert set(differences) == {"columns", "indexes", "relations"}


def test_each_migration_runs_once_and_a_fresh_warehouse_runs_none(db, with_migrations):
    shipped = migrations()
    assert not set(apply_schema(db)) & {migration.path.name for migration in shipped}  # at the newest already

    forget_schema_version(db)  # built before migrations: version 0
    assert apply_schema(db)[:len(shipped)] == [migration.path.name for migration in shipped]
    assert not set(apply_schema(db)) & {migration.path.name for migration in shipped}
    assert [version for version, _, ran in recorded(db) if ran] == list(range(1, len(shipped) + 1))

    # a migration added later runs on the next bootstrap, and on none after it
    with_migrations(**{f"{len(shipped) + 1:04d}_count_bootstraps":
                       "create table if not exists audit.bootstraps (n int); insert into audit.bootstraps values (1);"})
    assert f"{len(shipped) + 1:04d}_count_bootstraps.sql" in apply_schema(db)
    apply_schema(db)
    assert db.execute("select count(*) from audit.bootstraps").fetchone() == (1,)
    assert recorded(db)[-1] == (len(shipped) + 1, "count_bootstraps", True)


def test_a_failing_migration_rolls_back_alone_and_leaves_the_version_before_it(db, with_migrations):
    shipped = len(migrations())
    with_migrations(**{f"{shipped + 1:04d}_works": "create table audit.first_step (x int);",
                       f"{shipped + 2:04d}_fails": "create table audit.half_done (x int); select 1 / 0;"})
    with pytest.raises(psycopg.errors.DivisionByZero):
        apply_schema(db)
    assert db.execute("select to_regclass('audit.first_step') is not null, to_regclass('audit.half_done') is null"
                      ).fetchone() == (True, True)
    assert db.execute(f"select max(version) from {VERSION_TABLE}").fetchone() == (shipped + 1,)
    # the bootstrap let go of its lock
    with connect(autocommit=True) as other:
        assert other.execute("select pg_try_advisory_lock(%s)", (BOOTSTRAP_LOCK_KEY,)).fetchone() == (True,)


def test_a_warehouse_newer_than_the_code_is_refused_and_left_alone(db):
    shipped = migrations()
    db.execute(f"insert into {VERSION_TABLE} (version, name, checksum, ran) values (%s, 'from_a_later_release', '', true)",
               (len(shipped) + 1,))
    db.execute("drop table warehouse.customer_totals")  # the schema files would create it
    with pytest.raises(SetupProblem) as refused:
        apply_schema(db)
    message = str(refused.value)
    assert f"version {len(shipped) + 1} (from_a_later_release)" in message
    assert f"{shipped[-1].version:04d}_{shipped[-1].name}" in message
    assert "does not downgrade" in message and "docs/operations.md" in message
    assert db.execute("select to_regclass('warehouse.customer_totals')").fetchone() == (None,)


def test_a_migration_edited_after_it_ran_is_reported(db, with_migrations, caplog):
    last = migrations()[-1]
    with_migrations(**{last.path.stem: last.sql + "\n-- edited\n"})
    with caplog.at_level(logging.WARNING, logger="ecommerce.schema"):
        apply_schema(db)
    assert f"migration {last.path.stem} has changed" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ecommerce.schema"):
        reset_warehouse()  # stamped with the present text
    assert "has changed" not in caplog.text


def test_migration_files_are_numbered_without_gaps(tmp_path):
    assert [migration.version for migration in migrations()] == list(range(1, len(migrations()) + 1))
    for names in (["0001_a.sql", "0003_c.sql"], ["0001_a.sql", "0001_b.sql"], ["1_a.sql"]):
        folder = tmp_path / "-".join(names)
        folder.mkdir()
        for name in names:
            (folder / name).write_text("select 1;")
        with pytest.raises(ValueError):
            migrations(folder)


def test_a_bootstrap_waits_for_another_and_then_finds_the_migrations_done(db):
    """Two runs starting at once: the second waits on the first's advisory lock, then reads the
    version the first left and runs nothing again."""
    import threading
    import time

    forget_schema_version(db)
    results = {}

    def bootstrap(name):
        with connect(autocommit=True) as conn:
            results[name] = apply_schema(conn)

    with connect(autocommit=True) as first:
        first.execute("select pg_advisory_lock(%s)", (BOOTSTRAP_LOCK_KEY,))  # a bootstrap under way
        waiting = threading.Thread(target=bootstrap, args=("second",))
        waiting.start()
        while waiting.is_alive() and not db.execute(
                "select exists (select from pg_locks where locktype = 'advisory' and not granted and objid = %s)",
                (BOOTSTRAP_LOCK_KEY,)).fetchone()[0]:
            time.sleep(0.01)
        assert db.execute("select to_regclass(%s)", (VERSION_TABLE,)).fetchone() == (None,)  # nothing ran yet
        first.execute("select pg_advisory_unlock(%s)", (BOOTSTRAP_LOCK_KEY,))
        waiting.join()
    bootstrap("third")
    shipped = {migration.path.name for migration in migrations()}
    assert shipped <= set(results["second"]) and not shipped & set(results["third"])
    assert len(recorded(db)) == len(shipped)


def test_a_bootstrap_finding_its_files_applied_locks_no_table_another_run_is_writing(db):
    """A run starting while another run's tasks hold their tables: before, its bootstrap applied
    the schema files again, waited on those tables while holding others (an index's table, a
    grant's catalog rows), and PostgreSQL failed a task to break the deadlock."""
    apply_schema(db)
    tables = [table for table in declared_tables() if table != APPLIED_TABLE]
    with connect() as tasks, connect(autocommit=True) as starting:
        tasks.execute(f"lock table {', '.join(tables)} in access exclusive mode")  # as a truncate holds it
        starting.execute("set lock_timeout = '5s'")  # a wait fails the test instead of hanging it
        assert apply_schema(starting) == []
        tasks.rollback()


def test_the_schema_files_apply_again_when_changed_by_another_role_or_the_catalog_drifted(db):
    apply_schema(db)
    assert apply_schema(db) == []
    assert {"audit.task_runs", "warehouse.fact_sales", "analytics.product_affinity", APPLIED_TABLE
            } <= set(declared_tables())

    db.execute(f"update {APPLIED_TABLE} set fingerprint = 'the files of an older release'")
    assert "007_bi_reader.sql" in apply_schema(db)
    assert apply_schema(db) == []

    db.execute(f"update {APPLIED_TABLE} set applied_by = 'another_role'")  # its default privileges
    assert "007_bi_reader.sql" in apply_schema(db)

    def bi_reader_reads_dim_date():
        return db.execute("select has_table_privilege('bi_reader', 'warehouse.dim_date', 'select')").fetchone()[0]

    for drift, repaired in [
        ("drop table analytics.product_affinity",
         lambda: db.execute("select to_regclass('analytics.product_affinity')").fetchone()[0] is not None),
        ("drop index production.transactions_batch_date_idx",
         lambda: db.execute("select to_regclass('production.transactions_batch_date_idx')").fetchone()[0] is not None),
        ("create or replace function warehouse.date_key(day date) returns integer language sql immutable "
         "return 0", lambda: db.execute("select warehouse.date_key('2026-05-01')").fetchone() == (20260501,)),
        ("revoke select on warehouse.dim_date from bi_reader", bi_reader_reads_dim_date),
    ]:
        db.execute(drift)
        assert apply_schema(db) != [], drift
        assert repaired(), drift
        assert apply_schema(db) == [], drift


def test_a_loaded_date_leaves_the_catalog_as_the_schema_files_left_it(tmp_path):
    """A date staged (its batch swapped in) and loaded (partitions made and attached, table
    models' keys dropped and built again) after the files applied: none of it is drift, or every
    run would apply the files again."""
    from conftest import load_after_staging, stage_generated

    shop = dict(seed=3, orders=20, customers=60, new_customers=2, products=20)
    stage_generated(tmp_path, ["2026-04-06"], shop)
    load_after_staging(["2026-04-06"])  # the files applied first
    stage_generated(tmp_path, ["2026-04-07"], shop, reset=False)
    load_after_staging(["2026-04-07"], clear=False)
    with connect(autocommit=True) as conn:
        assert apply_schema(conn) == []
