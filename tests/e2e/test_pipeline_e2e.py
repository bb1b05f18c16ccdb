"""The whole DAG through ``dag.test()`` on the real PostgreSQL: every layer filled, re-runs stable."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import pytest

from conftest import connect, reset_warehouse, table_checksum

from ecommerce.models import homes

pytestmark = pytest.mark.e2e

BUSINESS_DATE = "2026-11-20"
PRODUCTION_TABLES = ("customers", "categories", "brands", "products", "transactions", "transaction_items")
WAREHOUSE_TABLES = ("dim_date", "dim_customers", "dim_products", "fact_sales", "agg_daily_sales")
#: Every analytics table but the forecast's, which needs more than one date.
ANALYTICS_TABLES = tuple(model.name for model in homes("analytics") if model.materialized != "python")


def load_dag():
    from airflow.dag_processing.dagbag import DagBag

    from ecommerce.settings import PROJECT_ROOT

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("ecommerce_pipeline")


@contextmanager
def dag_test_looking_again_at_once(dag) -> Iterator[None]:
    """While ``dag.test()`` runs, its wait for a task that can run is 0.05 s, not 1 s.

    Airflow 3.3's ``dag.test()`` sleeps a second whenever no task can run, and a failure reaches
    one more layer of the tasks below it per look: a run failing at its first task waited 12 s
    before it ended. Only the sleeps of ``DAG.test`` itself are shortened, not a task's."""
    test_code, sleep = type(dag).test.__code__, time.sleep

    def sleep_of(seconds: float) -> None:
        sleep(min(seconds, 0.05) if sys._getframe(1).f_code is test_code else seconds)

    with patch("time.sleep", sleep_of):
        yield


def run_dag(dag, business_date: str, **conf):
    """One DAG run for the date, as a scheduled run of that interval would see it."""
    from ecommerce.freshness import without_deadline

    interval_end = datetime.fromisoformat(business_date).replace(tzinfo=timezone.utc) + timedelta(days=1)
    with dag_test_looking_again_at_once(dag):
        return without_deadline(dag).test(logical_date=interval_end,
                                          run_conf={"business_date": business_date, "orders": 300, **conf})


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
    import json

    from ecommerce.settings import raw_dir

    with connect() as conn:
        written = dict(conn.execute(
            "select task_id, rows_written from audit.task_runs where run_id = %s and business_date = %s",
            (first_run.run_id, BUSINESS_DATE)).fetchall())
    assert {"generate.raw_files", "ingest_staging.transaction_items", "quality_checks.staging_gate",
            "production.customers", "warehouse.fact_sales", "analytics.insights"} <= set(written)
    # the generator's rows: the data lines of the files it wrote
    manifest = json.loads((raw_dir(BUSINESS_DATE) / "manifest.json").read_text())
    assert written["generate.raw_files"] == sum(file["rows"] for file in manifest["files"].values()) > 0


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


