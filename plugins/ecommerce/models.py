"""Model homes: every analytics table is declared once, in its model's file.

A SQL model's home is ``include/sql/analytics/<table>.sql``: a YAML header in a Jinja comment
(``{#- … -#}``, gone once Airflow renders the file) declares the table — its description,
columns with types and descriptions, key, how it is materialised and its quality checks — and
the SQL below it is the model's SELECT, after any statements that prepare it (temporary
tables). A table a Python task writes (the forecast's) has a header-only home,
``include/sql/analytics/<table>.yml``, naming the task (``written_by``).

Everything else is derived from the homes: the tables the bootstrap creates (``ddl``), the
statements ``SqlModelOperator`` runs (``materialize``), the DAG's analytics tasks and their
order (``layer_graph``, from the tables each model's SQL reads), the dashboard's and BI
tools' table list, the tests' content comparison.

Materialisations (``materialized``):

=============  ==========================================================================
table          the SELECT gives the whole table: ``truncate``, then ``insert … select``,
               in the model's transaction. The table is written afresh (a ``delete``
               of a million rows left as many dead ones behind, for the inserts to
               pass in the key and for vacuum: RFM over a million customers took
               4.8–6.1 s, then 3.5 s); its primary key is dropped before the rows go in
               and built from them after (one sort of the keys instead of an index
               insert, and its WAL record, per row: 0.4 s of RFM's 2.4 over a million
               customers, a third of the WAL; no slower for a few rows). A reader
               waits while the model runs, then reads the new rows and the key (a
               reader under ``repeatable read`` whose snapshot is older sees the table
               empty: ``TRUNCATE`` is not MVCC-safe)
incremental    by date: the model takes the dates it recomputes (the business date and the
               stale ones, macros/stale_dates.sql); the rows of those dates and of every
               date the SELECT gives (``incremental_by``, a date column) are replaced, the
               others kept
python         a Python task writes the table (``written_by``); the home declares it only
=============  ==========================================================================
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ecommerce.lineage import PARAMETER
from ecommerce.settings import SQL_DIR

#: The layers whose tables live in model homes.
HOME_LAYERS = ("analytics",)
MATERIALIZATIONS = ("table", "incremental", "python")
_HEADER = re.compile(r"\A\{#-?(?P<yaml>.*?)-?#\}\n?", re.DOTALL)
_NUMBER_PREFIX = re.compile(r"^\d+_")
_MADE_STALE_BY = re.compile(r"made_stale_by=\[(?P<changes>[^\]]*)\]")
_CHANGE = re.compile(r"'(?P<dimension>\w+)\.(?P<change>\w+)'")
#: What of a fact's dimension version a model's rows depend on (macros/stale_dates.sql).
STALE_CHANGES = ("key", "attributes")
#: The layers whose models may take stale dates.
STALE_LAYERS = ("warehouse", "analytics")
#: A piece of a file with nothing to run: whitespace, comments and semicolons only.
_NOTHING_TO_RUN = re.compile(r"(?:\s|--[^\n]*|/\*.*?\*/|;)*", re.DOTALL)
#: The temporary table an incremental model's rows are gathered in before they replace the old.
INCREMENTAL_ROWS = "model_rows"


@functools.lru_cache(maxsize=256)
def parameter_names(statements: tuple[str, ...]) -> frozenset[str]:
    """The parameters ``statements`` name (``%(name)s``)."""
    return frozenset(name for statement in statements for name in PARAMETER.findall(statement))


def bound_results(cursor, statements: tuple[str, ...], bound: dict) -> dict:
    """The parameters the statement just run on ``cursor`` binds for the model's ``statements``
    after it: a result of one row whose columns they all name as parameters, e.g.
    ``select array_agg(date_key) as recomputed_date_keys`` (macros/stale_dates.sql) for
    ``%(recomputed_date_keys)s``; none for any other result. A condition on a bound parameter is
    a constant when PostgreSQL plans a statement, so fact_sales' partitions it leaves out are
    never opened, unlike with a condition on a table the transaction wrote. A parameter already
    in ``bound`` (the business date, one bound before) is never bound again: such a result is
    an error, not a new value for the statements after it."""
    names = [column.name for column in cursor.description or ()]
    if not names or cursor.rowcount != 1 or not set(names) <= parameter_names(statements):
        return {}
    if again := sorted(set(names) & bound.keys()):
        raise ModelError(f"a statement's result would bind the parameters {again} again")
    return dict(zip(names, cursor.fetchone(), strict=True))


class ModelError(ValueError):
    """A model home that cannot be read: the file and what is wrong with it."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class Model:
    """One table and how it is built, as its home declares it."""

    file: str  # relative to include/sql: analytics/daily_kpis.sql
    table: str  # analytics.daily_kpis
    description: str
    materialized: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    incremental_by: str | None
    constraints: tuple[str, ...]
    checks: tuple[dict, ...]
    written_by: str  # the task writing it: the model's own task, or a Python task

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]

    @property
    def primary_key_name(self) -> str:
        """The name of the table's primary key constraint (PostgreSQL's own for it, named here
        because a ``table`` model drops and adds it again)."""
        return f"{self.name}_pkey"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def ddl(self) -> str:
        """``create table if not exists`` of the table as declared, comments included."""
        lines = [f"    {c.name} {c.type}{'' if c.nullable else ' not null'}" for c in self.columns]
        if self.primary_key:
            lines.append(f"    constraint {self.primary_key_name} primary key ({', '.join(self.primary_key)})")
        lines += [f"    check ({constraint})" for constraint in self.constraints]
        statements = [f"create table if not exists {self.table} (\n" + ",\n".join(lines) + "\n)",
                      f"comment on table {self.table} is {_literal(self.description)}"]
        statements += [f"comment on column {self.table}.{c.name} is {_literal(c.description)}" for c in self.columns]
        return ";\n".join(statements) + ";\n"

    def materialize(self, statements: tuple[str, ...]) -> tuple[str, ...]:
        """The statements that build the table from the model's own: those before the last
        prepare it, the last is its SELECT."""
        *prepare, select = statements
        select = select.rstrip().rstrip(";") + ";"  # the split keeps a statement's semicolon, if it had one
        columns = ", ".join(self.column_names)
        if self.materialized == "table":
            insert = f"insert into {self.table} ({columns})\n{select}"
            if not self.primary_key:
                return (*prepare, f"truncate {self.table};", insert)
            # The key built from the rows, not row by row (the module's docstring); the same
            # transaction, so the table is never seen without it.
            key = self.primary_key_name
            return (*prepare, f"truncate {self.table};", f"alter table {self.table} drop constraint {key};", insert,
                    f"alter table {self.table} add constraint {key} primary key ({', '.join(self.primary_key)});")
        by = self.incremental_by
        return (*prepare,
                f"create temporary table {INCREMENTAL_ROWS} (like {self.table}) on commit drop;",
                f"insert into {INCREMENTAL_ROWS} ({columns})\n{select}",
                # The dates as one array, known before the table is read: its key (the date
                # first) finds their rows; a join with them read every row of every date.
                f"delete from {self.table} where {by} = any(array("
                f"select date from recomputed_dates union select {by} from {INCREMENTAL_ROWS}));",
                f"insert into {self.table} ({columns}) select {columns} from {INCREMENTAL_ROWS};")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def task_id(stem: str) -> str:
    """A model file's task: ``040_fact_sales`` -> ``fact_sales``, ``daily_kpis`` -> ``daily_kpis``."""
    return _NUMBER_PREFIX.sub("", stem)


