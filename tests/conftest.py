"""Shared fixtures. Importing this sets up the test environment before Airflow is imported:
an embedded PostgreSQL database ``ecommerce_test`` (or AIRFLOW_CONN_ECOMMERCE_WAREHOUSE), an
AIRFLOW_HOME with SQLite metadata under ``.local/test``, and a data folder beside it. Each
pytest-xdist worker of ``make test`` has its own (``ecommerce_test_gw0``, ``.local/test/gw0/``…).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from ecommerce_local import environment

#: What the environment held before this set it up. pytest-xdist's workers inherit the
#: controlling process's environment: each puts these back, then sets up its own profile.
ORIGINAL_ENVIRONMENT = "ECOMMERCE_TEST_ORIGINAL_ENVIRONMENT"
for name, value in json.loads(os.environ.pop(ORIGINAL_ENVIRONMENT, "{}")).items():
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
_test_environment = environment.build(environment.test_profile(os.environ.get("PYTEST_XDIST_WORKER")))
_original = {name: os.environ.get(name) for name, value in _test_environment.items() if os.environ.get(name) != value}
os.environ.update(_test_environment)
os.environ[ORIGINAL_ENVIRONMENT] = json.dumps(_original)

import psycopg  # noqa: E402

from ecommerce.dashboards.lineage import events_file  # noqa: E402
from ecommerce.schema import PIPELINE_SCHEMAS, VERSION_TABLE  # noqa: E402
from ecommerce_local.warehouse import psycopg_conninfo  # noqa: E402

# The OpenLineage events of this session only (the file transport appends to its file).
if (LINEAGE_EVENTS := events_file()) is not None:
    LINEAGE_EVENTS.unlink(missing_ok=True)


#: pytest's cache entry of the seconds each test module's tests took in the last run that ran any.
MODULE_SECONDS = "ecommerce/module_seconds"


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class LongestModulesFirst:
    """Deal the test modules out to pytest-xdist's workers longest first, by the seconds each took
    in the last run (pytest's cache, .pytest_cache/); the modules not measured yet before them,
    most tests first (xdist's own order). ``--dist loadfile`` gives each worker a module whole, by
    default those with the most tests first: a module of five long tests then started last and
    ran alone at the end while the other worker waited. The controller reads the cache once and
    hands it to every worker (their collections must agree); a run in one process keeps the
    collection's order, and only records the seconds."""

    def __init__(self, config: pytest.Config):
        workerinput = getattr(config, "workerinput", None)
        self.controller = workerinput is None
        self.config = config
        self.seconds: dict[str, float] = (config.cache.get(MODULE_SECONDS, {}) if self.controller
                                          else workerinput.get(MODULE_SECONDS, {}))
        self.measured: dict[str, float] = {}
        if self.seconds and hasattr(config.option, "loadscopereorder"):
            config.option.loadscopereorder = False  # xdist keeps the collection's order

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        node.workerinput[MODULE_SECONDS] = self.seconds

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.controller or not self.seconds:
            return
        tests = Counter(module_of(item.nodeid) for item in items)  # in the collection's order
        first_seen = {module: index for index, module in enumerate(tests)}

        def rank(module: str) -> tuple:
            seconds = self.seconds.get(module)
            return (0, -tests[module]) if seconds is None else (1, -seconds), first_seen[module]

        ranks = {module: rank(module) for module in tests}
        items.sort(key=lambda item: ranks[module_of(item.nodeid)])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.controller:
            module = module_of(report.nodeid)
            self.measured[module] = self.measured.get(module, 0.0) + report.duration

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.controller and self.measured and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) \
                and not session.shouldstop and not session.shouldfail:
            self.config.cache.set(MODULE_SECONDS, {**self.seconds, **{
                module: round(seconds, 2) for module, seconds in self.measured.items()}})


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config, "cache", None) is not None:
        config.pluginmanager.register(LongestModulesFirst(config), "ecommerce_longest_modules_first")


def connect(**kwargs) -> psycopg.Connection:
    return psycopg.connect(psycopg_conninfo(os.environ[environment.WAREHOUSE_ENV]), **kwargs)