def test_make_run_runs_the_dates_in_lanes_each_a_dag_run_its_log_in_date_order(first_run, capfd, tmp_path):
    """On a new Airflow home holding the DAGs as they were before an edit (a tag fewer), as the
    first `make run` after one: the lanes store the edited DAGs one at a time (two at once both
    inserted the new tag, and one failed: dag_runs.store_dags)."""
    import os
    import shutil
    import subprocess
    import sys
    from types import SimpleNamespace

    from airflow.models.dag import DagTag
    from airflow.models.dagrun import DagRun
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from ecommerce.settings import PROJECT_ROOT, available_cores
    from ecommerce_local.environment import migrate_metadata
    from ecommerce_local.lanes import lane_count
    from ecommerce_local.pipeline_run import run

    home = tmp_path / "airflow"
    migrate_metadata(home, dict(os.environ))
    before_the_edit = tmp_path / "dags"
    shutil.copytree(PROJECT_ROOT / "dags", before_the_edit, ignore=shutil.ignore_patterns("__pycache__"))
    dag_file = before_the_edit / "ecommerce_pipeline.py"
    tags = 'tags=["ecommerce", "warehouse"]'
    assert tags in dag_file.read_text()
    dag_file.write_text(dag_file.read_text().replace(tags, 'tags=["ecommerce"]'))
    subprocess.run([sys.executable, "-c", "from ecommerce_local.dag_runs import store_dags; store_dags()"],
                   env=dict(os.environ, AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(before_the_edit),
                            PYTHONPATH=os.pathsep.join(str(PROJECT_ROOT / folder) for folder in ("plugins", "local"))),
                   check=True)
    metadata = create_engine(f"sqlite:///{home}/airflow.db")

    def stored_tags() -> list[str]:
        with Session(metadata) as session:
            return sorted(session.scalars(select(DagTag.name).where(DagTag.dag_id == "ecommerce_pipeline")))

    assert stored_tags() == ["ecommerce"]
    args = SimpleNamespace(date="2026-11-22", days=2, start="", source="generate", landing="", orders=300)
    began = datetime.now(timezone.utc)
    assert run(args, dict(os.environ, AIRFLOW_HOME=str(home))) == 0
    ended = datetime.now(timezone.utc)
    output = capfd.readouterr().out
    # One runner process per lane (each dag.test() also re-reads its own file: BundleDagBag).
    assert output.count("[airflow.dag_processing.dagbag.DagBag]") == lane_count(2, available_cores())
    markers = [output.index(line) for line in (
        "==> [1/2] ecommerce_pipeline for business date 2026-11-21",
        "==> [2/2] ecommerce_pipeline for business date 2026-11-22", "==> refresh_dashboards",
        "2 business date(s) processed")]
    assert markers == sorted(markers)
    # each date's task logs sit under its own progress line, whichever lane ran it
    first, second = output[markers[0]:markers[1]], output[markers[1]:markers[2]]
    assert "fact_sales for 2026-11-21:" in first and "for 2026-11-22:" not in first
    assert "fact_sales for 2026-11-22:" in second and "for 2026-11-21:" not in second
    assert stored_tags() == ["ecommerce", "warehouse"]
    with Session(metadata) as session:
        for business_date in ("2026-11-21", "2026-11-22"):
            logical = datetime.fromisoformat(business_date).replace(tzinfo=timezone.utc) + timedelta(days=1)
            runs = DagRun.find(dag_id="ecommerce_pipeline", logical_date=logical, session=session)
            assert [(r.state, r.conf["business_date"]) for r in runs] == [("success", business_date)]
            # the UI shows the business date and the run's real duration
            assert runs[0].note == f"make run: business date {business_date}"
            assert began <= runs[0].start_date <= runs[0].end_date <= ended
    with connect() as conn:
        loaded = conn.execute("select business_date::text from audit.loaded_dates order by 1").fetchall()
    assert loaded == [("2026-11-20",), ("2026-11-21",), ("2026-11-22",)]


# --- Lineage: the OpenLineage events of the first run, read back from the file transport ---

def lineage_events(run_id: str) -> dict[str, dict]:
    """The COMPLETE event of each task of the run, from the local file transport."""
    from ecommerce.dashboards.lineage import dag_run_id, events_file, read_events

    found = {}
    for event in read_events(events_file()):
        if event["eventType"] == "COMPLETE" and dag_run_id(event) == run_id:
            found[event["job"]["name"].removeprefix("ecommerce_pipeline.")] = event
    return found


def written(run_id: str) -> dict[str, int]:
    with connect() as conn:
        return dict(conn.execute("select task_id, rows_written from audit.task_runs where run_id = %s",
                                 (run_id,)).fetchall())


def names(datasets: list[dict]) -> set[str]:
    return {d["name"].split(".", 1)[1] if d["namespace"] != "file" else d["name"] for d in datasets}


def output_rows(event: dict, table: str) -> int | None:
    [dataset] = [d for d in event["outputs"] if d["name"].endswith(f".{table}")]
    return dataset["outputFacets"]["outputStatistics"]["rowCount"]


