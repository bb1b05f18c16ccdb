"""Quality checks declared as data and compiled to SQL.

A check is a mapping (a YAML file's ``checks`` list is one source of them, see
``load_checks``; ``parse_checks`` takes a list from anywhere). Every check has a ``name``, a
``table`` (``schema.table``), a ``type`` and a ``severity`` (``error`` stops the pipeline,
``warn`` only reports).

**Scope**: the rows of ``table`` a check looks at (its "batch"; rates are failing rows / rows
in scope):

=================  =====================================================================
(default)          the business date's rows: ``date_column`` (default ``batch_date``, a
                   date) is the business date
date_key_column    instead, an integer ``YYYYMMDD`` date key (the warehouse's ``date_key``)
                   is the business date's
via                instead, ``schema.table.column``: the rows whose ``column`` is the
                   ``column`` of one of that table's rows of the business date (its
                   ``batch_date``), e.g. the lines of the date's orders, which have no date
                   of their own. The gate first looks up the least and the greatest such
                   key and binds them (``via_bounds``): the checked table's index on the
                   column reads just that range, and the planner, seeing the values,
                   plans a million lines as a million (a bound in a subquery is a guess
                   of half a percent: a hash join planned for thousands of rows spilled
                   to disk, 1 s where the range takes 0.1 s)
where              instead, the rows an SQL condition keeps (``%(business_date)s`` bound)
``scope: table``   every row of the table (a table whose size is not the history's: a
                   dimension, an analytics table), or those ``where`` keeps
=================  =====================================================================

**Row checks** compile to a query returning the failing rows. Their threshold is
``max_fail_rate`` (failing rows / rows in scope) or ``max_failures`` (a count, default 0):

=================  =====================================================================
not_null           ``column`` is null or blank
unique             ``column`` values (or ``columns``, a list, together) that occur more
                   than once (every such row fails)
accepted_values    ``column`` (trimmed, lowercased) outside ``values``
relationship       ``column`` has no match in ``to_table``.``to_column`` (``same_batch``:
                   only the same batch of ``to_table``). Text values (staging's) are
                   compared trimmed, typed ones as they are, so the key's index serves
parseable          ``column`` does not parse as ``as`` (a PostgreSQL type)
range              ``column`` parses as numeric and lies outside [``min``, ``max``]
scd2_ranges        an SCD Type 2 table's versions of one business key (``key``) whose
                   [``valid_from``, ``valid_to``) ranges overlap, or whose current flag
                   (``current``, default ``is_current``) is not "the range is open"
                   (``valid_to`` = infinity): so each key has exactly one current row,
                   but for a key whose last range was closed (deleted at the source),
                   which has none. Each failing row says its ``problem``
sql                ``query``: any query returning the failing rows (``%(business_date)s`` bound)
=================  =====================================================================

**Batch checks** compile to a query returning one observed value for the whole batch:

=================  =====================================================================
row_count_min      the batch's row count; fails below ``min``
freshness          hours from the latest ``column`` timestamp to the end of the business
                   date; fails above ``max_age_hours``
reconciliation     data lines the loader read (``audit.task_runs`` of ``task_id``) minus
                   the lines the staged records span and the lines quarantined; fails
                   unless 0 (a record with a quoted line break spans several lines)
volume_anomaly     ``measure`` (an aggregate over the batch) against its mean over the
                   previous ``window_days`` batches, as ``|today / mean - 1|``; fails above
                   ``max_deviation``. Passes, with a note, below ``min_history`` batches
                   (a batch counts when its measure has a value).
                   The table must be partitioned by list of ``batch_date``, a date per
                   partition (the staging loader's layout): each batch is measured once
                   per load (a reload is a new partition) and its measure kept in
                   ``audit.batch_measures``, so a day measures its own batch, not the
                   whole window again (rows changed in a partition in place, which the
                   loader never does, keep the measure kept for it).
balance            books that close between layers: ``measure`` (default ``count(*)``)
                   over the checked rows, plus each term of ``plus``, against the sum of
                   the terms of ``equals``; each term a ``table`` with its own
                   ``measure`` and scope keys (above). Observed: the difference; fails
                   above ``max_difference`` (default 0), noting every term's value
=================  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from psycopg import sql

SEVERITIES = ("error", "warn")
SCOPES = ("date", "table")
#: The keys that pick a scope's rows instead of the default date column (one at most).
_ROW_PICKERS = ("date_column", "date_key_column", "via", "where")
_SCOPE_KEYS = ("scope", *_ROW_PICKERS)

_ROW_CHECKS = {
    "not_null": ("column",),
    "unique": (),  # column or columns
    "accepted_values": ("column", "values"),
    "relationship": ("column", "to_table", "to_column"),
    "parseable": ("column", "as"),
    "range": ("column", "min", "max"),
    "scd2_ranges": ("key",),
    "sql": ("query",),
}
_BATCH_CHECKS = {
    "row_count_min": ("min",),
    "freshness": ("column", "max_age_hours"),
    "reconciliation": ("task_id",),
    "volume_anomaly": ("measure", "max_deviation"),
    "balance": ("equals",),
}
#: The keys a check of each type may have besides its required ones, its name, table, type,
#: severity, description and scope: any other is refused (a misspelt key would be ignored).
_OPTIONAL = {
    **{name: ("max_fail_rate", "max_failures") for name in _ROW_CHECKS},
    "unique": ("column", "columns", "max_fail_rate", "max_failures"),
    "relationship": ("same_batch", "max_fail_rate", "max_failures"),
    "scd2_ranges": ("valid_from", "valid_to", "current", "max_fail_rate", "max_failures"),
    "row_count_min": (),
    "freshness": (),
    "reconciliation": (),
    "volume_anomaly": ("window_days", "min_history"),
    "balance": ("measure", "plus", "max_difference"),
}
_TERM_KEYS = ("table", "measure", *_SCOPE_KEYS)


@dataclass(frozen=True)
class Check:
    name: str
    table: str
    type: str
    severity: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_batch_check(self) -> bool:
        return self.type in _BATCH_CHECKS

    @property
    def uses_rate(self) -> bool:
        return "max_fail_rate" in self.options

    @property
    def threshold(self) -> float:
        key = {"row_count_min": "min", "freshness": "max_age_hours", "volume_anomaly": "max_deviation"}.get(self.type)
        if key:
            return float(self.options[key])
        if self.type == "reconciliation":
            return 0.0
        if self.type == "balance":
            return float(self.options.get("max_difference", 0))
        return float(self.options.get("max_fail_rate" if self.uses_rate else "max_failures", 0))

    def passes(self, observed: float) -> bool:
        if self.type == "row_count_min":
            return observed >= self.threshold
        return observed <= self.threshold

    def table_identifier(self) -> sql.Identifier:
        schema, _, table = self.table.partition(".")
        return sql.Identifier(schema, table)

    @property
    def scope_key(self) -> tuple:
        """What picks the checked rows: checks with the same key count the same rows."""
        return (self.table, *(repr(self.options.get(key)) for key in _SCOPE_KEYS))

    def vias(self) -> set[str]:
        """The ``via`` scopes of the check and of its balance terms (their bounds are bound
        parameters of its queries: ``via_bounds``)."""
        left, right = self.balance_terms() if self.type == "balance" else ([("", self.options)], [])
        return {entry["via"] for _, entry in left + right if "via" in entry}

    def batch(self) -> sql.Composed:
        """The checked rows of the table: the business date's (by default) or all (``scope: table``)."""
        return scoped_rows(self.table, self.options)

    def failing_condition(self) -> sql.Composable | None:
        """The condition a row of the batch fails, for a row check that judges each row by its own
        values (not_null, accepted_values, parseable, range); None for the others. The gate
        counts every such check of a scope in one pass over its rows (``engine.evaluate_all``)."""
        column = sql.Identifier(self.options["column"]) if "column" in self.options else None
        if self.type == "not_null":
            return sql.SQL("nullif(trim({}::text), '') is null").format(column)
        if self.type == "accepted_values":
            values = sql.SQL(", ").join(sql.Literal(str(v).lower()) for v in self.options["values"])
            return sql.SQL("lower(trim({}::text)) not in ({})").format(column, values)
        if self.type == "parseable":
            return sql.SQL("nullif(trim({c}::text), '') is not null and not pg_input_is_valid(trim({c}::text), {t})"
                           ).format(c=column, t=sql.Literal(self.options["as"]))
        if self.type == "range":
            return sql.SQL("pg_input_is_valid(trim({c}::text), 'numeric') "
                           "and trim({c}::text)::numeric not between {lo} and {hi}"
                           ).format(c=column, lo=sql.Literal(self.options["min"]), hi=sql.Literal(self.options["max"]))
        return None

    def failing_rows(self, typed: bool = False) -> sql.Composable:
        """A row check's query returning the rows that fail it. ``typed``: the relationship's
        column is not text, so values are compared as they are (the engine looks it up)."""
        column = sql.Identifier(self.options["column"]) if "column" in self.options else None
        batch = self.batch()
        condition = self.failing_condition()
        if condition is not None:
            return sql.SQL("select * from ({}) b where {}").format(batch, condition)
        if self.type == "unique":
            columns = [sql.Identifier(name) for name in self.options.get("columns", [self.options.get("column")])]
            return sql.SQL(
                "select * from (select b.*, count(*) over (partition by {c}) as occurrences "
                "from ({batch}) b where {present}) d where occurrences > 1"
            ).format(c=sql.SQL(", ").join(columns), batch=batch,
                     present=sql.SQL(" and ").join(sql.SQL("{} is not null").format(c) for c in columns))
        if self.type == "relationship":
            schema, _, table = self.options["to_table"].partition(".")
            same_batch = sql.SQL("p.batch_date = %(business_date)s and " if self.options.get("same_batch") else "")
            parent_column = sql.Identifier(self.options["to_column"])
            match = (sql.SQL("p.{} = b.{}") if typed else sql.SQL("trim(p.{}::text) = trim(b.{})")).format(
                parent_column, column)
            return sql.SQL(
                "select * from ({batch}) b where {c} is not null and not exists "
                "(select from {parent} p where {same_batch}{match})"
            ).format(batch=batch, c=column, parent=sql.Identifier(schema, table), same_batch=same_batch, match=match)
        if self.type == "scd2_ranges":
            return self.scd2_problems()
        if self.type == "sql":
            return sql.SQL(self.options["query"])
        raise ValueError(f"check {self.name}: {self.type} is not a row check")

    def metric(self) -> sql.Composable:
        """A batch check's query returning (observed value, note); a null value fails."""
        batch = self.batch()
        if self.type == "row_count_min":
            return sql.SQL("select count(*), null from ({}) b").format(batch)
        if self.type == "freshness":
            return sql.SQL(
                "select extract(epoch from (%(business_date)s::date + 1)::timestamp at time zone 'UTC' "
                "- max(trim({c})::timestamptz)) / 3600, null "
                "from ({batch}) b where pg_input_is_valid(trim({c}), 'timestamptz')"
            ).format(c=sql.Identifier(self.options["column"]), batch=batch)
        if self.type == "reconciliation":
            schema, _, table = self.table.partition(".")
            return sql.SQL(
                "select abs(runs.rows_read - (select coalesce(sum(source_lines), 0) from ({batch}) b) - ("
                "  select count(*) from quarantine.rejected_rows where source_table = {name}"
                "  and batch_date = %(business_date)s and stage = 'staging')), null "
                "from (select rows_read from audit.task_runs where task_id = {task} "
                "      and business_date = %(business_date)s order by finished_at desc limit 1) runs"
            ).format(batch=batch, name=sql.Literal(table), task=sql.Literal(self.options["task_id"]))
        if self.type == "volume_anomaly":  # from the measures kept by engine.keep_batch_measures
            minimum = int(self.options.get("min_history", 7))
            return sql.SQL(
                "with daily as ({window}),"
                " today as (select value from daily where batch_date = %(business_date)s),"
                " history as (select avg(value) as mean, count(value) as days from daily"
                "  where batch_date < %(business_date)s)"
                "select case when history.days < {minimum} then 0"
                "            else abs(coalesce(today.value, 0) / nullif(history.mean, 0) - 1) end,"
                "       case when history.days < {minimum} then"
                "            format('only %%s of %%s days of history: not judged', history.days, {minimum}) end "
                "from history left join today on true"
            ).format(window=self.window_batches(), minimum=sql.Literal(minimum))
        raise ValueError(f"check {self.name}: {self.type} is not a batch check")

    def scd2_problems(self) -> sql.Composed:
        """An SCD2 check's failing versions, each with its ``problem``: its range overlaps the next
        version's of the same key, it is flagged current with its range closed (or the other way
        round), or it is a second current row of its key."""
        key = sql.Identifier(self.options["key"])
        valid_from = sql.Identifier(self.options.get("valid_from", "valid_from"))
        valid_to = sql.Identifier(self.options.get("valid_to", "valid_to"))
        current = sql.Identifier(self.options.get("current", "is_current"))
        return sql.SQL(
            "select * from ("
            " select v.*, concat_ws('; ',"
            "  case when v.next_valid_from < v.{valid_to}"
            "       then format('overlaps the next version of the key, from %%s', v.next_valid_from) end,"
            "  case when v.{current} and v.{valid_to} <> 'infinity' then 'flagged current but its range is closed' end,"
            "  case when not v.{current} and v.{valid_to} = 'infinity'"
            "       then 'its range is open but not flagged current' end,"
            "  case when v.{current} and v.current_rows > 1"
            "       then format('one of %%s current rows of the key', v.current_rows) end) as problem"
            " from (select b.*,"
            "        lead(b.{valid_from}) over (partition by b.{key} order by b.{valid_from}, b.{valid_to})"
            "          as next_valid_from,"
            "        count(*) filter (where b.{current}) over (partition by b.{key}) as current_rows"
            "       from ({batch}) b) v"
            ") p where problem <> ''"
        ).format(key=key, valid_from=valid_from, valid_to=valid_to, current=current, batch=self.batch())

    def balance_terms(self) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
        """A balance check's terms, each (label, table and scope): the left side (the checked
        rows, then ``plus``) and the right side (``equals``)."""
        def term(entry: dict) -> tuple[str, dict]:
            return f"{entry['table']} {entry.get('measure', 'count(*)')}", entry

        left = [term({"table": self.table, **self.options}), *map(term, self.options.get("plus", []))]
        equals = self.options["equals"]
        return left, [term(entry) for entry in (equals if isinstance(equals, list) else [equals])]

    def balance_values(self) -> sql.Composed:
        """A balance check's query returning each term's value, the left side's first."""
        left, right = self.balance_terms()
        return sql.SQL("select {}").format(sql.SQL(", ").join(
            sql.SQL("(select {} from ({}) b)").format(sql.SQL(entry.get("measure", "count(*)")),
                                                     scoped_rows(entry["table"], entry))
            for _, entry in left + right))

    # A volume check measures each batch once per load and keeps the measure (engine.py:
    # keep_batch_measures), so a day reads its own batch, not the whole window again. The window's
    # batches come from the catalog (the table's partitions and their dates), not from a scan.

    def window_batches(self) -> sql.Composed:
        """A volume check's batches in its window: (batch_date, batch, kept, value), where batch
        is the partition holding the date's rows (a reload is a new one) and value the measure
        kept for that partition, if kept. The table is partitioned by list (batch_date), a
        partition per date: the staging loader's layout (engine.keep_batch_measures checks it)."""
        window = int(self.options.get("window_days", 28))
        return sql.SQL(
            "select batches.batch_date, batches.batch, kept.batch is not null as kept, kept.value"
            " from (select (regexp_match(pg_get_expr(batch.relpartbound, batch.oid),"
            "                            $$^FOR VALUES IN \\('([^']*)'\\)$$))[1]::date as batch_date,"
            "              batch.oid as batch"
            "       from pg_inherits inner join pg_class as batch on batch.oid = pg_inherits.inhrelid"
            "       where pg_inherits.inhparent = {name}::regclass) as batches"
            " left join audit.batch_measures as kept on kept.table_name = {name} and kept.measure = {text}"
            "   and kept.batch_date = batches.batch_date and kept.batch = batches.batch"
            " where batches.batch_date between %(business_date)s::date - {window} and %(business_date)s"
            " order by batches.batch_date"
        ).format(name=sql.Literal(self.table), text=sql.Literal(self.options["measure"]),
                 window=sql.Literal(window))

    def batch_measure(self) -> sql.Composed:
        """A volume check's measure of the batch of ``%(batch_date)s``."""
        return sql.SQL("select {measure} from {table} where batch_date = %(batch_date)s").format(
            measure=sql.SQL(self.options["measure"]), table=self.table_identifier())

    def keep_measure(self) -> sql.Composed:
        """Keep ``%(value)s``, the measure of the batch of ``%(batch_date)s`` in partition ``%(batch)s``."""
        return sql.SQL(
            "insert into audit.batch_measures (table_name, measure, batch_date, batch, value)"
            " values ({name}, {text}, %(batch_date)s, %(batch)s, %(value)s)"
            " on conflict (table_name, measure, batch_date) do update set batch = excluded.batch, value = excluded.value"
        ).format(name=sql.Literal(self.table), text=sql.Literal(self.options["measure"]))


