"""The semantic model: include/bi/semantic_model.yml resolved against the warehouse catalog.

The YAML file says which tables, which relationships, which measures and pages; the catalog says
which columns each table has and their types. Every name the YAML uses (hidden columns, sort
columns, formats, relationship keys, visual fields) must exist in the catalog, or ``resolve``
raises with the list of what does not.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ecommerce.settings import INCLUDE_DIR

SPEC_FILE = INCLUDE_DIR / "bi" / "semantic_model.yml"
#: Measures are defined on this table (Power BI needs a home table for each).
MEASURE_TABLE = "fact_sales"
_NAMESPACE = uuid.UUID("5b0f2a52-4c1e-4d8e-9f6e-6a1f0c3e2b17")
_AGGREGATIONS = {"sum": 0, "avg": 1, "countdistinct": 2, "min": 3, "max": 4, "count": 5}
#: A report field: table.column, table.[Measure], or agg(table.column).
FIELD = re.compile(r"^(?:(?P<agg>\w+)\()?(?P<table>\w+)\.(?:\[(?P<measure>[^\]]+)\]|(?P<column>\w+))\)?$")
# Columns that identify or label rather than count: never summed by default.
_NOT_ADDITIVE = re.compile(r"(_id|_sk|_key|_rank|_score|_days|_windows|_first|_of_week|_of_month|_of_year|^month|^quarter|^year|^frequency)$")


class ModelError(ValueError):
    """The YAML file names something the warehouse does not have."""


def stable_id(*parts: str) -> str:
    """A UUID that depends only on ``parts``: regenerated files stay byte for byte the same."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str            # information_schema data_type
    hidden: bool = False
    is_key: bool = False
    format_kind: str | None = None  # a key of the YAML's formats: money, percent
    sort_by: str | None = None

    @property
    def is_integer(self) -> bool:
        return self.sql_type in ("smallint", "integer", "bigint")

    @property
    def is_number(self) -> bool:
        return self.is_integer or self.sql_type in ("numeric", "double precision", "real")

    @property
    def additive(self) -> bool:
        """Summed when dragged into a visual: counts and money, not ids, ranks or rates."""
        return self.is_number and not _NOT_ADDITIVE.search(self.name) and (self.is_integer or self.format_kind == "money")


@dataclass(frozen=True)
class Table:
    name: str
    schema: str
    description: str
    columns: tuple[Column, ...]
    date_column: str | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Measure:
    name: str
    description: str
    dax: str
    format: str
    sql: str
    shown_by: str


@dataclass(frozen=True)
class Relationship:
    from_table: str
    from_column: str
    to_table: str
    to_column: str


@dataclass(frozen=True)
class Field:
    """One field of a visual: a column, a measure, or an aggregated column."""
    table: str
    name: str
    kind: str                       # "column" or "measure"
    aggregation: str | None = None  # sum, avg, count, ... for an aggregated column

    @property
    def query_ref(self) -> str:
        ref = f"{self.table}.{self.name}"
        return f"{self.aggregation.capitalize()}({ref})" if self.aggregation else ref


@dataclass(frozen=True)
class Visual:
    type: str
    title: str
    span: int
    roles: dict[str, tuple[Field, ...]]


@dataclass(frozen=True)
class Page:
    name: str
    visuals: tuple[Visual, ...]


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    database: str
    user: str

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Model:
    connection: Connection
    tables: tuple[Table, ...]
    relationships: tuple[Relationship, ...]
    measures: tuple[Measure, ...]
    pages: tuple[Page, ...]
    formats: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def load_spec(path: Path = SPEC_FILE) -> dict:
    return with_model_homes(yaml.safe_load(path.read_text(encoding="utf-8")))


def with_model_homes(spec: dict) -> dict:
    """Every table a model home declares is in the model, described as its home describes it:
    the file lists a home's table only for what BI alone needs (hidden columns, sort orders)."""
    from ecommerce.models import all_homes

    listed = {(entry["schema"], entry["name"]): entry for entry in spec["tables"]}
    for home in all_homes():
        schema, name = home.table.split(".")
        entry = listed.get((schema, name))
        if entry is None:
            spec["tables"].append({"name": name, "schema": schema, "description": home.description})
        else:
            entry.setdefault("description", home.description)
    return spec


