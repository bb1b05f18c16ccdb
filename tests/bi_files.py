"""Read the committed BI files the way a reviewer would, independently of the generator.

The tests check the files, not the code that wrote them: this reads TMDL tables, measures and
relationships, PBIR visuals and the Tableau data source straight from dashboards/.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ecommerce.settings import PROJECT_ROOT

DASHBOARDS = PROJECT_ROOT / "dashboards"
PROJECT = DASHBOARDS / "powerbi"
MODEL = PROJECT / "ecommerce_analytics.SemanticModel" / "definition"
REPORT = PROJECT / "ecommerce_analytics.Report"
TDS = DASHBOARDS / "tableau" / "ecommerce_warehouse.tds"

_NAME = r"(?:'(?:[^']|'')+'|[\w]+)"


def unquote(name: str) -> str:
    return name[1:-1].replace("''", "'") if name.startswith("'") else name


@dataclass
class TmdlColumn:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


@dataclass
class TmdlMeasure:
    name: str
    expression: str
    description: list[str]
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class TmdlTable:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    columns: dict[str, TmdlColumn] = field(default_factory=dict)
    measures: dict[str, TmdlMeasure] = field(default_factory=dict)
    source: tuple[str, str] | None = None  # (schema, table) the partition loads


def read_table(path: Path) -> TmdlTable:
    lines = path.read_text(encoding="utf-8").splitlines()
    table: TmdlTable | None = None
    current = None
    description: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        depth = len(line) - len(line.lstrip("\t"))
        text = line.strip()
        i += 1
        if not text:
            continue
        if text.startswith("///"):
            description.append(text[3:].strip())
            continue
        if depth == 0 and text.startswith("table "):
            table, current = TmdlTable(unquote(text[6:])), None
        elif depth == 1 and (m := re.fullmatch(rf"column ({_NAME})", text)):
            current = table.columns.setdefault(unquote(m[1]), TmdlColumn(unquote(m[1])))
        elif depth == 1 and (m := re.fullmatch(rf"measure ({_NAME}) = (.*)", text)):
            expression = m[2]
            if expression == "```":
                body = []
                while lines[i].strip() != "```":
                    body.append(lines[i].strip())
                    i += 1
                i += 1
                expression = "\n".join(body)
            current = TmdlMeasure(unquote(m[1]), expression, description)
            table.measures[current.name] = current
        elif depth == 1 and text.startswith("partition "):
            current = None
            while i < len(lines) and (lines[i].startswith("\t\t") or not lines[i].strip()):
                if m := re.search(r'Source\{\[Schema = "(\w+)", Item = "(\w+)"\]\}', lines[i]):
                    table.source = (m[1], m[2])
                i += 1
        elif depth == 1:
            key, _, value = text.partition(":")
            table.properties[key.strip()] = value.strip()
        elif depth == 2 and current is not None and not text.startswith("annotation"):
            key, sep, value = text.partition(":")
            if sep:
                current.properties[key.strip()] = value.strip()
            elif isinstance(current, TmdlColumn):
                current.flags.add(text)
        description = [] if not text.startswith("///") else description
    return table


def tables() -> dict[str, TmdlTable]:
    return {t.name: t for t in map(read_table, sorted((MODEL / "tables").glob("*.tmdl")))}


def relationships() -> list[tuple[str, str, str, str]]:
    """(from table, from column, to table, to column) of relationships.tmdl."""
    text = (MODEL / "relationships.tmdl").read_text(encoding="utf-8")
    found = []
    for block in text.split("relationship ")[1:]:
        ends = {key: (unquote(table), unquote(column))
                for key, table, column in re.findall(rf"\t(fromColumn|toColumn): ({_NAME})\.({_NAME})", block)}
        assert "toCardinality" not in block and "fromCardinality" not in block, "only many-to-one relationships"
        found.append((*ends["fromColumn"], *ends["toColumn"]))
    return found


def visuals() -> dict[str, dict]:
    """Path (relative to the report) -> visual.json of every visual."""
    return {p.relative_to(REPORT).as_posix(): json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(REPORT.rglob("visual.json"))}


def fields(visual: dict):
    """(kind, table, name) of every field a visual projects: kind is Column or Measure."""
    for state in visual["visual"]["query"]["queryState"].values():
        for projection in state["projections"]:
            expression = projection["field"]
            if "Aggregation" in expression:
                expression = expression["Aggregation"]["Expression"]
            (kind, target), = expression.items()
            yield kind, target["Expression"]["SourceRef"]["Entity"], target["Property"]


def dax_references(expression: str) -> tuple[set[tuple[str, str]], set[str]]:
    """(table[column] references, [measure] references) of a DAX expression, minus the
    columns the expression itself adds (ADDCOLUMNS' "@name")."""
    columns = {(unquote(t), c) for t, c in re.findall(rf"({_NAME})\[([^\]]+)\]", expression)}
    local = set(re.findall(r'"(@\w+)"', expression))
    measures = {m for m in re.findall(r"(?<![\w'\]])\[([^\]]+)\]", expression) if m not in local}
    return columns, measures