def read_home(path: Path) -> Model:
    """The model declared by the home file ``path`` (``.sql`` with a header, or ``.yml``)."""
    relative = path.relative_to(SQL_DIR).as_posix()
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yml":
        header = text
    else:
        match = _HEADER.match(text)
        if match is None:
            raise ModelError(f"{relative}: a model home starts with its header, a YAML block in {{#- … -#}}")
        header = match["yaml"]
    try:
        spec = yaml.safe_load(header) or {}
    except yaml.YAMLError as error:
        raise ModelError(f"{relative}: its header is not YAML: {error}") from error
    layer, stem = relative.rsplit("/", 1)[0], path.stem
    table = f"{layer}.{stem}"
    known = {"description", "materialized", "columns", "primary_key", "incremental_by", "constraints", "checks",
             "written_by"}
    if unknown := sorted(set(spec) - known):
        raise ModelError(f"{relative}: unknown keys {unknown}; a header has {sorted(known)}")
    materialized = spec.get("materialized", "python" if path.suffix == ".yml" else None)
    if materialized not in MATERIALIZATIONS:
        raise ModelError(f"{relative}: materialized must be one of {MATERIALIZATIONS}, not {materialized!r}")
    if (materialized == "python") != (path.suffix == ".yml"):
        raise ModelError(f"{relative}: a .yml home declares a table a Python task writes (materialized: python); "
                         "a .sql home, one its SQL builds")
    if materialized == "python" and not spec.get("written_by"):
        raise ModelError(f"{relative}: name the task that writes {table} (written_by)")
    columns = tuple(_column(relative, name, column) for name, column in (spec.get("columns") or {}).items())
    if not columns:
        raise ModelError(f"{relative}: declare the table's columns (columns: name: {{type, description}})")
    if not spec.get("description"):
        raise ModelError(f"{relative}: describe the table (description)")
    primary_key = tuple(spec.get("primary_key") or ())
    if missing := [name for name in primary_key if name not in {c.name for c in columns}]:
        raise ModelError(f"{relative}: primary_key names no declared column: {missing}")
    incremental_by = spec.get("incremental_by")
    if (materialized == "incremental") != bool(incremental_by):
        raise ModelError(f"{relative}: an incremental model, and only one, names the date column whose dates it "
                         "replaces (incremental_by)")
    if incremental_by and incremental_by not in {c.name for c in columns}:
        raise ModelError(f"{relative}: incremental_by names no declared column: {incremental_by!r}")
    if incremental_by and "take_stale_dates(" not in text:
        raise ModelError(f"{relative}: an incremental model takes the dates it recomputes (take_stale_dates, "
                         "macros/stale_dates.sql) before its SELECT")
    checks = tuple(_check(relative, table, check) for check in spec.get("checks") or ())
    return Model(file=relative, table=table, description=" ".join(spec["description"].split()),
                 materialized=materialized, columns=columns, primary_key=primary_key, incremental_by=incremental_by,
                 constraints=tuple(spec.get("constraints") or ()), checks=checks,
                 written_by=spec.get("written_by") or task_id(stem))


