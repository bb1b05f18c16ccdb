"""Every quality check type, passing and failing, against real staging rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import task_context
from ecommerce.quality import engine
from ecommerce.quality.checks import Check, load_checks
from ecommerce.settings import QUALITY_DIR

DATE = "2026-11-20"
TRANSACTIONS = ("transaction_id", "customer_id", "transaction_ts", "channel", "payment_method", "status", "shipping_cost")


@pytest.fixture(autouse=True)
def _empty(empty_warehouse):
    pass


def stage(db, rows: list[tuple], date: str = DATE, table: str = "transactions", columns=TRANSACTIONS) -> None:
    """Insert rows into the date's partition of a staging table (created if needed)."""
    partition(db, table, date)
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    for number, row in enumerate(rows, start=2):
        db.execute(
            f"insert into staging.{table} ({names}, batch_date, source_file, source_line, loaded_at) "
            f"values ({marks}, %s, 'test.csv', %s, now())", (*row, date, number))


def reload(db, rows: list[tuple], date: str = DATE) -> None:
    """Replace the date's transactions batch, as the staging loader does (a new partition)."""
    db.execute(f"drop table if exists staging.transactions_{date.replace('-', '')}")
    stage(db, rows, date)


def partition(db, table: str, date: str) -> None:
    db.execute(f"create table if not exists staging.{table}_{date.replace('-', '')} "
               f"partition of staging.{table} for values in ('{date}')")


def order(transaction_id="1", customer_id="1", ts=f"{DATE}T22:00:00Z", status="completed", shipping="4.99"):
    return (transaction_id, customer_id, ts, "web", "paypal", status, shipping)


def run(db, check: Check):
    with db.cursor() as cursor:
        return engine.evaluate(cursor, check, DATE)


def check(type_: str, severity: str = "error", table: str = "staging.transactions", **options) -> Check:
    return Check(f"t_{type_}", table, type_, severity, options)


ROW_CASES = [
    (check("not_null", column="customer_id"), [order()], [order(customer_id=" ")]),
    (check("unique", column="transaction_id"), [order("1"), order("2")], [order("1"), order("1")]),
    (check("accepted_values", column="status", values=["completed", "pending"]),
     [order(status=" Completed ")], [order(status="shipped")]),
    (check("parseable", column="transaction_ts", **{"as": "timestamptz"}), [order()], [order(ts="yesterday-ish")]),
    (check("range", column="shipping_cost", min=0, max=100), [order(shipping="100")], [order(shipping="-1")]),
    (check("sql", query="select * from staging.transactions where batch_date = %(business_date)s "
                        "and channel <> 'web'"), [order()], [("1", "1", f"{DATE}T1:00:00Z", "fax", "x", "completed", "1")]),
    (check("relationship", column="customer_id", to_table="staging.customers", to_column="customer_id",
           same_batch=True), "with_customer", [order(customer_id="404")]),
]


@pytest.mark.parametrize("the_check, good, bad", ROW_CASES, ids=[case[0].type for case in ROW_CASES])
def test_row_checks_pass_on_good_rows_and_fail_on_bad(db, the_check, good, bad):
    if good == "with_customer":
        partition(db, "customers", DATE)
        db.execute("insert into staging.customers (customer_id, batch_date, source_file, source_line, loaded_at) "
                   "values ('1', %s, 'c.csv', 2, now())", (DATE,))
        good = [order(customer_id="1")]
    stage(db, good)
    assert run(db, the_check).status == "pass"
    stage(db, bad)
    result = run(db, the_check)
    assert result.status == "fail" and result.failing_rows >= 1
    assert result.sample, "the failing rows stay findable"


def test_a_rate_threshold_tolerates_a_few_bad_rows(db):
    tolerant = check("not_null", column="customer_id", max_fail_rate=0.25)
    stage(db, [order(str(n)) for n in range(3)] + [order("9", customer_id="")])
    result = run(db, tolerant)
    assert (result.status, result.observed) == ("pass", 0.25)
    stage(db, [order("10", customer_id="")])
    assert run(db, tolerant).status == "fail"