def free_port() -> int:
    """A loopback TCP port free now (other processes may hold the usual ones), below the
    kernel's ephemeral range: a port the kernel hands out itself (``bind`` to port 0) can be
    given to the next outgoing connection before the server that was to listen on it starts."""
    try:
        first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 32768
    below = range(10000, first_ephemeral)
    for port in random.sample(below, k=min(200, len(below))):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # every candidate taken: the kernel's choice
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def drop_warehouse(conn) -> None:
    """Drop every pipeline schema: what remains is a fresh warehouse to the bootstrap."""
    for schema in PIPELINE_SCHEMAS:
        conn.execute(f"drop schema if exists {schema} cascade")


def run_model_until(conn, model: str, phrase: str, business_date: str) -> tuple[str, dict]:
    """Run on ``conn`` the statements of the model file ``model`` before its first that holds
    ``phrase``, binding what their results bind as SqlModelOperator does; that statement and the
    parameters it runs with (to plan it)."""
    from ecommerce.models import bound_results, model_statements

    statements = model_statements(model)
    at = next(number for number, statement in enumerate(statements) if phrase in statement)
    params = {"business_date": business_date}
    for statement in statements[:at]:
        params.update(bound_results(conn.execute(statement, params), statements, params))
    return statements[at], params


def plan_nodes(plan: dict):
    """Every node of an ``explain (format json)`` plan, the root first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def reset_warehouse() -> None:
    """Drop every pipeline schema, then apply the schema files: an empty, current warehouse."""
    from ecommerce.schema import apply_schema

    with connect(autocommit=True) as conn:
        drop_warehouse(conn)
        apply_schema(conn)


def forget_schema_version(conn) -> None:
    """Make the warehouse look built by a release before numbered migrations (version 0): the
    next bootstrap runs every migration on it."""
    conn.execute(f"drop table {VERSION_TABLE}")


@pytest.fixture
def db():
    """An autocommit connection to the test warehouse."""
    with connect(autocommit=True) as conn:
        yield conn


@pytest.fixture
def empty_warehouse():
    reset_warehouse()


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A private data root for one test."""
    monkeypatch.setenv("ECOMMERCE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def task_context(task_id: str = "test_task", run_id: str = "test_run") -> dict:
    """The part of an Airflow context the operators read, for calling ``execute`` directly."""
    ti = SimpleNamespace(dag_id="tests", run_id=run_id, task_id=task_id, try_number=1)
    return {"ti": ti, "run_id": run_id}


@pytest.fixture(scope="session")
def clean_test_data():
    shutil.rmtree(os.environ["ECOMMERCE_DATA_DIR"], ignore_errors=True)
    Path(os.environ["ECOMMERCE_DATA_DIR"]).mkdir(parents=True)


def stage_rows(db, table: str, date: str, rows: list[dict]) -> None:
    """Replace the date's staging batch of ``table`` with ``rows`` (dicts of contract columns)."""
    partition = f"staging.{table}_{date.replace('-', '')}"
    db.execute(f"drop table if exists {partition}")
    db.execute(f"create table {partition} partition of staging.{table} for values in ('{date}')")
    for number, row in enumerate(rows, start=2):
        names = ", ".join(row)
        marks = ", ".join(["%s"] * len(row))
        db.execute(
            f"insert into staging.{table} ({names}, batch_date, source_file, source_line, loaded_at) "
            f"values ({marks}, %s, 'fixture.csv', %s, now())", (*row.values(), date, number))


def model_order(models: dict[str, list[str]], choose=None) -> list[str]:
    """A layer's models (the DAG's ``*_MODELS``) in an order the DAG may run them: each after
    the models it names (a Python task it names, the forecast, is not run here). ``choose``
    picks the next one among those ready, as the scheduler may; by default the first ready one
    in file order."""
    done: list[str] = []
    while len(done) < len(models):
        ready = [model for model, upstream in models.items()
                 if model not in done and set(upstream) & models.keys() <= set(done)]
        done.append(choose(ready) if choose else ready[0])
    return done


def run_models(date: str, layers: tuple[str, ...] = ("production", "warehouse"), choose=None,
               checked: bool = True) -> None:
    """Run the DAG's SQL models of ``layers`` for the date, each in a transaction of its own, in
    file order or as ``choose`` picks (``model_order``), and after each layer its declared
    checks (``quality.checks.layer_checks``), as its quality gate would: every one must pass
    (``checked``; a test that breaks a layer on purpose runs them itself).

    They share one connection, its session reset between models (``discard all``, as a
    connection pool resets a session it hands out again), so no model sees what another left in
    its session, as with the new connection each task has; a new backend per model would take
    three quarters of a small date's time here (its catalog caches start empty). Statements are
    not prepared on the server: ``discard all`` would drop them under psycopg.
    """
    import ecommerce_pipeline as pipeline
    from ecommerce.operators import SqlModelOperator

    models = {"production": pipeline.PRODUCTION_MODELS, "warehouse": pipeline.WAREHOUSE_MODELS,
              "analytics": pipeline.ANALYTICS_MODELS}
    with connect(autocommit=True, prepare_threshold=None) as conn:
        for layer in layers:
            for model in model_order(models[layer], choose):
                SqlModelOperator(task_id=model, sql=f"{layer}/{model}.sql", business_date=date).run(
                    conn, task_context(f"{layer}.{model}"))
                conn.execute("discard all")
            if checked:
                assert_declared_checks_pass(conn, layer, date)


def assert_declared_checks_pass(conn, layer: str, date: str) -> None:
    """Every check of the layer's gate (``quality.checks.layer_checks``) passes for the date
    (warnings too)."""
    from ecommerce.quality import engine
    from ecommerce.quality.checks import layer_checks

    with conn.cursor() as cursor:
        results = engine.evaluate_all(cursor, layer_checks(layer), date)
    failed = {result.check.name: result.sample for result in results if result.status != "pass"}
    assert failed == {}, f"{layer} checks of {date}:\n{engine.format_table(results)}"


def table_checksum(cursor, schema: str, table: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of every row's content."""
    cursor.execute(
        f"select count(*), coalesce(md5(string_agg(md5(t::text), '' order by md5(t::text))), '') "
        f"from {schema}.{table} t"
    )
    return cursor.fetchone()


#: Tables whose content is not the same from one load order to another, with why: every other table
#: of the pipeline's schemas (from the catalog) is compared, as ``CONTENT_QUERIES`` gives it or whole.
NOT_COMPARED = {
    "audit.task_runs": "each task's timings and counts of its own run",
    "audit.dq_results": "each check's outcome per run, with when it ran",
    "audit.batch_measures": "the measure of each staged batch as loaded, with its partition",
    "audit.date_claims": "which run holds a date while it loads",
    "audit.schema_migrations": "when each migration was recorded",
    "audit.schema_applied": "when the schema files were last applied",
}

#: Pipeline tables whose content needs a query not to depend on load order: surrogate and identity
#: keys replaced by what they point at (natural key and validity), timestamps of the load left out.
CONTENT_QUERIES = {
    "production.customers": "select * from production.customers",
    "production.categories": "select category_name from production.categories",
    "production.brands": "select brand_name from production.brands",
    "production.products":
        "select p.product_id, p.product_name, c.category_name, b.brand_name, p.unit_price, p.cost, p.is_active, "
        "p.updated_at, p.deleted_on from production.products p "
        "join production.categories c using (category_id) join production.brands b using (brand_id)",
    "production.transactions": "select * from production.transactions",
    "production.transaction_items": "select * from production.transaction_items",
    "production.customer_snapshots": "select * from production.customer_snapshots",
    "production.product_snapshots":
        "select s.batch_date, s.product_id, s.product_name, c.category_name, b.brand_name, s.unit_price, s.cost, "
        "s.is_active, s.updated_at, s.attribute_hash, s.row_hash, s.source_line from production.product_snapshots s "
        "left join production.categories c using (category_id) left join production.brands b using (brand_id)",
    "production.snapshot_dates": "select * from production.snapshot_dates",
    "production.changed_keys": "select * from production.changed_keys",
    "quarantine.rejected_rows":
        "select source_table, batch_date, source_line, stage, reason, record_key, case when stage = 'production' "
        "then (raw_record::jsonb - 'loaded_at')::text else raw_record end from quarantine.rejected_rows",
    "audit.duplicates_collapsed": "select * from audit.duplicates_collapsed",
    "audit.loaded_dates": "select business_date from audit.loaded_dates",
    "warehouse.dim_date": "select * from warehouse.dim_date",
    "warehouse.dim_customers":
        "select customer_id, first_name, last_name, email, city, state, country, signup_date, attribute_hash, "
        "valid_from::text, valid_to::text, is_current from warehouse.dim_customers",
    "warehouse.dim_products":
        "select product_id, product_name, category_name, brand_name, unit_price, cost, is_active, attribute_hash, "
        "valid_from::text, valid_to::text, is_current from warehouse.dim_products",
    "warehouse.fact_sales":
        "select f.date_key, c.customer_id, c.valid_from::text as customer_valid_from, p.product_id, "
        "p.valid_from::text as product_valid_from, f.transaction_id, f.line_number, f.transaction_ts, f.quantity, "
        "f.unit_price, f.discount, f.gross_amount, f.net_amount, f.status from warehouse.fact_sales f "
        "join warehouse.dim_customers c using (customer_sk) join warehouse.dim_products p using (product_sk)",
    "warehouse.agg_daily_sales": "select * from warehouse.agg_daily_sales",
    "warehouse.customer_first_orders": "select * from warehouse.customer_first_orders",
    "warehouse.stale_dates": "select * from warehouse.stale_dates",
    "warehouse.new_customer_changes": "select * from warehouse.new_customer_changes",
    "warehouse.customer_daily_sales": "select * from warehouse.customer_daily_sales",
    "warehouse.customer_monthly_sales": "select * from warehouse.customer_monthly_sales",
    "warehouse.customer_totals": "select * from warehouse.customer_totals",
    "warehouse.product_daily_sales": "select * from warehouse.product_daily_sales",
    "warehouse.product_monthly_sales": "select * from warehouse.product_monthly_sales",
}


#: Market-basket figures computed straight from the facts, written apart from the models
#: (analytics/basket_pairs.sql, product_affinity.sql): what product_affinity must equal.
AFFINITY_FROM_FACTS = """
with lines as (
    select distinct facts.transaction_id, products.product_id, products.category_name
    from warehouse.fact_sales as facts
    inner join warehouse.dim_products as products using (product_sk)
    where facts.status = 'completed' and products.product_id <> -1
),
items as (
    select transaction_id, 'product' as pair_level, product_id::text as item from lines
    union
    select transaction_id, 'category', category_name from lines
),
item_orders as (select pair_level, item, count(*) as orders from items group by 1, 2),
pairs as (
    select a.pair_level, a.item as item_a, b.item as item_b, count(*) as orders
    from items as a inner join items as b
        on b.transaction_id = a.transaction_id and b.pair_level = a.pair_level and b.item > a.item
    group by 1, 2, 3
),
n as (select count(distinct transaction_id) as orders from warehouse.fact_sales where status = 'completed')
select pairs.pair_level, pairs.item_a, pairs.item_b, pairs.orders, a.orders, b.orders,
    round(pairs.orders::numeric / n.orders, 6), round(pairs.orders::numeric / a.orders, 4),
    round(pairs.orders::numeric / b.orders, 4), round(pairs.orders::numeric * n.orders / (a.orders * b.orders), 4)
from pairs
inner join item_orders as a on (a.pair_level, a.item) = (pairs.pair_level, pairs.item_a)
inner join item_orders as b on (b.pair_level, b.item) = (pairs.pair_level, pairs.item_b)
cross join n
"""


def assert_affinity_matches_the_facts() -> None:
    """analytics.product_affinity equals AFFINITY_FROM_FACTS over the warehouse as it is, and
    holds pairs of both levels."""
    with connect() as conn:
        expected = sorted(conn.execute(AFFINITY_FROM_FACTS).fetchall())
        actual = sorted(conn.execute(
            "select pair_level, item_a, item_b, orders_together, orders_a, orders_b, support, confidence_a_to_b, "
            "confidence_b_to_a, lift from analytics.product_affinity").fetchall())
    assert {row[0] for row in expected} == {"product", "category"}, "no pairs to compare"
    different = ([row for row in actual if row not in expected][:3], [row for row in expected if row not in actual][:3])
    assert actual == expected, f"product_affinity (first rows only it has, only the facts give): {different}"


def warehouse_content(db, schemas: tuple[str, ...] = ("production", "quarantine", "audit", "warehouse",
                                                      "analytics")) -> dict[str, list[tuple]]:
    """Every table of ``schemas`` (from the catalog: a new table is compared without a word here)
    as sorted rows, comparable between two warehouses; ``NOT_COMPARED`` left out."""
    tables = [table for (table,) in db.execute(
        "select format('%%s.%%s', namespace.nspname, class.relname) from pg_class as class "
        "inner join pg_namespace as namespace on namespace.oid = class.relnamespace "
        "where namespace.nspname = any(%s) and class.relkind in ('r', 'p') and not class.relispartition "
        "order by 1", (list(schemas),))]
    content = {}
    for table in tables:
        if table not in NOT_COMPARED:
            rows = db.execute(CONTENT_QUERIES.get(table, f"select * from {table}")).fetchall()
            content[table] = sorted(rows, key=repr)
    return content


def assert_same_content(actual: dict, expected: dict) -> None:
    """Equal content, with the first differing rows of each table in the message."""
    different = {}
    for table in expected:
        if actual[table] != expected[table]:
            extra = [row for row in actual[table] if row not in expected[table]][:3]
            missing = [row for row in expected[table] if row not in actual[table]][:3]
            different[table] = {"unexpected": extra, "missing": missing}
    assert not different, f"tables differ from the oldest-first load: {different}"


#: The layers a business date's load runs after staging.
LOADED_LAYERS = ("production", "warehouse", "analytics")


def stage_generated(raw: Path, dates: list[str], shop: dict, reset: bool = True) -> None:
    """An empty warehouse (the warehouse as it is: ``reset`` false) with each date's generated
    raw files staged (written under ``raw``)."""
    from datetime import date

    from ecommerce.contract import RAW_TABLES
    from ecommerce.generation.config import GeneratorConfig
    from ecommerce.generation.writer import generate_day
    from ecommerce.operators import CsvToStagingOperator

    if reset:
        reset_warehouse()
    for business_date in dates:
        generate_day(GeneratorConfig(**shop), date.fromisoformat(business_date), raw)
        for table in RAW_TABLES:
            CsvToStagingOperator(task_id=table, table=table, source_dir=str(raw / business_date),
                                 business_date=business_date).execute(task_context(f"ingest_staging.{table}"))


def clear_all_but_staging() -> None:
    """Empty every layer after staging (staging batches and their quarantined lines stay)."""
    from ecommerce.schema import apply_schema

    with connect(autocommit=True) as conn:
        tables = conn.execute(
            "select format('%%I.%%I', schemaname, tablename) from pg_tables where schemaname = any(%s) "
            "and format('%%I.%%I', schemaname, tablename) <> %s",
            ([s for s in PIPELINE_SCHEMAS if s not in ("staging", "quarantine")], VERSION_TABLE)).fetchall()
        conn.execute(f"truncate {', '.join(t for (t,) in tables)} restart identity cascade")
        conn.execute("delete from quarantine.rejected_rows where stage <> 'staging'")
        apply_schema(conn)  # the unknown members again (audit.schema_applied emptied above: the files apply)


def load_after_staging(dates: list[str], clear: bool = True, choose=None) -> dict:
    """Load staged dates, in the order given, through every later layer (each layer's models in
    file order or as ``choose`` picks, ``model_order``); return the content."""
    if clear:
        clear_all_but_staging()
    for business_date in dates:
        run_models(business_date, LOADED_LAYERS, choose)
    with connect() as conn:
        conn.execute("set timezone = 'UTC'")
        return warehouse_content(conn)
