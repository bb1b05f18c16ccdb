"""The whole DAG through ``dag.test()`` on the real PostgreSQL: every layer filled, re-runs stable."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import connect, reset_warehouse, table_checksum

pytestmark = pytest.mark.e2e

BUSINESS_DATE = "2026-11-20"
PRODUCTION_TABLES = ("customers", "categories", "brands", "products", "transactions", "transaction_items")
WAREHOUSE_TABLES = ("dim_date", "dim_customers", "dim_products", "fact_sales", "agg_daily_sales")
ANALYTICS_TABLES = ("daily_kpis", "revenue_by_category", "sales_by_weekday", "top_products",
                    "customer_revenue_mix", "insights")


def load_dag():
    from airflow.dag_processing.dagbag import DagBag

    from ecommerce.settings import PROJECT_ROOT

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("ecommerce_pipeline")


def run_dag(dag, business_date: str, **conf):
    """One DAG run for the date, as a scheduled run of that interval would see it."""
    interval_end = datetime.fromisoformat(business_date).replace(tzinfo=timezone.utc) + timedelta(days=1)
    return dag.test(logical_date=interval_end, run_conf={"business_date": business_date, "orders": 300, **conf})


def run_pipeline(business_date: str, **conf):
    return run_dag(load_dag(), business_date, **conf)


def snapshot(tables_by_schema: dict[str, tuple[str, ...]]) -> dict[str, tuple[int, str]]:
    with connect() as conn, conn.cursor() as cursor:
        return {f"{schema}.{table}": table_checksum(cursor, schema, table)
                for schema, tables in tables_by_schema.items() for table in tables}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    import os

    os.environ["ECOMMERCE_DATA_DIR"] = str(tmp_path_factory.mktemp("e2e-data"))
    reset_warehouse()
    return run_pipeline(BUSINESS_DATE)


def test_run_succeeds(first_run):
    assert first_run.state == "success"


def test_every_layer_has_rows(first_run):
    counts = snapshot({
        "staging": ("customers", "products", "transactions", "transaction_items"),
        "production": PRODUCTION_TABLES,
        "warehouse": WAREHOUSE_TABLES,
        "analytics": ANALYTICS_TABLES,
    })
    empty = [name for name, (rows, _) in counts.items() if rows == 0]
    assert empty == []


def test_every_task_wrote_an_audit_row(first_run):
    with connect() as conn:
        tasks = {row[0] for row in conn.execute(
            "select task_id from audit.task_runs where run_id = %s and business_date = %s",
            (first_run.run_id, BUSINESS_DATE))}
    assert {"ingest_staging.transaction_items", "quality_checks.staging_gate",
            "production.customers", "warehouse.fact_sales", "analytics.insights"} <= tasks


def test_staged_lines_all_reach_the_facts_or_quarantine(first_run):
    with connect() as conn:
        staged, facts, rejected = conn.execute(
            """
            select (select count(*) from staging.transaction_items where batch_date = %(d)s),
                   (select count(*) from warehouse.fact_sales
                    where date_key = to_char(%(d)s::date, 'YYYYMMDD')::int),
                   (select count(*) from quarantine.rejected_rows
                    where source_table = 'transaction_items' and batch_date = %(d)s)
            """, {"d": BUSINESS_DATE}).fetchone()
    assert staged > 0
    assert staged == facts + rejected


def test_second_run_for_the_same_date_leaves_identical_content(first_run):
    tables = {"production": PRODUCTION_TABLES, "warehouse": WAREHOUSE_TABLES}
    before = snapshot(tables)
    second = run_pipeline(BUSINESS_DATE)
    assert second.state == "success"
    assert snapshot(tables) == before


def test_make_run_runs_every_date_in_one_airflow_process_each_a_dag_run(first_run, capfd):
    import os
    from types import SimpleNamespace

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from ecommerce.local.pipeline_run import run

    args = SimpleNamespace(date="2026-11-22", days=2, start="", source="generate", landing="", orders=300)
    began = datetime.now(timezone.utc)
    assert run(args, dict(os.environ)) == 0
    ended = datetime.now(timezone.utc)
    output = capfd.readouterr().out
    # One runner process for every date (each dag.test() also re-reads its own file: BundleDagBag).
    assert output.count("[airflow.dag_processing.dagbag.DagBag]") == 1, "one process, one parse of the folder"
    for line in ("==> [1/2] ecommerce_pipeline for business date 2026-11-21",
                 "==> [2/2] ecommerce_pipeline for business date 2026-11-22", "==> refresh_dashboards",
                 "2 business date(s) processed"):
        assert line in output
    for business_date in ("2026-11-21", "2026-11-22"):
        logical = datetime.fromisoformat(business_date).replace(tzinfo=timezone.utc) + timedelta(days=1)
        runs = DagRun.find(dag_id="ecommerce_pipeline", logical_date=logical)
        assert [(r.state, r.conf["business_date"]) for r in runs] == [("success", business_date)]
        # the UI shows the business date and the run's real duration
        with create_session() as session:
            stored = session.get(DagRun, runs[0].id)
            assert stored.note == f"make run: business date {business_date}"
            assert began <= stored.start_date <= stored.end_date <= ended
    with connect() as conn:
        loaded = conn.execute("select business_date::text from audit.loaded_dates order by 1").fetchall()
    assert loaded == [("2026-11-20",), ("2026-11-21",), ("2026-11-22",)]
