"""
# E-commerce analytics pipeline

One business date per run, end to end:

1. **bootstrap_schema** — bring the warehouse to the current schema: the numbered migrations
   it has not run (`include/sql/migrations`), then the DDL of `include/sql/schema` (unless
   applied as it is, the catalog as it left it);
   **claim_business_date** — wait while another run of the same date is running.
2. **generate** — write the date's raw CSVs with the generator, or take them from a landing
   folder (`source` = `landing`; `landing_intake` starts such a run when a folder's `_READY`
   marker appears).
3. **ingest_staging** — COPY each file into `staging`, replacing the date's batch.
4. **quality_checks** — declared checks on the batch; an error stops the run here.
5. **production** — typed, cleaned, de-duplicated 3NF tables; bad rows go to `quarantine`.
6. **warehouse** — SCD2 dimensions, `dim_date`, `fact_sales`, `agg_daily_sales`, and the
   monthly sales per customer and product the customer analytics read; the date counts as
   loaded (**loaded_dates**) once they pass their checks.
7. **analytics** — BI-ready tables, each declared in its model's home
   (`include/sql/analytics/<table>.sql`), a 14-day sales forecast (**forecast**) and the
   headline insights; publishing them updates the analytics Asset, which triggers
   `refresh_dashboards`.

Within a layer, a model runs after the models whose tables it needs; the others run beside it.
Each layer after staging ends with its **quality_gate**: the declared checks of
`include/quality/<layer>.yml` and of the layer's model homes, results in `audit.dq_results`; an
error stops the run there, as the staging gate does.

The business date is the data interval's start (a daily interval, UTC); a manual run may
name one with the `business_date` param. Every task replaces the date's data atomically, so
re-running a date — or clearing a task — gives the same result. Dates load in any order —
late, backfilled, repeated — and two dates may run at once: each model (and the forecast)
locks the tables its SQL writes, and shares a lock on those it reads (PostgreSQL advisory
locks, `ecommerce.table_locks`), so two dates' tasks run side by side unless one writes a
table the other touches; then they take turns.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import BaseOperator, CronDataIntervalTimetable, chain, dag, task, task_group

from ecommerce.assets import ANALYTICS_ASSET
from ecommerce.business_date import BUSINESS_DATE_TEMPLATE as BUSINESS_DATE
from ecommerce.business_date import business_date_of
from ecommerce.contract import RAW_TABLES
from ecommerce.freshness import freshness_deadline
from ecommerce.generation.config import MAX_DEFECT_RATE, MAX_ORDERS, GeneratorConfig
from ecommerce.models import MODEL_GLOBALS, layer_graph, task_id
from ecommerce.operators import CsvToStagingOperator, QualityGateOperator, SqlModelOperator
from ecommerce.params import param
from ecommerce.settings import MAX_ACTIVE_RUNS, SQL_DIR, WAREHOUSE_CONN_ID
from ecommerce.task_defaults import task_defaults
from ecommerce.template_cache import TEMPLATE_CACHE

GENERATOR_DEFAULTS = GeneratorConfig()

#: The SQL models of each layer (``include/sql/<layer>/<model>.sql``), each with the models of its
#: layer it runs after; the others of the layer run beside it (tests/dags checks this against
#: what their SQL reads and writes). The first models of a layer start when the layer before it
#: is done.
PRODUCTION_MODELS = {
    "010_customers": [],
    "020_categories": [],
    "030_brands": [],
    "040_products": ["020_categories", "030_brands"],
    # products keeps the products an order line names, which transactions rewrites
    "050_transactions": ["010_customers", "040_products"],
    "060_transaction_items": ["050_transactions"],
}
WAREHOUSE_MODELS = {
    "010_dim_date": [],
    "020_dim_customers": [],
    "030_dim_products": [],
    "040_fact_sales": ["020_dim_customers", "030_dim_products"],
    "050_agg_daily_sales": ["010_dim_date", "040_fact_sales"],  # its date_key is a foreign key
    "060_customer_monthly_sales": ["040_fact_sales"],
    "070_product_monthly_sales": ["040_fact_sales"],
    # the date counts as loaded once all of its warehouse is, and passed its checks
    "080_loaded_dates": ["050_agg_daily_sales", "060_customer_monthly_sales", "070_product_monthly_sales"],
}
#: The analytics models: one per table, each file its table's home (ecommerce.models); each runs
#: after the tasks that write the tables its SQL reads, derived from the SQL itself.
ANALYTICS_MODELS = layer_graph("analytics")


def sql_models(layer: str, models: dict[str, list[str]], others=None,
               after_checks: str | None = None) -> dict[str, BaseOperator]:
    """One task per model file of ``include/sql/<layer>``, after the models it names (or the
    ``others``, the layer's Python tasks by task id), and the layer's quality gate (the checks of
    ``include/quality/<layer>.yml`` and of the layer's model homes) after the last of them — or,
    for the model ``after_checks``, between it and the models it names."""
    tasks = {
        model: SqlModelOperator(task_id=task_id(model), sql=f"{layer}/{model}.sql",
                                business_date=BUSINESS_DATE, conn_id=WAREHOUSE_CONN_ID)
        for model in models
    }
    gate = QualityGateOperator(task_id="quality_gate", layer=layer, business_date=BUSINESS_DATE,
                               conn_id=WAREHOUSE_CONN_ID)
    for model, upstream in models.items():
        before = [tasks.get(name) or (others or {}).get(name) for name in upstream]
        if None in before:
            raise ValueError(f"{layer}/{model}.sql runs after {upstream}: a task of the layer writes each table")
        if model == after_checks:
            gate.set_upstream(before)
            before = [gate]
        tasks[model].set_upstream(before)
    if after_checks is None:
        gate.set_upstream([task for task in [*tasks.values(), *(others or {}).values()] if not task.downstream_list])
    return {**tasks, "quality_gate": gate}


@dag(
    dag_id="ecommerce_pipeline",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=MAX_ACTIVE_RUNS,
    # A date not loaded ECOMMERCE_FRESHNESS_HOURS after its interval ends is alerted (ecommerce.freshness).
    deadline=freshness_deadline(),
    default_args=task_defaults(execution_timeout=timedelta(minutes=30), max_retry_delay=timedelta(minutes=10)),
    doc_md=__doc__,
    tags=["ecommerce", "warehouse"],
    # SqlModelOperator's model files (and the macros they import) are templates found here.
    template_searchpath=[str(SQL_DIR)],
    # Each task's template environment is new: compiled model files carry over (ecommerce.template_cache).
    jinja_environment_kwargs={"bytecode_cache": TEMPLATE_CACHE},
    # What a model file may call besides its macros (the dimensions: the models they make stale).
    user_defined_macros=MODEL_GLOBALS,
    params={
        "business_date": param(None, type=["null", "string"], format="date",
                               pattern=r"^\d{4}-\d{2}-\d{2}$",
                               description="the business date to load; empty: the data interval's start "
                                           "(the day before the run's logical date)"),
        "source": param("generate", enum=["generate", "landing"],
                        description="generate the raw files, or read them from the landing folder"),
        "landing_dir": param(None, type=["null", "string"],
                             description="landing folder (default: <data root>/landing)"),
        "orders": param(GENERATOR_DEFAULTS.orders, type="integer", minimum=1, maximum=MAX_ORDERS,
                        description="average orders per weekday"),
        "defect_rate": param(GENERATOR_DEFAULTS.defect_rate, type="number", minimum=0, maximum=MAX_DEFECT_RATE,
                             description="share of generated rows given a labelled defect (0: none)"),
        "fail_once": param(None, type=["null", "string"],
                           description="a task id that fails its first try on purpose, to watch a retry"),
    },
)
def ecommerce_pipeline():
    @task
    def bootstrap_schema() -> list[str]:
        """Run the migrations the warehouse has not run, then include/sql/schema/*.sql in order
        unless they are applied as they are (ecommerce.schema.schema_is_current)."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from ecommerce.failures import fail_fast
        from ecommerce.schema import apply_schema

        with fail_fast(), PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID).get_conn() as conn:
            return apply_schema(conn)

    @task
    def claim_business_date(**context) -> str:
        """Wait while another run of the same business date is queued or running, then claim it."""
        from ecommerce.date_claims import claim_for_run

        return claim_for_run(context, WAREHOUSE_CONN_ID)

    @task_group
    def generate():
        @task
        def raw_files(**context) -> str:
            """The folder of the date's raw files: generated now (recorded in audit.task_runs), or
            found in the landing folder."""
            from ecommerce.failures import fail_fast
            from ecommerce.sources import generated_folder_recorded, landing_folder

            with fail_fast():
                params, business_date = context["params"], business_date_of(context)
                if params["source"] == "landing":
                    return str(landing_folder(params["landing_dir"], business_date))
                return str(generated_folder_recorded(context, WAREHOUSE_CONN_ID, business_date,
                                                     orders=params["orders"], defect_rate=params["defect_rate"]))

        return raw_files()

    @task_group
    def ingest_staging(source_dir):
        return [
            CsvToStagingOperator(task_id=table, table=table, source_dir=source_dir,
                                 business_date=BUSINESS_DATE, conn_id=WAREHOUSE_CONN_ID)
            for table in RAW_TABLES
        ]

    @task_group
    def quality_checks():
        QualityGateOperator(task_id="staging_gate", checks_file="staging.yml",
                            business_date=BUSINESS_DATE, conn_id=WAREHOUSE_CONN_ID)

    @task_group
    def production():
        sql_models("production", PRODUCTION_MODELS)

    @task_group
    def warehouse():
        sql_models("warehouse", WAREHOUSE_MODELS, after_checks="080_loaded_dates")

    @task_group
    def analytics():
        @task(outlets=[ANALYTICS_ASSET])
        def publish_insights() -> list[str]:
            """Log the headline insights; updating the Asset refreshes the dashboards."""
            from ecommerce.insights import log_insights

            return log_insights(WAREHOUSE_CONN_ID)

        @task
        def forecast(**context) -> int:
            """Forecast daily net revenue for the next 14 days (total and per category) with the
            model a rolling-origin backtest chose per series; reads daily aggregates only."""
            from ecommerce.forecast import run

            return run(context, WAREHOUSE_CONN_ID)

        # the dashboards read every table: published once every analytics task is done and checked
        models = sql_models("analytics", ANALYTICS_MODELS, others={"forecast": forecast().operator})
        chain(models["quality_gate"], publish_insights())

    raw = generate()
    chain(bootstrap_schema(), claim_business_date(), raw, ingest_staging(raw), quality_checks(), production(), warehouse(),
          analytics())


ecommerce_pipeline()
