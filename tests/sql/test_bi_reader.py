"""bi_reader reads the warehouse and analytics schemas, nothing else, and writes nowhere."""

from __future__ import annotations

import os

import psycopg
import pytest

from conftest import connect, reset_warehouse
from ecommerce_local.warehouse import psycopg_conninfo
from ecommerce_local.warehouse import LOCAL_BI_READER_PASSWORD


@pytest.fixture(scope="module")
def warehouse():
    """One empty warehouse for the module: its tests read, or are refused (a write that got through
    fails its test); the one that creates a table drops it again."""
    reset_warehouse()


@pytest.fixture
def bi(warehouse):
    conninfo = psycopg.conninfo.conninfo_to_dict(psycopg_conninfo(os.environ["AIRFLOW_CONN_ECOMMERCE_WAREHOUSE"]))
    conninfo.update(user="bi_reader", password=os.environ.get("BI_READER_PASSWORD", LOCAL_BI_READER_PASSWORD))
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        # Sessions start read-only, but bi_reader may switch that off: the grants must hold alone.
        conn.execute("set default_transaction_read_only = off")
        yield conn


@pytest.mark.parametrize("table", ["analytics.insights", "analytics.daily_kpis", "warehouse.fact_sales",
                                   "warehouse.dim_customers", "warehouse.dim_date"])
def test_reads_analytics_and_warehouse(bi, table):
    assert bi.execute(f"select count(*) from {table}").fetchone()[0] >= 0


def test_reads_tables_created_after_the_grant(bi):
    with connect(autocommit=True) as owner:
        owner.execute("create table analytics.added_later (x int)")
        try:
            owner.execute("insert into analytics.added_later values (1)")
            assert bi.execute("select x from analytics.added_later").fetchone() == (1,)
        finally:
            owner.execute("drop table analytics.added_later")


@pytest.mark.parametrize("table", ["staging.customers", "production.customers", "quarantine.rejected_rows",
                                   "audit.task_runs", "audit.dq_results"])
def test_is_refused_elsewhere(bi, table):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bi.execute(f"select count(*) from {table}")


@pytest.mark.parametrize("statement", [
    "insert into analytics.insights values ('x', 'x', 1, '{}')",
    "update warehouse.dim_date set day_name = 'x'",
    "delete from analytics.daily_kpis",
    "truncate analytics.top_products",
    "create table analytics.mine (x int)",
    "create table warehouse.mine (x int)",
    "create table public.mine (x int)",
    "create schema mine",
])
def test_writes_nowhere(bi, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bi.execute(statement)