def scoped_rows(table: str, options: dict[str, Any]) -> sql.Composed:
    """The rows of ``table`` (``schema.table``) in the scope ``options`` name (module docstring)."""
    schema, _, name = table.partition(".")
    if "where" in options:
        condition = sql.SQL("({})").format(sql.SQL(options["where"]))
    elif "via" in options:
        parent, column = _via_parts(options["via"])
        first, last = via_parameters(options["via"])
        condition = sql.SQL("{c} between {first} and {last} and {c} in (select {c} from {parent} "
                            "where batch_date = %(business_date)s)").format(
            c=column, first=sql.Placeholder(first), last=sql.Placeholder(last), parent=parent)
    elif options.get("scope") == "table":
        condition = sql.SQL("true")
    elif "date_key_column" in options:
        condition = sql.SQL("{} = warehouse.date_key(%(business_date)s::date)").format(
            sql.Identifier(options["date_key_column"]))
    else:
        condition = sql.SQL("{} = %(business_date)s").format(sql.Identifier(options.get("date_column", "batch_date")))
    return sql.SQL("select * from {} where {}").format(sql.Identifier(schema, name), condition)


def _via_parts(via: str) -> tuple[sql.Identifier, sql.Identifier]:
    """The table and the column a ``via`` scope (``schema.table.column``) names."""
    schema, table, column = via.split(".")
    return sql.Identifier(schema, table), sql.Identifier(column)