def test_warn_severity_reports_without_blocking(db):
    stage(db, [order(status="shipped")])
    result = run(db, check("accepted_values", severity="warn", column="status", values=["completed"]))
    assert result.status == "warn" and not result.blocks


def test_row_count_min(db):
    the_check = check("row_count_min", min=1)
    assert run(db, the_check).status == "fail"
    stage(db, [order()])
    assert run(db, the_check).status == "pass"


def test_freshness(db):
    the_check = check("freshness", column="transaction_ts", max_age_hours=6)
    stage(db, [order(ts=f"{DATE}T08:00:00Z")])
    result = run(db, the_check)
    assert result.status == "fail" and result.observed == 16
    stage(db, [order("2", ts=f"{DATE}T20:30:00Z")])
    assert run(db, the_check).status == "pass"


def test_reconciliation(db):
    stage(db, [order("1"), order("2")])
    db.execute("insert into quarantine.rejected_rows (source_table, batch_date, source_line, stage, reason, raw_record) "
               "values ('transactions', %s, 4, 'staging', 'wrong_column_count', 'x')", (DATE,))
    db.execute("insert into audit.task_runs (dag_id, run_id, task_id, try_number, business_date, rows_read, duration_seconds) "
               "values ('d', 'r', 'ingest_staging.transactions', 1, %s, 3, 0)", (DATE,))
    the_check = check("reconciliation", task_id="ingest_staging.transactions")
    assert run(db, the_check).status == "pass"
    db.execute("delete from staging.transactions where transaction_id = '2'")
    result = run(db, the_check)
    assert (result.status, result.observed) == ("fail", 1)


def test_reconciliation_without_a_load_record_fails(db):
    stage(db, [order()])
    assert run(db, check("reconciliation", task_id="ingest_staging.transactions")).status == "fail"


def test_volume_anomaly(db):
    from datetime import date, timedelta

    the_check = check("volume_anomaly", severity="warn", measure="count(*)", window_days=28, max_deviation=0.5)
    stage(db, [order(str(n)) for n in range(10)])
    result = run(db, the_check)
    assert result.status == "pass" and "not judged" in result.sample[0]["note"]
    for back in range(1, 15):
        stage(db, [order(str(n)) for n in range(10)], date=(date(2026, 11, 20) - timedelta(days=back)).isoformat())
    assert run(db, the_check).status == "pass"
    reload(db, [order(str(n)) for n in range(40)])
    result = run(db, the_check)
    assert (result.status, result.observed) == ("warn", 3.0)


def test_volume_anomaly_measures_each_batch_once_until_it_is_reloaded(db):
    from datetime import date, timedelta

    the_check = check("volume_anomaly", severity="warn", measure="count(*)", window_days=28, max_deviation=0.5)
    earlier = [(date(2026, 11, 20) - timedelta(days=back)).isoformat() for back in range(1, 11)]
    for day in earlier:
        stage(db, [order(str(n)) for n in range(10)], date=day)
    stage(db, [order(str(n)) for n in range(10)])
    assert run(db, the_check).observed == 0
    kept = db.execute("select batch_date::text, value from audit.batch_measures where table_name = 'staging.transactions' "
                      "and measure = 'count(*)' order by 1").fetchall()
    assert kept == [(day, 10) for day in [*reversed(earlier), DATE]]
    # The window is read from what was kept: a kept value the batch no longer has shows...
    db.execute("update audit.batch_measures set value = 30 where batch_date = %s", (earlier[0],))
    assert run(db, the_check).observed == pytest.approx(1 - 10 / 12)  # mean (9 x 10 + 30) / 10
    # ...until the batch is loaded again (a new partition), which measures it afresh.
    reload(db, [order(str(n)) for n in range(10)], date=earlier[0])
    assert run(db, the_check).observed == 0


