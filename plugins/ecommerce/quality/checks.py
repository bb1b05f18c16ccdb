"""Quality checks declared as data, each compiled to a query that returns the failing rows.

A check file is YAML with a ``checks`` list. Every check has a ``name``, a ``table``
(``schema.table``, restricted to the business date's batch through ``batch_date``), a
``type``, a ``severity`` (``error`` stops the pipeline, ``warn`` only reports) and a
threshold: ``max_fail_rate`` (failing rows / batch rows) or ``max_failures`` (a count,
0 by default). Types and their keys:

=================  =====================================================================
row_count_min      ``min``: the batch has fewer rows than this (observed = row count)
not_null           ``column`` is null or blank
unique             ``column`` values that occur more than once (every such row fails)
accepted_values    ``column`` (trimmed, lowercased) outside ``values``
relationship       ``column`` has no match in ``to_table``.``to_column`` (``same_batch``:
                   only the same batch of ``to_table``)
parseable          ``column`` does not parse as ``as`` (a PostgreSQL type)
range              ``column`` parses as numeric and lies outside [``min``, ``max``]
sql                ``query``: any query returning the failing rows (``%(business_date)s`` bound)
=================  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from psycopg import sql

SEVERITIES = ("error", "warn")


@dataclass(frozen=True)
class Check:
    name: str
    table: str
    type: str
    severity: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_rate(self) -> bool:
        return "max_fail_rate" in self.options

    @property
    def threshold(self) -> float:
        if self.type == "row_count_min":
            return float(self.options["min"])
        if self.uses_rate:
            return float(self.options["max_fail_rate"])
        return float(self.options.get("max_failures", 0))

    def table_identifier(self) -> sql.Identifier:
        schema, _, table = self.table.partition(".")
        return sql.Identifier(schema, table)

    def batch(self) -> sql.Composed:
        """The rows of the business date's batch of the checked table."""
        return sql.SQL("select * from {} where batch_date = %(business_date)s").format(self.table_identifier())

    def failing_rows(self) -> sql.Composable:
        """A query returning the rows that fail the check."""
        column = sql.Identifier(self.options["column"]) if "column" in self.options else None
        batch = self.batch()
        if self.type == "row_count_min":  # a check on the batch as a whole: no row fails alone
            return sql.SQL("select * from ({}) b where false").format(batch)
        if self.type == "not_null":
            return sql.SQL("select * from ({}) b where nullif(trim({}), '') is null").format(batch, column)
        if self.type == "unique":
            return sql.SQL(
                "select * from (select b.*, count(*) over (partition by {c}) as occurrences "
                "from ({batch}) b where {c} is not null) d where occurrences > 1"
            ).format(c=column, batch=batch)
        if self.type == "accepted_values":
            values = sql.SQL(", ").join(sql.Literal(str(v).lower()) for v in self.options["values"])
            return sql.SQL("select * from ({}) b where lower(trim({})) not in ({})").format(batch, column, values)
        if self.type == "relationship":
            schema, _, table = self.options["to_table"].partition(".")
            condition = sql.SQL("p.batch_date = %(business_date)s and ") if self.options.get("same_batch") else sql.SQL("")
            return sql.SQL(
                "select * from ({batch}) b where {c} is not null and not exists "
                "(select from {parent} p where {condition}trim(p.{pc}::text) = trim(b.{c}))"
            ).format(batch=batch, c=column, parent=sql.Identifier(schema, table), condition=condition,
                     pc=sql.Identifier(self.options["to_column"]))
        if self.type == "parseable":
            return sql.SQL(
                "select * from ({}) b where nullif(trim({c}), '') is not null "
                "and not pg_input_is_valid(trim({c}), {t})"
            ).format(batch, c=column, t=sql.Literal(self.options["as"]))
        if self.type == "range":
            return sql.SQL(
                "select * from ({}) b where pg_input_is_valid(trim({c}), 'numeric') "
                "and trim({c})::numeric not between {lo} and {hi}"
            ).format(batch, c=column, lo=sql.Literal(self.options["min"]), hi=sql.Literal(self.options["max"]))
        if self.type == "sql":
            return sql.SQL(self.options["query"])
        raise ValueError(f"check {self.name}: unknown type {self.type!r}")


_REQUIRED = {
    "row_count_min": ("min",),
    "not_null": ("column",),
    "unique": ("column",),
    "accepted_values": ("column", "values"),
    "relationship": ("column", "to_table", "to_column"),
    "parseable": ("column", "as"),
    "range": ("column", "min", "max"),
    "sql": ("query",),
}


def load_checks(path: Path) -> list[Check]:
    """Read and validate a check file; a malformed one fails with the file and check named."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    checks = []
    for position, entry in enumerate(document.get("checks", []), start=1):
        name = entry.get("name", f"#{position}")
        where = f"{path.name}: check {name}"
        for key in ("name", "table", "type", "severity"):
            if key not in entry:
                raise ValueError(f"{where}: missing key {key!r}")
        if entry["type"] not in _REQUIRED:
            raise ValueError(f"{where}: unknown type {entry['type']!r}")
        if entry["severity"] not in SEVERITIES:
            raise ValueError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
        if "." not in entry["table"]:
            raise ValueError(f"{where}: table must be schema.table")
        options = {k: v for k, v in entry.items() if k not in ("name", "table", "type", "severity", "description")}
        missing = [key for key in _REQUIRED[entry["type"]] if key not in options]
        if missing:
            raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
        checks.append(Check(entry["name"], entry["table"], entry["type"], entry["severity"], options))
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        raise ValueError(f"{path.name}: check names must be unique")
    return checks
