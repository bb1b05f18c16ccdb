"""Every quality check type, passing and failing, against real staging rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import task_context
from ecommerce.quality import engine
from ecommerce.quality.checks import Check, load_checks
from ecommerce.settings import QUALITY_DIR

DATE = "2026-11-20"
TRANSACTIONS = ("transaction_id", "customer_id", "transaction_ts", "channel", "payment_method", "status", "shipping_cost")


@pytest.fixture
def db(empty_warehouse, db):
    """An empty warehouse for each test that uses one: the tests of parsing alone (15 of them)
    need none."""
    return db


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


# Checks of the typed layers: scopes, SCD2 ranges, balances, and the gates after each layer.

def typed_table(db, name: str, columns: str, rows: list[tuple]) -> None:
    """A table of typed columns in the warehouse schema, holding ``rows``."""
    db.execute(f"drop table if exists warehouse.{name}")
    db.execute(f"create table warehouse.{name} ({columns})")
    marks = ", ".join(["%s"] * len(rows[0])) if rows else ""
    for row in rows:
        db.execute(f"insert into warehouse.{name} values ({marks})", row)


def test_a_scope_picks_the_dates_rows_by_date_column_date_key_or_condition_or_every_row(db):
    typed_table(db, "scoped", "day date, date_key integer, amount integer", [
        ("2026-11-19", 20261119, None), (DATE, 20261120, 1), (DATE, 20261120, 2), ("2026-11-21", 20261121, 3)])
    counts = {}
    for scope in [{"date_column": "day"}, {"date_key_column": "date_key"}, {"where": "amount >= 2"},
                  {"scope": "table"}, {"scope": "table", "where": "amount is not null"}]:
        with db.cursor() as cursor:
            counts[str(scope)], _ = engine.count_scope(cursor, [check("row_count_min", table="warehouse.scoped", min=1,
                                                                      **scope)], {"business_date": DATE})
    assert list(counts.values()) == [2, 2, 2, 4, 3]
    # A row check looks at its scope only: the null of another date is not the date's.
    assert run(db, check("not_null", table="warehouse.scoped", column="amount", date_column="day")).status == "pass"
    result = run(db, check("not_null", table="warehouse.scoped", column="amount", scope="table"))
    assert (result.status, result.failing_rows, result.batch_rows) == ("fail", 1, 4)


def test_a_via_scope_picks_the_rows_of_the_dates_parent_rows_only(db):
    """The lines of the date's orders: order 11, of another date, lies between the date's orders
    10 and 12, and its line is not the date's; a date without orders has no lines."""
    typed_table(db, "orders", "order_id bigint primary key, batch_date date",
                [(10, DATE), (11, "2026-11-19"), (12, DATE)])
    typed_table(db, "order_lines", "order_id bigint, line integer, amount integer",
                [(10, 1, 5), (10, 2, None), (11, 1, None), (12, 1, 7), (13, 1, None)])
    lines = check("not_null", table="warehouse.order_lines", column="amount", via="warehouse.orders.order_id")
    result = run(db, lines)
    assert (result.status, result.failing_rows, result.batch_rows) == ("fail", 1, 3)
    with db.cursor() as cursor:
        params = engine.query_parameters(cursor, [lines], DATE)
        assert params == {"business_date": DATE, "first of warehouse.orders.order_id": 10,
                          "last of warehouse.orders.order_id": 12}
        no_orders = engine.query_parameters(cursor, [lines], "2026-11-01")
        assert engine.count_scope(cursor, [lines], no_orders) == (0, {"t_not_null": 0})
    # A balance term reads its rows the same way: three lines of the date's orders, against 3.
    books = check("balance", table="warehouse.orders", measure="count(*) + 1", date_column="batch_date",
                  equals={"table": "warehouse.order_lines", "via": "warehouse.orders.order_id"})
    with db.cursor() as cursor:
        [result] = engine.evaluate_all(cursor, [books], DATE)
    assert (result.status, result.observed) == ("pass", 0)


def test_a_gate_counts_the_checks_judging_rows_alone_in_one_pass_each_as_if_alone(db):
    """``evaluate_all`` counts a scope's rows and its not_null, accepted_values, parseable and
    range checks in one scan: each result is the one the check gives on its own."""
    stage(db, [order("1"), order("2", customer_id=""), order("3", status="shipped", ts="soon"),
               order("4", shipping="-1"), order("5", customer_id=" ", shipping="x")])
    stage(db, [order("9", customer_id="")], date="2026-11-19")
    checks = [check("not_null", column="customer_id"), check("row_count_min", min=6),
              check("accepted_values", column="status", values=["completed"], severity="warn"),
              check("parseable", column="transaction_ts", **{"as": "timestamptz"}),
              check("range", column="shipping_cost", min=0, max=100, max_fail_rate=0.5),
              check("unique", column="customer_id"),
              check("not_null", column="customer_id", scope="table")]
    checks = [Check(f"t_{number}", c.table, c.type, c.severity, c.options) for number, c in enumerate(checks)]
    with db.cursor() as cursor:
        together = engine.evaluate_all(cursor, checks, DATE)
    alone = [run(db, the_check) for the_check in checks]
    shown = [(r.check.name, r.status, r.failing_rows, r.batch_rows, r.observed) for r in together]
    assert shown == [(r.check.name, r.status, r.failing_rows, r.batch_rows, r.observed) for r in alone]
    assert [(status, failing) for _, status, failing, *_ in shown] == [
        ("fail", 2), ("fail", 1), ("warn", 1), ("fail", 1), ("pass", 1), ("fail", 3), ("fail", 3)]