def test_volume_anomaly_counts_a_batch_whose_measure_has_a_value(db):
    from datetime import date, timedelta

    the_check = check("volume_anomaly", severity="warn", measure="sum(trim(shipping_cost)::numeric)",
                      min_history=8, max_deviation=0.5)
    for back in range(1, 8):
        stage(db, [order(str(n)) for n in range(3)], date=(date(2026, 11, 20) - timedelta(days=back)).isoformat())
    partition(db, "transactions", "2026-11-12")  # a batch without rows: no sum, no day of history
    stage(db, [order(str(n)) for n in range(3)])
    assert run(db, the_check).sample == [{"note": "only 7 of 8 days of history: not judged"}]


def test_volume_anomaly_needs_a_table_partitioned_by_batch_date(db):
    db.execute("create table staging.flat (batch_date date not null, amount numeric)")
    db.execute("insert into staging.flat values (%s, 1)", (DATE,))
    the_check = check("volume_anomaly", severity="warn", table="staging.flat", measure="sum(amount)",
                      max_deviation=0.5)
    with pytest.raises(ValueError, match="staging.flat batch by batch"):
        run(db, the_check)


def test_results_are_persisted_and_logged_as_a_table(db):
    from airflow.sdk.exceptions import AirflowFailException

    from ecommerce.operators.quality_gate import QualityCheckFailed, QualityGateOperator

    stage(db, [order(status="shipped")])
    gate = QualityGateOperator(task_id="gate", checks_file="staging.yml", business_date=DATE)
    with pytest.raises(AirflowFailException, match="transactions_status_accepted") as error:  # not retried
        gate.execute(task_context("quality_checks.staging_gate"))
    assert isinstance(error.value.__cause__, QualityCheckFailed)
    rows = db.execute("select check_name, status, threshold from audit.dq_results where business_date = %s",
                      (DATE,)).fetchall()
    assert len(rows) == len(load_checks(QUALITY_DIR / "staging.yml"))
    assert ("transactions_status_accepted", "fail", 0.05) in [(n, s, float(t)) for n, s, t in rows]
    table = engine.format_table([run(db, c) for c in load_checks(QUALITY_DIR / "staging.yml")[:2]])
    assert table.splitlines()[0].split() == ["check", "table", "severity", "observed", "threshold", "status"]


@pytest.mark.parametrize("text, message", [
    ("checks:\n  - {name: a, table: staging.x, type: nope, severity: error}\n", "unknown type 'nope'"),
    ("checks:\n  - {name: a, table: staging.x, type: not_null, severity: fatal}\n", "severity must be one of"),
    ("checks:\n  - {name: a, table: staging.x, type: not_null, severity: error}\n", "missing key(s) column"),
    ("checks:\n  - {name: a, table: x, type: row_count_min, min: 1, severity: error}\n", "schema.table"),
])
def test_a_malformed_check_file_is_refused_with_the_check_named(tmp_path: Path, text, message):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_checks(path)


def test_unreadable_snapshot_keys_are_reported_as_no_deletions_inferred(db):
    declared = {c.name: c for c in load_checks(QUALITY_DIR / "staging.yml")}["customers_keys_readable"]
    stage(db, [("1",), ("2",)], table="customers", columns=("customer_id",))
    assert run(db, declared).status == "pass"
    stage(db, [("x7",)], table="customers", columns=("customer_id",))
    db.execute("insert into quarantine.rejected_rows (source_table, batch_date, source_line, stage, reason, raw_record) "
               "values ('customers', %s, 9, 'staging', 'wrong_column_count', 'x')", (DATE,))
    result = run(db, declared)
    assert (result.status, result.failing_rows) == ("warn", 2)


def test_conflicting_copies_of_an_order_are_reported(db):
    declared = {c.name: c for c in load_checks(QUALITY_DIR / "staging.yml")}["transactions_conflicting_duplicates"]
    stage(db, [order("1"), order("1"), order("2")])
    assert run(db, declared).status == "pass", "identical copies only collapse"
    stage(db, [order("3", customer_id="1"), order("3", customer_id="2")])
    result = run(db, declared)
    assert (result.status, result.failing_rows) == ("warn", 2)