def via_parameters(via: str) -> tuple[str, str]:
    """The names of the parameters holding a ``via`` scope's least and greatest key."""
    return f"first of {via}", f"last of {via}"


def via_bounds(via: str) -> sql.Composed:
    """The least and the greatest key of a ``via`` scope: its column over its table's rows of
    the business date. Aggregated over a subquery (``offset 0`` keeps it one): ``min()`` of a
    bare column would walk the column's index from its start, through every older date."""
    parent, column = _via_parts(via)
    return sql.SQL("select min(k), max(k) from (select {c} as k from {parent} where batch_date = %(business_date)s "
                   "offset 0) d").format(c=column, parent=parent)


def _scope_problem(entry: dict[str, Any]) -> str | None:
    """What is wrong with the scope keys of a check (or a balance term), if anything."""
    scope = entry.get("scope", "date")
    if scope not in SCOPES:
        return f"scope must be one of {', '.join(SCOPES)}"
    chosen = [key for key in _ROW_PICKERS if key in entry]
    if scope == "table" and set(chosen) - {"where"}:
        return f"scope table reads every row, not the date's: drop {', '.join(sorted(set(chosen) - {'where'}))}"
    if len(chosen) > 1:
        return f"one of {', '.join(_ROW_PICKERS)} picks the rows, not {', '.join(chosen)}"
    if "via" in entry and str(entry["via"]).count(".") != 2:
        return f"via names schema.table.column, not {entry['via']!r}"
    return None