def read_catalog(cursor, tables: list[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, data_type)] in column order, from information_schema."""
    cursor.execute(
        """
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where (table_schema, table_name) in (select * from unnest(%s::text[], %s::text[]))
        order by table_schema, table_name, ordinal_position
        """,
        ([schema for schema, _ in tables], [name for _, name in tables]),
    )
    catalog: dict = {}
    for schema, table, column, data_type in cursor.fetchall():
        catalog.setdefault((schema, table), []).append((column, data_type))
    return catalog


def _tables(spec: dict, catalog: dict, problems: list[str]) -> list[Table]:
    format_of = {column: kind for kind, entry in spec.get("formats", {}).items() for column in entry["columns"]}
    all_columns = {column for columns in catalog.values() for column, _ in columns}
    problems += [f"formats: no table has a column {c!r}" for c in sorted(set(format_of) - all_columns)]
    tables = []
    for entry in spec["tables"]:
        name, schema = entry["name"], entry["schema"]
        found = catalog.get((schema, name))
        if not found:
            problems.append(f"table {schema}.{name} is not in the warehouse")
            continue
        hidden, sort_by = set(entry.get("hidden", [])), dict(entry.get("sort_by", {}))
        date_column = entry.get("date_column")
        names = [column for column, _ in found]
        problems += [f"{name}: no column {wanted!r}" for wanted in
                     [*hidden, *sort_by, *sort_by.values(), *([date_column] if date_column else [])] if wanted not in names]
        columns = tuple(Column(column, data_type, hidden=column in hidden, is_key=column == date_column,
                               format_kind=format_of.get(column), sort_by=sort_by.get(column))
                        for column, data_type in found)
        tables.append(Table(name, schema, entry["description"], columns, date_column))
    return tables


def _relationships(spec: dict, by_name: dict[str, Table], problems: list[str]) -> list[Relationship]:
    relationships = []
    for left, right in spec.get("relationships", []):
        (from_table, from_column), (to_table, to_column) = left.split("."), right.split(".")
        for table, column in ((from_table, from_column), (to_table, to_column)):
            if table not in by_name or not by_name[table].column(column):
                problems.append(f"relationship {left} -> {right}: no column {table}.{column}")
        relationships.append(Relationship(from_table, from_column, to_table, to_column))
    return relationships


def _field(ref: str, by_name: dict[str, Table], measure_names: set[str], problem) -> Field | None:
    """A visual's field from ``table.column``, ``table.[Measure]`` or ``agg(table.column)``."""
    parsed = FIELD.match(ref)
    if not parsed:
        problem(f"cannot read field {ref!r}")
        return None
    table, aggregation = parsed["table"], parsed["agg"]
    if parsed["measure"]:
        if parsed["measure"] not in measure_names or table != MEASURE_TABLE:
            problem(f"no measure {ref!r}")
        return Field(table, parsed["measure"], "measure")
    if table not in by_name or not by_name[table].column(parsed["column"]):
        problem(f"no column {ref!r}")
    if aggregation and aggregation not in _AGGREGATIONS:
        problem(f"unknown aggregation {aggregation!r}")
    return Field(table, parsed["column"], "column", aggregation)


def _pages(spec: dict, by_name: dict[str, Table], measure_names: set[str], problems: list[str]) -> list[Page]:
    pages = []
    for page in spec.get("pages", []):
        def problem(text: str, page_name=page["name"]) -> None:
            problems.append(f"page {page_name!r}: {text}")

        visuals = []
        for visual in page["visuals"]:
            roles = {role: tuple(f for ref in refs if (f := _field(ref, by_name, measure_names, problem)))
                     for role, refs in visual["fields"].items()}
            visuals.append(Visual(visual["type"], visual["title"], int(visual.get("span", 1)), roles))
        pages.append(Page(page["name"], tuple(visuals)))
    return pages


def resolve(spec: dict, catalog: dict) -> Model:
    """Check ``spec`` against ``catalog`` and build the model; ModelError lists every mismatch."""
    problems: list[str] = []
    formats = {kind: entry["format"] for kind, entry in spec.get("formats", {}).items()}
    tables = _tables(spec, catalog, problems)
    by_name = {t.name: t for t in tables}
    relationships = _relationships(spec, by_name, problems)
    measures = tuple(
        Measure(m["name"], m["description"], m["dax"], formats.get(m["format"], m["format"]), m["sql"], m["shown_by"])
        for m in spec.get("measures", [])
    )
    pages = _pages(spec, by_name, {m.name for m in measures}, problems)
    if problems:
        raise ModelError("include/bi/semantic_model.yml does not match the warehouse:\n  " + "\n  ".join(problems))
    return Model(Connection(**spec["connection"]), tuple(tables), tuple(relationships), measures, tuple(pages), formats)


def aggregation_code(name: str) -> int:
    """The PBIR QueryAggregateFunction number of an aggregation name."""
    return _AGGREGATIONS[name]


def build(cursor, spec: dict | None = None) -> Model:
    """The model of the warehouse ``cursor`` is connected to."""
    spec = spec or load_spec()
    catalog = read_catalog(cursor, [(t["schema"], t["name"]) for t in spec["tables"]])
    return resolve(spec, catalog)