def test_each_loader_reports_its_file_in_and_its_staging_table_out_with_rows(first_run):
    events, rows = lineage_events(first_run.run_id), written(first_run.run_id)
    for table in ("customers", "products", "transactions", "transaction_items"):
        event = events[f"ingest_staging.{table}"]
        [source] = event["inputs"]
        assert source["namespace"] == "file" and source["name"].endswith(f"/{BUSINESS_DATE}/{table}.csv")
        assert source["inputFacets"]["inputStatistics"]["rowCount"] > 0
        assert output_rows(event, f"staging.{table}") == rows[f"ingest_staging.{table}"] > 0
        assert event["outputs"][0]["namespace"].startswith("postgres://")


def test_each_sql_model_reports_the_tables_it_reads_and_writes(first_run):
    events, rows = lineage_events(first_run.run_id), written(first_run.run_id)
    facts = events["warehouse.fact_sales"]
    assert {"production.transaction_items", "warehouse.dim_customers", "warehouse.dim_products"} <= names(facts["inputs"])
    assert "warehouse.fact_sales" in names(facts["outputs"])
    assert output_rows(facts, "warehouse.fact_sales") == rows["warehouse.fact_sales"] > 0
    assert "create table warehouse.fact_sales_loading as" in facts["job"]["facets"]["sql"]["query"]
    assert "staging.transactions" in names(events["production.transactions"]["inputs"])
    assert {"warehouse.product_monthly_sales", "warehouse.dim_products"} <= names(events["analytics.top_products"]["inputs"])
    [top] = [d for d in events["analytics.top_products"]["outputs"] if d["name"].endswith(".analytics.top_products")]
    product_name = top["facets"]["columnLineage"]["fields"]["product_name"]["inputFields"]
    assert [(f["name"].split(".", 1)[1], f["field"]) for f in product_name] == [("warehouse.dim_products", "product_name")]


GATES = {"staging": "quality_checks.staging_gate", "production": "production.quality_gate",
         "warehouse": "warehouse.quality_gate", "analytics": "analytics.quality_gate"}


@pytest.mark.parametrize("layer", GATES)
def test_each_quality_gate_attaches_each_check_as_an_assertion(first_run, layer):
    from ecommerce.quality.checks import layer_checks

    declared = layer_checks(layer)
    event = lineage_events(first_run.run_id)[GATES[layer]]
    assertions = {a["assertion"]: a for d in event["inputs"] for a in d["facets"]["dataQualityAssertions"]["assertions"]}
    with connect() as conn:
        results = dict(conn.execute("select check_name, status from audit.dq_results where run_id = %s "
                                    "and check_name = any(%s)", (first_run.run_id, [c.name for c in declared])).fetchall())
    assert set(assertions) == set(results) == {check.name for check in declared}
    assert {name: a["success"] for name, a in assertions.items()} == {n: s == "pass" for n, s in results.items()}
    assert names(event["inputs"]) == {check.table for check in declared}
    if layer == "staging":
        assert names(event["inputs"]) == {"staging.customers", "staging.products", "staging.transactions",
                                          "staging.transaction_items"}
    else:  # the generator's defects are quarantined in production: every later check passes
        assert set(results.values()) == {"pass"}


def test_the_dashboard_lineage_view_links_every_layer_with_the_last_runs_rows(first_run):
    from ecommerce.dashboards.lineage import dag_run_id, events_file, last_run_edges, read_events

    events = [e for e in read_events(events_file()) if dag_run_id(e) == first_run.run_id]
    edges = last_run_edges(events)
    rows = written(first_run.run_id)
    assert set(edges["source_layer"]) == {"raw files", "staging", "production", "warehouse"}
    assert set(edges["target_layer"]) == {"staging", "production", "warehouse", "analytics"}
    by_pair = {(e.source, e.target): e for e in edges.itertuples()}
    for source, target, task in [("customers.csv", "staging.customers", "ingest_staging.customers"),
                                 ("staging.customers", "production.customers", "production.customers"),
                                 ("production.transaction_items", "warehouse.fact_sales", "warehouse.fact_sales"),
                                 ("warehouse.fact_sales", "analytics.daily_kpis", "analytics.daily_kpis")]:
        assert by_pair[(source, target)].task == task and by_pair[(source, target)].rows == rows[task]
