"""Run quality checks against the warehouse and persist each result in ``audit.dq_results``."""

from __future__ import annotations

import json
from dataclasses import dataclass

from psycopg import sql

from ecommerce.quality.checks import Check, via_bounds, via_parameters

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckResult:
    check: Check
    failing_rows: int
    batch_rows: int
    observed: float
    status: str  # pass | warn | fail
    sample: list

    @property
    def blocks(self) -> bool:
        return self.status == "fail"


def query_parameters(cursor, checks: list[Check], business_date: str) -> dict:
    """The parameters of the checks' queries: the business date, and the least and greatest key
    of each ``via`` scope among them, looked up once (``checks.via_bounds``)."""
    params = {"business_date": business_date}
    for via in sorted({via for check in checks for via in check.vias()}):
        cursor.execute(via_bounds(via), params)
        params.update(zip(via_parameters(via), cursor.fetchone()))
    return params


def count_scope(cursor, scoped: list[Check], params: dict) -> tuple[int, dict[str, int]]:
    """One pass over the rows of one scope (the business date's batch, by default; checks with
    the same ``scope_key`` share it): how many there are, and how many fail each of ``scoped``
    that judges a row by its own values (``Check.failing_condition``), by check name.
    ``params`` from ``query_parameters``."""
    by_row = {check.name: condition for check in scoped if (condition := check.failing_condition()) is not None}
    cursor.execute(sql.SQL("select count(*){} from ({}) b").format(
        sql.SQL("").join(sql.SQL(", count(*) filter (where {})").format(condition) for condition in by_row.values()),
        scoped[0].batch()), params)
    rows, *failing = cursor.fetchone()
    return rows, dict(zip(by_row, failing))


def evaluate(cursor, check: Check, business_date: str, batch_rows: int | None = None,
             params: dict | None = None, failing_rows: int | None = None) -> CheckResult:
    """Run one check for the business date; keep a sample of failing rows (or a note).

    ``batch_rows``, the size of the checked table's batch, is counted here unless given;
    ``params``, the queries' parameters (``query_parameters``), are looked up unless given;
    ``failing_rows``, a row check's failing rows, are counted here unless given (``count_scope``).
    """
    if params is None:
        params = query_parameters(cursor, [check], business_date)
    if batch_rows is None:
        batch_rows, counted = count_scope(cursor, [check], params)
        failing_rows = counted.get(check.name, failing_rows)
    if check.is_batch_check:
        if check.type == "volume_anomaly":
            keep_batch_measures(cursor, check, business_date)
        if check.type == "row_count_min":  # the batch's rows, counted already
            observed, note = batch_rows, None
        elif check.type == "balance":
            observed, note = balance(cursor, check, params)
        else:
            cursor.execute(check.metric(), params)
            row = cursor.fetchone()
            observed, note = (row if row else (None, "nothing to measure"))
        ok = observed is not None and check.passes(float(observed))
        failing_rows = 0 if ok else 1
        sample = [{"note": note}] if note and (check.type != "balance" or not ok) else []
        observed = float(observed) if observed is not None else -1.0
    else:
        failing = check.failing_rows(typed=check.type == "relationship" and not is_text(cursor, check))
        if failing_rows is None:
            cursor.execute(sql.SQL("select count(*) from ({}) f").format(failing), params)
            failing_rows = cursor.fetchone()[0]
        observed = failing_rows / batch_rows if check.uses_rate and batch_rows else float(failing_rows)
        ok = check.passes(observed)
        sample = []
        if not ok:
            cursor.execute(
                sql.SQL("select to_jsonb(f) from ({}) f limit {}").format(failing, sql.Literal(SAMPLE_ROWS)), params)
            sample = [r[0] for r in cursor.fetchall()]
    status = "pass" if ok else ("fail" if check.severity == "error" else "warn")
    return CheckResult(check, failing_rows, batch_rows, observed, status, sample)


