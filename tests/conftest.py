"""Shared fixtures. Importing this sets up the test environment before Airflow is imported:
an embedded PostgreSQL database ``ecommerce_test`` (or AIRFLOW_CONN_ECOMMERCE_WAREHOUSE), an
AIRFLOW_HOME with SQLite metadata under ``.local/test``, and a data folder beside it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from ecommerce.local import environment

os.environ.update(environment.build(environment.PROFILES["test"]))

import psycopg  # noqa: E402

from ecommerce.local.warehouse import psycopg_conninfo  # noqa: E402

PIPELINE_SCHEMAS = ("staging", "quarantine", "audit", "production", "warehouse", "analytics")


def connect(**kwargs) -> psycopg.Connection:
    return psycopg.connect(psycopg_conninfo(os.environ[environment.WAREHOUSE_ENV]), **kwargs)


def reset_warehouse() -> None:
    """Drop every pipeline schema, then apply the schema files: an empty, current warehouse."""
    from ecommerce.schema import apply_schema

    with connect(autocommit=True) as conn:
        for schema in PIPELINE_SCHEMAS:
            conn.execute(f"drop schema if exists {schema} cascade")
        apply_schema(conn)


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


def run_models(date: str, layers: tuple[str, ...] = ("production", "warehouse")) -> None:
    """Run the DAG's SQL models of ``layers`` for the date, in the DAG's order."""
    import ecommerce_pipeline as pipeline
    from ecommerce.operators import SqlModelOperator

    models = {"production": pipeline.PRODUCTION_MODELS, "warehouse": pipeline.WAREHOUSE_MODELS,
              "analytics": pipeline.ANALYTICS_MODELS}
    for layer in layers:
        for model in models[layer]:
            SqlModelOperator(task_id=model, sql=f"{layer}/{model}.sql", business_date=date).execute(
                task_context(f"{layer}.{model}"))


def table_checksum(cursor, schema: str, table: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of every row's content."""
    cursor.execute(
        f"select count(*), coalesce(md5(string_agg(md5(t::text), '' order by md5(t::text))), '') "
        f"from {schema}.{table} t"
    )
    return cursor.fetchone()
