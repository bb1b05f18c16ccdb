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


# --- make trace: one record's path, on this run's data ---

def trace_output(kind: str, key: str, capsys) -> str:
    from ecommerce.trace import main

    assert main([f"--{kind}", key]) == 0
    return capsys.readouterr().out


def raw_line(path: str, number: int) -> str:
    return Path(path).read_text(encoding="utf-8").splitlines()[number - 1]


def test_trace_of_a_customer_goes_from_its_raw_line_to_its_rfm_segment(run, capsys):
    with connect() as conn:
        customer_id, file, line, segment, orders = conn.execute(
            "select r.customer_id, s.source_file, s.source_line, r.segment, r.frequency from analytics.rfm_segments r "
            "join staging.customers s on trim(s.customer_id) = r.customer_id::text and s.batch_date = %s "
            "order by r.frequency desc, r.customer_id limit 1", (DATE,)).fetchone()
    out = trace_output("customer", str(customer_id), capsys)
    assert raw_line(file, line).startswith(f"{customer_id},")  # the line it names is the customer's
    sections = out.split("\n== ")
    staging = next(s for s in sections if s.startswith("Raw file lines"))
    assert f"{file}  {line}" in staging
    assert "(none)" not in next(s for s in sections if s.startswith("Production row"))
    assert "infinity  True" in next(s for s in sections if s.startswith("Dimension versions"))
    assert "completed" in next(s for s in sections if s.startswith("Orders in the facts"))
    totals = next(s for s in sections if s.startswith("Summed for the customer analytics")).splitlines()
    assert totals[2].split()[0] == str(orders)  # the heading, the column names, the customer's row
    assert segment in next(s for s in sections if s.startswith("Counted in: RFM"))


def test_trace_of_a_quarantined_order_gives_its_file_line_and_reason(run, capsys):
    with connect() as conn:
        transaction_id, file, line, reason = conn.execute(
            "select s.transaction_id, q.source_file, q.source_line, q.reason from quarantine.rejected_rows q "
            "join staging.transactions s on s.batch_date = q.batch_date and s.source_line = q.source_line "
            "where q.source_table = 'transactions' and q.stage = 'production' and q.batch_date = %s "
            "and trim(s.transaction_id) ~ '^[0-9]+$' "
            "and not exists (select from production.transactions p where p.transaction_id::text = trim(s.transaction_id)) "
            "order by q.source_line limit 1", (DATE,)).fetchone()
    out = trace_output("transaction", transaction_id.strip(), capsys)
    assert transaction_id.strip() in raw_line(file, line)
    quarantined = next(s for s in out.split("\n== ") if s.startswith("Quarantined"))
    assert "production" in quarantined and reason in quarantined and f"{file}  {line}" in quarantined
    assert "(none)" in next(s for s in out.split("\n== ") if s.startswith("Production row"))
    assert "(none)" in next(s for s in out.split("\n== ") if s.startswith("Fact lines"))


def test_trace_of_an_unknown_id_says_not_found_and_exits_1(run, capsys):
    from ecommerce.trace import main

    assert main(["--customer", "999999999"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("customer 999999999 not found: ")
    assert main(["--transaction", "999999999"]) == 1
    assert "transaction 999999999 not found" in capsys.readouterr().err


def test_trace_refuses_anything_but_one_numeric_id(capsys):
    from ecommerce.trace import main

    assert main([]) == 2 and main(["--customer", "12", "--transaction", "3"]) == 2
    assert main(["--customer", "12; drop table x"]) == 2
    assert "usage: make trace" in capsys.readouterr().err