def test_the_default_scope_is_still_the_staging_batch(db):
    stage(db, [order("1")])
    stage(db, [order("1")], date="2026-11-19")
    the_check = check("unique", column="transaction_id")
    assert run(db, the_check).status == "pass", "the other date's copy is not the date's"
    assert the_check.batch().as_string(None).endswith('"staging"."transactions" where "batch_date" = %(business_date)s')


def test_unique_over_several_columns(db):
    typed_table(db, "lines", "transaction_id bigint, line_number integer, date_key integer",
                [(1, 1, 20261120), (1, 2, 20261120), (2, 1, 20261120), (1, 1, 20261121)])
    the_check = check("unique", table="warehouse.lines", columns=["transaction_id", "line_number"],
                      date_key_column="date_key")
    assert run(db, the_check).status == "pass"
    whole = check("unique", table="warehouse.lines", columns=["transaction_id", "line_number"], scope="table")
    result = run(db, whole)
    assert (result.status, result.failing_rows) == ("fail", 2)
    assert {row["date_key"] for row in result.sample} == {20261120, 20261121}


def test_a_relationship_of_typed_keys_fails_on_a_broken_reference(db):
    typed_table(db, "parents", "parent_id bigint primary key", [(1,), (2,)])
    typed_table(db, "children", "child_id integer, parent_id bigint", [(10, 1), (11, 2), (12, None)])
    the_check = check("relationship", table="warehouse.children", column="parent_id", scope="table",
                      to_table="warehouse.parents", to_column="parent_id")
    assert run(db, the_check).status == "pass"
    db.execute("insert into warehouse.children values (13, 3)")
    result = run(db, the_check)
    assert (result.status, result.failing_rows, result.sample) == ("fail", 1, [{"child_id": 13, "parent_id": 3}])
    with db.cursor() as cursor:
        assert not engine.is_text(cursor, the_check)
    assert "trim" not in the_check.failing_rows(typed=True).as_string(db), "typed keys are compared as they are"


VERSIONS = "key integer, valid_from timestamptz, valid_to timestamptz, is_current boolean"
GOOD_VERSIONS = [
    (1, "2026-01-01", "2026-03-01", False), (1, "2026-03-01", "infinity", True),   # changed once
    (2, "2026-01-01", "2026-02-01", False), (2, "2026-04-01", "2026-05-01", False),  # deleted twice
    (3, "2026-02-01", "infinity", True),
]
SCD2_CASES = {
    "overlapping ranges": ([(4, "2026-01-01", "2026-03-02", False), (4, "2026-03-01", "infinity", True)],
                           "overlaps the next version of the key, from 2026-03-01"),
    "two current rows": ([(4, "2026-01-01", "infinity", True), (4, "2026-03-01", "infinity", True)],
                         "one of 2 current rows of the key"),
    "a current row with a closed range": ([(4, "2026-01-01", "2026-03-01", True)],
                                          "flagged current but its range is closed"),
    "an open range not flagged current": ([(4, "2026-01-01", "infinity", False)],
                                          "its range is open but not flagged current"),
}


@pytest.mark.parametrize("bad", SCD2_CASES, ids=list(SCD2_CASES))
def test_scd2_ranges_fail_on_each_broken_history(db, bad):
    the_check = check("scd2_ranges", table="warehouse.versions", scope="table", key="key")
    typed_table(db, "versions", VERSIONS, GOOD_VERSIONS)
    db.execute("set timezone = 'UTC'")
    assert run(db, the_check).status == "pass", "changes, deletions and gaps are fine"
    rows, problem = SCD2_CASES[bad]
    typed_table(db, "versions", VERSIONS, GOOD_VERSIONS + rows)
    result = run(db, the_check)
    assert result.status == "fail"
    assert {row["key"] for row in result.sample} == {4}
    assert any(problem in row["problem"] for row in result.sample), result.sample


def balance_check(**options) -> Check:
    return check("balance", table="warehouse.loaded", date_key_column="date_key", **{
        "plus": [{"table": "warehouse.rejected", "date_column": "day"}],
        "equals": {"table": "warehouse.received", "date_column": "day", "measure": "sum(lines)"}, **options})


