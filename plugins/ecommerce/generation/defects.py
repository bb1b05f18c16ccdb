"""Labelled defects: bad rows added to (or noise put into) the generated files, each counted.

Defects are added as *extra* records next to the clean ones — a copy of a customer with a
broken email, an order line with quantity 0, a line with a column missing — so the clean data
stays complete and the pipeline's answers do not depend on the defect rate. Only the
whitespace-and-case noise edits real rows, and cleaning undoes it. The manifest counts every
kind per file; ``EXPECTED_OUTCOME`` says where the pipeline must put each kind.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecommerce.contract import RAW_COLUMNS
from ecommerce.generation.csv_format import csv_text

#: Where each defect kind must end up: (stage, reason) in quarantine, or a non-quarantine fate.
EXPECTED_OUTCOME: dict[str, tuple[str, str]] = {
    "wrong_column_count": ("staging", "wrong_column_count"),
    "broken_quoting": ("staging", "broken_quoting"),
    "invalid_email": ("production", "invalid_email"),
    "unparseable_date": ("production", "invalid_date"),
    "unparseable_timestamp": ("production", "invalid_timestamp"),
    "unparseable_number": ("production", "invalid_number"),
    "missing_required_value": ("production", "missing_required_value"),
    "negative_price": ("production", "negative_price"),
    "non_positive_quantity": ("production", "non_positive_quantity"),
    "unknown_customer": ("production", "unknown_customer"),
    "unknown_product": ("production", "unknown_product"),
    "exact_duplicate": ("collapsed", "duplicate"),
    "duplicate_key_conflict": ("collapsed", "duplicate"),
    "whitespace_case_noise": ("cleaned", "normalised"),
}

#: Defect kinds each file can carry.
KINDS: dict[str, tuple[str, ...]] = {
    # Noise comes first: it edits rows in place, and later copies must copy the edited rows.
    "customers": ("whitespace_case_noise", "exact_duplicate", "duplicate_key_conflict", "invalid_email",
                  "unparseable_date", "missing_required_value", "wrong_column_count", "broken_quoting"),
    "products": ("exact_duplicate", "duplicate_key_conflict", "negative_price", "unparseable_number",
                 "wrong_column_count"),
    "transactions": ("exact_duplicate", "unknown_customer", "unparseable_timestamp", "unparseable_number",
                     "missing_required_value", "wrong_column_count", "broken_quoting"),
    "transaction_items": ("exact_duplicate", "non_positive_quantity", "negative_price", "unknown_product",
                          "unparseable_number", "missing_required_value", "wrong_column_count",
                          "broken_quoting"),
}

#: Ids far above anything generated: references that resolve to nothing.
UNKNOWN_ID_BASE = 900_000_000_000
#: Line numbers of added order lines start here, clear of real ones.
EXTRA_LINE_BASE = 1000
#: Transaction ids of added orders: a sequence above the day's real orders.
EXTRA_ORDER_OFFSET = 9_000_000


@dataclass
class Injected:
    """Rows to write for one chunk: the frame (with added records) and raw malformed lines."""

    frame: pd.DataFrame
    malformed: list[str] = field(default_factory=list)


def _csv_line(table: str, row: pd.DataFrame) -> str:
    return csv_text(row, RAW_COLUMNS[table], header=False).rstrip("\n")


def inject(table: str, frame: pd.DataFrame, rate: float, g: np.random.Generator, counts: Counter,
           day_first_id: int = 0, chunk: int = 0) -> Injected:
    """Add this chunk's defects to ``frame`` (a clean chunk of ``table``), counting each kind.

    About ``rate`` of the chunk's row count gets a defect, spread evenly over the kinds the
    table can carry.
    """
    if rate <= 0 or frame.empty:
        return Injected(frame)
    frame = frame.copy()
    added: list[pd.DataFrame] = []
    malformed: list[str] = []
    kinds = KINDS[table]
    per_kind = g.multinomial(int(g.binomial(len(frame), rate)), np.full(len(kinds), 1 / len(kinds)))
    for kind, n in zip(kinds, per_kind.tolist()):
        if n == 0:
            continue
        counts[kind] += n
        picks = frame.iloc[g.integers(0, len(frame), n)].copy()
        if kind == "whitespace_case_noise":
            rows = g.choice(len(frame), n, replace=False) if n <= len(frame) else np.arange(len(frame))
            column = frame.columns.get_loc("email")
            frame.iloc[rows, column] = "  " + frame.iloc[rows, column].str.upper() + " "
            first = frame.columns.get_loc("first_name")
            frame.iloc[rows, first] = frame.iloc[rows, first].str.upper() + "  "
            continue
        if kind in ("wrong_column_count", "broken_quoting"):
            for position in range(len(picks)):
                line = _csv_line(table, picks.iloc[[position]])
                if kind == "wrong_column_count":
                    line = line.rsplit(",", 1)[0]
                else:
                    head, _, tail = line.partition(",")
                    line = f'{head},"{tail}'
                malformed.append(line)
            continue
        added.append(_break(table, kind, picks, g, day_first_id, chunk, len(added)))
    if added:
        frame = pd.concat([frame, *added], ignore_index=True)
        frame = frame.iloc[g.permutation(len(frame))].reset_index(drop=True)
    return Injected(frame, malformed)


def _break(table: str, kind: str, rows: pd.DataFrame, g: np.random.Generator, day_first_id: int,
           chunk: int, serial: int) -> pd.DataFrame:
    """Copies of ``rows`` given defect ``kind``."""
    rows = rows.astype(object)
    n = len(rows)
    offset = chunk * 100_000 + serial * 10_000  # distinct added ids across kinds and chunks
    new_orders = day_first_id + EXTRA_ORDER_OFFSET + offset + np.arange(n)
    if kind == "exact_duplicate":
        return rows
    if kind == "duplicate_key_conflict":  # an older version of the record, with other values
        rows["updated_at"] = "2020-01-01T00:00:00Z"
        name = "first_name" if table == "customers" else "product_name"
        rows[name] = rows[name] + " (stale)"
        return rows
    if kind == "invalid_email":
        rows["email"] = rows["email"].str.replace("@", " at ", regex=False)
        return rows
    if kind == "unparseable_date":
        rows["signup_date"] = "2026-02-30"
        return rows
    if kind == "unparseable_timestamp":
        rows["transaction_id"] = new_orders
        rows["transaction_ts"] = "2026-13-45T25:61:00Z"
        return rows
    if kind == "unknown_customer":
        rows["transaction_id"] = new_orders
        rows["customer_id"] = UNKNOWN_ID_BASE + offset + np.arange(n)
        return rows
    if kind == "missing_required_value":
        if table == "customers":
            rows["email"] = ""
        elif table == "transactions":
            rows["transaction_id"] = new_orders
            rows["customer_id"] = ""
        else:
            rows["line_number"] = EXTRA_LINE_BASE + offset + np.arange(n)
            rows["product_id"] = ""
        return rows
    if kind == "unparseable_number":
        if table == "products":
            rows["unit_price"] = "12.99.1"
        elif table == "transactions":
            rows["transaction_id"] = new_orders
            rows["shipping_cost"] = "4,99"
        else:
            rows["line_number"] = EXTRA_LINE_BASE + offset + np.arange(n)
            rows["quantity"] = "two"
        return rows
    if kind == "negative_price":
        if table == "products":
            rows["unit_price"] = -rows["unit_price"].astype(float)
        else:
            rows["line_number"] = EXTRA_LINE_BASE + offset + np.arange(n)
            rows["unit_price"] = -rows["unit_price"].astype(float)
        return rows
    if kind == "non_positive_quantity":
        rows["line_number"] = EXTRA_LINE_BASE + offset + np.arange(n)
        rows["quantity"] = g.integers(-2, 1, n)
        return rows
    if kind == "unknown_product":
        rows["line_number"] = EXTRA_LINE_BASE + offset + np.arange(n)
        rows["product_id"] = UNKNOWN_ID_BASE + offset + np.arange(n)
        return rows
    raise ValueError(f"no defect {kind!r} for {table}")