def parse_checks(entries: list[dict[str, Any]], source: str) -> list[Check]:
    """Validate check declarations from any source (a YAML file's ``checks``, a model's home);
    a malformed one fails with ``source`` and the check named."""
    checks = []
    required_by_type = {**_ROW_CHECKS, **_BATCH_CHECKS}
    for position, entry in enumerate(entries, start=1):
        name = entry.get("name", f"#{position}")
        where = f"{source}: check {name}"
        for key in ("name", "table", "type", "severity"):
            if key not in entry:
                raise ValueError(f"{where}: missing key {key!r}")
        if entry["type"] not in required_by_type:
            raise ValueError(f"{where}: unknown type {entry['type']!r}")
        if entry["severity"] not in SEVERITIES:
            raise ValueError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
        if "." not in entry["table"]:
            raise ValueError(f"{where}: table must be schema.table")
        options = {k: v for k, v in entry.items() if k not in ("name", "table", "type", "severity", "description")}
        unknown = set(options) - {*required_by_type[entry["type"]], *_OPTIONAL[entry["type"]], *_SCOPE_KEYS}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} for type {entry['type']}")
        missing = [key for key in required_by_type[entry["type"]] if key not in options]
        if entry["type"] == "unique" and ("column" in options) == ("columns" in options):
            missing.append("column (or columns)")
        if missing:
            raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
        terms = []
        if entry["type"] == "balance":
            equals = options["equals"]
            terms = [*options.get("plus", []), *(equals if isinstance(equals, list) else [equals])]
            for term in terms:
                if not isinstance(term, dict) or "." not in str(term.get("table", "")):
                    raise ValueError(f"{where}: each term of plus and equals needs a table, schema.table")
                if set(term) - set(_TERM_KEYS):
                    raise ValueError(f"{where}: a term of plus and equals has only {', '.join(_TERM_KEYS)}, "
                                     f"not {', '.join(sorted(set(term) - set(_TERM_KEYS)))}")
        for scoped in (options, *terms):
            problem = _scope_problem(scoped)
            if problem:
                raise ValueError(f"{where}: {problem}")
        checks.append(Check(entry["name"], entry["table"], entry["type"], entry["severity"], options))
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        raise ValueError(f"{source}: check names must be unique")
    return checks


#: yaml.safe_load's loader, in C where PyYAML was built with libyaml (ten times faster: a layer's
#: gate reads its file at every run).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_checks(path: Path) -> list[Check]:
    """Read and validate a check file (YAML, a ``checks`` list)."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    return parse_checks(document.get("checks", []), path.name)


def layer_checks(layer: str) -> list[Check]:
    """The checks of a layer's gate: ``include/quality/<layer>.yml`` if there is one, then those
    the layer's model homes declare beside their tables (``ecommerce.models``)."""
    from ecommerce.models import home_checks
    from ecommerce.settings import QUALITY_DIR

    path = QUALITY_DIR / f"{layer}.yml"
    return [*(load_checks(path) if path.is_file() else []), *parse_checks(home_checks(layer), f"{layer} model homes")]