def test_a_balance_passes_when_the_books_close_and_fails_off_by_one_with_every_term(db):
    typed_table(db, "loaded", "date_key integer", [(20261120,), (20261120,), (20261121,)])
    typed_table(db, "rejected", "day date", [(DATE,)])
    typed_table(db, "received", "day date, lines integer", [(DATE, 2), (DATE, 1), ("2026-11-21", 5)])
    assert run(db, balance_check()).status == "pass"
    db.execute("update warehouse.received set lines = 3 where lines = 2")
    result = run(db, balance_check())
    assert (result.status, result.observed) == ("fail", 1)
    assert result.sample == [{"note": "warehouse.loaded count(*) 2 + warehouse.rejected count(*) 1 = 3 "
                                      "<> warehouse.received sum(lines) 4"}]
    assert run(db, balance_check(max_difference=1)).status == "pass"


def test_a_balance_counts_an_empty_side_as_zero(db):
    typed_table(db, "loaded", "date_key integer", [])
    typed_table(db, "rejected", "day date", [])
    typed_table(db, "received", "day date, lines integer", [("2026-11-21", 5)])
    assert (run(db, balance_check()).status, run(db, balance_check()).observed) == ("pass", 0)


@pytest.mark.parametrize("entry, message", [
    ({"type": "unique"}, "missing key(s) column (or columns)"),
    ({"type": "not_null", "column": "c", "scope": "day"}, "scope must be one of date, table"),
    ({"type": "not_null", "column": "c", "scope": "table", "date_column": "d"},
     "scope table reads every row, not the date's: drop date_column"),
    ({"type": "not_null", "column": "c", "date_column": "d", "where": "true"},
     "one of date_column, date_key_column, via, where picks the rows"),
    ({"type": "not_null", "column": "c", "via": "production.transactions"},
     "via names schema.table.column, not 'production.transactions'"),
    ({"type": "not_null", "column": "c", "scope": "table", "via": "production.transactions.transaction_id"},
     "scope table reads every row, not the date's: drop via"),
    ({"type": "scd2_ranges"}, "missing key(s) key"),
    ({"type": "not_null", "column": "c", "date_colum": "d"}, "unknown key(s) date_colum for type not_null"),
    ({"type": "row_count_min", "min": 1, "max_fail_rate": 0.1}, "unknown key(s) max_fail_rate for type row_count_min"),
    ({"type": "balance", "equals": {"table": "staging.x", "measur": "sum(x)"}},
     "a term of plus and equals has only table, measure, scope, date_column, date_key_column, via, where, "
     "not measur"),
    ({"type": "balance", "equals": {"measure": "count(*)"}}, "each term of plus and equals needs a table"),
    ({"type": "balance", "equals": {"table": "staging.x", "scope": "week"}}, "scope must be one of"),
])
def test_a_malformed_check_from_any_source_is_refused_with_the_check_named(entry, message):
    from ecommerce.quality.checks import parse_checks

    with pytest.raises(ValueError, match=f"^a model's home: check bad: {re.escape(message)}"):
        parse_checks([{"name": "bad", "table": "warehouse.t", "severity": "error", **entry}], "a model's home")


def test_every_declared_check_has_a_name_of_its_own_across_the_layers():
    from collections import Counter

    from ecommerce.quality.checks import layer_checks

    names = Counter(check.name for layer in LAYERS for check in layer_checks(layer))
    assert names["daily_kpis_has_the_date"] == 1, "the model homes' checks are counted"
    assert [name for name, times in names.items() if times > 1] == []


LAYERS = ("staging", "production", "warehouse", "analytics")


def test_each_gate_of_a_run_replaces_its_own_results_only(db):
    """A run has a gate per layer: one writing its results (again, on a retry) keeps the others'."""
    from ecommerce.operators.quality_gate import QualityGateOperator

    stage(db, [order()])
    context = task_context("quality_checks.staging_gate", run_id="run_1")
    with pytest.raises(Exception):
        QualityGateOperator(task_id="staging_gate", checks_file="staging.yml", business_date=DATE).execute(context)
    checks = [{"name": "orders_of_the_date", "table": "staging.transactions", "type": "row_count_min", "min": 1,
               "severity": "error"}]
    gate = QualityGateOperator(task_id="quality_gate", checks=checks, business_date=DATE)
    for _ in range(2):  # a retry replaces its own results
        outcome = gate.execute(task_context("production.quality_gate", run_id="run_1"))
        assert outcome == {"pass": 1, "warn": 0, "fail": 0}
    rows = db.execute("select check_name, count(*) from audit.dq_results where run_id = 'run_1' group by 1").fetchall()
    assert dict(rows) == {**{c.name: 1 for c in load_checks(QUALITY_DIR / "staging.yml")}, "orders_of_the_date": 1}