def _check(relative: str, table: str, check) -> dict:
    """A check of the home's table: its table is the home's (a check of another table belongs to
    that table's home, or to its layer's file)."""
    if not isinstance(check, dict) or "table" in check:
        raise ModelError(f"{relative}: a check is a mapping without a table (it checks {table}): {check!r}")
    return dict(check, table=table)


def _column(relative: str, name: str, spec) -> Column:
    if not isinstance(spec, dict) or not spec.get("type") or not spec.get("description"):
        raise ModelError(f"{relative}: column {name} needs a type and a description")
    return Column(name=name, type=spec["type"], description=" ".join(spec["description"].split()),
                  nullable=bool(spec.get("nullable", False)))


@functools.lru_cache(maxsize=None)
def homes(layer: str) -> tuple[Model, ...]:
    """The layer's models, in file-name order."""
    paths = sorted([*(SQL_DIR / layer).glob("*.sql"), *(SQL_DIR / layer).glob("*.yml")])
    return tuple(read_home(path) for path in paths)


def all_homes() -> tuple[Model, ...]:
    """Every model home, layer by layer."""
    return tuple(model for layer in HOME_LAYERS for model in homes(layer))


def home_of(file: str) -> Model | None:
    """The model a SQL file (relative to include/sql) is the home of; None for a model file of a
    layer whose tables the schema files declare."""
    layer = file.split("/", 1)[0]
    if layer not in HOME_LAYERS:
        return None
    return next((model for model in homes(layer) if model.file == file), None)


def home_checks(layer: str) -> list[dict]:
    """The quality checks the layer's model homes declare (each naming its home's table); none
    for a layer without homes."""
    return [check for model in homes(layer) for check in model.checks] if layer in HOME_LAYERS else []


def tables(layer: str) -> tuple[str, ...]:
    """The names of the layer's tables (``daily_kpis``, …), in file-name order."""
    return tuple(model.name for model in homes(layer))


def layer_graph(layer: str) -> dict[str, list[str]]:
    """The layer's SQL models as ``{file stem: [tasks it runs after]}``: after the task that
    writes each table of the layer its SQL reads (a SQL model's stem, or a Python task such as
    ``forecast``). Each table has one writer, so the order is the data's."""
    from ecommerce.lineage import parse_sql

    writers = {model.table: model.written_by for model in homes(layer)}
    graph = {}
    for model in homes(layer):
        if model.materialized == "python":
            continue
        reads = parse_sql(model_statements(model.file)).inputs
        graph[Path(model.file).stem] = sorted({writers[table] for table in reads if table in writers} - {model.name})
    return {stem: graph[stem] for stem in in_order(graph)}