def balance(cursor, check: Check, params: dict) -> tuple[float, str]:
    """A balance check's difference between its two sides, and a note with every term's value,
    e.g. ``production.transactions count(*) 118 + quarantine.rejected_rows count(*) 2 = 120 <>
    staging.transactions count(*) 121``."""
    left, right = check.balance_terms()
    cursor.execute(check.balance_values(), params)
    values = [value or 0 for value in cursor.fetchone()]
    left_values, right_values = values[:len(left)], values[len(left):]

    def side(terms, side_values) -> str:
        shown = " + ".join(f"{label} {number(value)}" for (label, _), value in zip(terms, side_values))
        return f"{shown} = {number(sum(side_values))}" if len(terms) > 1 else shown

    difference = abs(sum(left_values) - sum(right_values))
    relation = "=" if difference == 0 else "<>"
    return float(difference), f"{side(left, left_values)} {relation} {side(right, right_values)}"


def is_text(cursor, check: Check) -> bool:
    """Whether the checked column holds text (staging's raw values) rather than typed values."""
    cursor.execute("select atttypid = 'text'::regtype from pg_attribute where attrelid = %s::regclass "
                   "and attname = %s and not attisdropped", (check.table, check.options["column"]))
    row = cursor.fetchone()
    if row is None:
        raise ValueError(f"check {check.name}: {check.table} has no column {check.options['column']!r}")
    return row[0]


def keep_batch_measures(cursor, check: Check, business_date: str) -> None:
    """Measure each batch of a volume check's window not yet measured in its present partition,
    and keep the measure. One statement per batch, its date a parameter: the planner reads that
    partition alone, in parallel where it can. In date order, so that concurrent gates take the
    kept rows' locks in the same order."""
    cursor.execute("select pg_get_partkeydef(%s::regclass)", (check.table,))
    if cursor.fetchone()[0] != "LIST (batch_date)":
        raise ValueError(f"check {check.name}: a volume check reads {check.table} batch by batch, so the table "
                         "must be partitioned by list (batch_date), a partition per date")
    cursor.execute(check.window_batches(), {"business_date": business_date})
    for batch_date, batch, kept, _ in cursor.fetchall():
        if not kept:
            cursor.execute(check.batch_measure(), {"batch_date": batch_date})
            value = cursor.fetchone()[0]
            cursor.execute(check.keep_measure(), {"batch_date": batch_date, "batch": batch, "value": value})


def evaluate_all(cursor, checks: list[Check], business_date: str) -> list[CheckResult]:
    """Run every check. The rows of each scope are read once for their count and for every
    check that judges a row by its own values (``count_scope``): a million staged lines are
    scanned once, not once per such check."""
    params = query_parameters(cursor, checks, business_date)
    scopes: dict[tuple, list[Check]] = {}
    for check in checks:
        scopes.setdefault(check.scope_key, []).append(check)
    batch_rows: dict[tuple, int] = {}
    failing: dict[str, int] = {}
    for key, scoped in scopes.items():
        batch_rows[key], counts = count_scope(cursor, scoped, params)
        failing.update(counts)
    return [evaluate(cursor, check, business_date, batch_rows[check.scope_key], params, failing.get(check.name))
            for check in checks]


def persist(cursor, results: list[CheckResult], run_id: str, business_date: str) -> None:
    """Replace the results of these checks for this run and date in ``audit.dq_results`` (a run
    has a gate per layer, each replacing its own results: check names are unique across
    layers)."""
    cursor.execute("delete from audit.dq_results where run_id = %s and business_date = %s and check_name = any(%s)",
                   (run_id, business_date, [result.check.name for result in results]))
    for result in results:
        cursor.execute(
            """
            insert into audit.dq_results (run_id, business_date, check_name, table_name, severity,
                                          observed_value, threshold, status, failing_sample)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (run_id, business_date, result.check.name, result.check.table, result.check.severity,
             result.observed, result.check.threshold, result.status,
             json.dumps(result.sample, default=str) if result.sample else None),
        )


def number(value: float) -> str:
    """An observed value or threshold as a reader wants it: a whole number (a count) in full
    with thousands separators, ``36,360`` rather than ``3.636e+04``; a fraction to 4 significant
    digits."""
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def format_table(results: list[CheckResult]) -> str:
    """A plain-text table of every result, for the task log."""
    rows = [("check", "table", "severity", "observed", "threshold", "status")]
    for result in results:
        rows.append((result.check.name, result.check.table, result.check.severity,
                     number(result.observed), number(result.check.threshold), result.status.upper()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
