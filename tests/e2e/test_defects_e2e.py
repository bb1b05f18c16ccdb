"""Generated defects through the whole DAG: every bad row lands where the manifest says."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from conftest import connect, reset_warehouse
from ecommerce.contract import RAW_COLUMNS
from ecommerce.generation.defects import EXPECTED_OUTCOME
from test_pipeline_e2e import run_pipeline

pytestmark = pytest.mark.e2e

DATE = "2026-06-13"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    os.environ["ECOMMERCE_DATA_DIR"] = str(tmp_path_factory.mktemp("defects-data"))
    reset_warehouse()
    dag_run = run_pipeline(DATE, defect_rate=0.02)
    manifest = json.loads((Path(os.environ["ECOMMERCE_DATA_DIR"]) / "raw" / DATE / "manifest.json").read_text())
    return dag_run, manifest


def test_run_with_defects_succeeds(run):
    dag_run, manifest = run
    assert dag_run.state == "success"
    assert sum(sum(kinds.values()) for kinds in manifest["defects"].values()) > 50


def test_every_file_reconciles_with_the_manifest(run):
    dag_run, manifest = run
    with connect() as conn:
        for table in RAW_COLUMNS:
            read, written, rejected = conn.execute(
                "select rows_read, rows_written, rows_rejected from audit.task_runs "
                "where run_id = %s and task_id = %s", (dag_run.run_id, f"ingest_staging.{table}")).fetchone()
            staged = conn.execute(f"select count(*) from staging.{table} where batch_date = %s", (DATE,)).fetchone()[0]
            quarantined = conn.execute(
                "select count(*) from quarantine.rejected_rows where source_table = %s and batch_date = %s "
                "and stage = 'staging'", (table, DATE)).fetchone()[0]
            assert read == manifest["files"][f"{table}.csv"]["rows"], table
            assert (written, rejected) == (staged, quarantined), table
            assert read == staged + quarantined, table


def test_quarantine_holds_exactly_the_injected_defects(run):
    _, manifest = run
    expected: Counter = Counter()
    for table, kinds in manifest["defects"].items():
        for kind, count in kinds.items():
            stage, reason = EXPECTED_OUTCOME[kind]
            if stage in ("staging", "production"):
                expected[(table, stage, reason)] += count
    with connect() as conn:
        found = Counter({(t, s, r): n for t, s, r, n in conn.execute(
            "select source_table, stage, reason, count(*) from quarantine.rejected_rows "
            "where batch_date = %s group by 1, 2, 3", (DATE,))})
    assert found == expected


def test_quarantined_rows_say_where_they_came_from(run):
    with connect() as conn:
        missing = conn.execute(
            "select count(*) from quarantine.rejected_rows where batch_date = %s and "
            "(source_file is null or source_line is null or raw_record is null or raw_record = '')",
            (DATE,)).fetchone()[0]
    assert missing == 0


def test_duplicates_collapse_and_are_counted(run):
    _, manifest = run
    with connect() as conn:
        collapsed = dict(conn.execute(
            "select table_name, rows_collapsed from audit.duplicates_collapsed where business_date = %s", (DATE,)))
    for table in RAW_COLUMNS:
        kinds = manifest["defects"].get(table, {})
        assert collapsed[table] == kinds.get("exact_duplicate", 0) + kinds.get("duplicate_key_conflict", 0), table


@pytest.mark.parametrize("table, key", [("transactions", "transaction_id"),
                                        ("transaction_items", "transaction_id, line_number")])
def test_staged_rows_equal_loaded_plus_quarantined_plus_collapsed(run, table, key):
    with connect() as conn:
        staged, loaded, quarantined, collapsed = conn.execute(
            f"""
            select
                (select count(*) from staging.{table} where batch_date = %(d)s),
                (select count(*) from production.{table} p where exists (
                    select from production.transactions t where t.batch_date = %(d)s
                    and t.transaction_id = p.transaction_id)),
                (select count(*) from quarantine.rejected_rows where source_table = %(t)s
                    and batch_date = %(d)s and stage = 'production'),
                (select rows_collapsed from audit.duplicates_collapsed where table_name = %(t)s
                    and business_date = %(d)s)
            """, {"d": DATE, "t": table}).fetchone()
    assert staged == loaded + quarantined + collapsed


def test_noise_is_cleaned_not_rejected(run):
    with connect() as conn:
        noisy = conn.execute(
            "select count(*) from production.customers where email <> lower(trim(email)) "
            "or first_name <> trim(first_name)").fetchone()[0]
    assert noisy == 0


def test_valid_staged_amounts_equal_the_facts_and_the_aggregates(run):
    with connect() as conn:
        staged, facts, completed, aggregated = conn.execute(
            """
            with valid as (
                select distinct on (trim(transaction_id)::bigint, trim(line_number)::int) s.*
                from staging.transaction_items s
                where s.batch_date = %(d)s and not exists (
                    select from quarantine.rejected_rows q
                    where q.source_table = 'transaction_items' and q.batch_date = %(d)s
                        and q.source_line = s.source_line)
                order by trim(transaction_id)::bigint, trim(line_number)::int, s.source_line desc
            )
            select
                (select sum(round(trim(quantity)::int * trim(unit_price)::numeric
                        * (1 - coalesce(nullif(trim(discount), ''), '0')::numeric), 2)) from valid),
                (select sum(net_amount) from warehouse.fact_sales where date_key = to_char(%(d)s::date, 'YYYYMMDD')::int),
                (select sum(net_amount) from warehouse.fact_sales
                 where date_key = to_char(%(d)s::date, 'YYYYMMDD')::int and status = 'completed'),
                (select sum(net_revenue) from warehouse.agg_daily_sales where date_key = to_char(%(d)s::date, 'YYYYMMDD')::int)
            """, {"d": DATE}).fetchone()
    assert staged == facts
    assert completed == aggregated