def in_order(graph: dict[str, list[str]]) -> list[str]:
    """The models of ``graph`` each after those it names, else in name order; a cycle is an error."""
    done: list[str] = []
    while len(done) < len(graph):
        ready = [name for name, upstream in graph.items()
                 if name not in done and set(upstream) & graph.keys() <= set(done)]
        if not ready:
            raise ModelError(f"the models {sorted(graph.keys() - set(done))} read each other's tables in a cycle")
        done.append(ready[0])
    return done


@functools.lru_cache(maxsize=None)
def stale_declarations() -> dict[str, frozenset[tuple[str, str]]]:
    """Each model that takes stale dates, with the dimension changes it says make a date stale
    (``made_stale_by`` in its file): ``{model: {(dimension, change)}}``, the model named by its file."""
    declared = {}
    for layer in STALE_LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            text = path.read_text(encoding="utf-8")
            relative = path.relative_to(SQL_DIR).as_posix()
            found = _MADE_STALE_BY.search(text)
            if found is None:
                if re.search(r"take_stale_dates\(|sales_summary\.refresh\(", text):
                    raise ModelError(f"{relative}: a model taking stale dates declares what makes them stale, "
                                     "made_stale_by=['<dimension>.key' or '<dimension>.attributes', ...]")
                continue
            changes = frozenset((m["dimension"], m["change"]) for m in _CHANGE.finditer(found["changes"]))
            if not changes or any(change not in STALE_CHANGES for _, change in changes):
                raise ModelError(f"{relative}: made_stale_by names '<dimension>.key' or '<dimension>.attributes', "
                                 f"not {found['changes']}")
            declared[task_id(path.stem)] = changes
    return declared


def stale_models(dimension: str, change: str) -> list[str]:
    """The models a re-pointed fact of ``dimension`` makes stale for ``change`` (``key``:
    moved to or from the unknown member; ``attributes``: to a version with other attributes):
    a dimension queues their dates (macros/scd2.sql). A Jinja global of the model files."""
    return sorted(model for model, changes in stale_declarations().items() if (dimension, change) in changes)


@functools.lru_cache(maxsize=None)
def model_statements(sql: str) -> tuple[str, ...]:
    """The statements the model file ``sql`` runs, rendered, split and materialised once per process."""
    return materialized(sql, split_statements(render_model(sql)))


def materialized(sql: str, statements: tuple[str, ...]) -> tuple[str, ...]:
    """``statements`` of the model file ``sql`` as they build its table: a model home's SELECT
    wrapped as its header declares (``ecommerce.models``); another model's statements as they are."""
    home = home_of(sql)
    return home.materialize(statements) if home else statements


def join_statements(statements: tuple[str, ...]) -> str:
    """Statements as the text of a file (each keeps the semicolon the split left it)."""
    return "\n\n".join(statements) + "\n"


#: What model files may call besides their macros: the same in Airflow's rendering (the DAG's
#: ``user_defined_macros``) and here.
MODEL_GLOBALS = {"stale_models": stale_models}


def render_model(sql: str) -> str:
    """The text of the model file ``sql`` (relative to ``include/sql``), its Jinja rendered.

    Models share routines as Jinja macros (``include/sql/macros``), as dbt models do; values
    stay bound parameters, never rendered into the text.
    """
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(SQL_DIR), undefined=jinja2.StrictUndefined,
                                     keep_trailing_newline=True)
    environment.globals.update(MODEL_GLOBALS)
    return environment.get_template(sql).render()


@functools.lru_cache(maxsize=256)
def split_statements(text: str) -> tuple[str, ...]:
    """Split a SQL file into statements (sqlparse knows PostgreSQL's quoting), leaving out the
    pieces that are only comments.

    A regular expression finds those pieces: sqlparse's formatter, which stripped the comments
    before, took three times as long as the split (0.7 s against 0.23 s for all the models,
    paid again by every task process of ``make airflow``). Kept per text: a model's rendered
    text is the same for every business date (the date is a bound parameter).
    """
    import sqlparse

    return tuple(statement for statement in sqlparse.split(text) if not _NOTHING_TO_RUN.fullmatch(statement))
