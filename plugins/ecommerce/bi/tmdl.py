"""The Power BI semantic model as TMDL (Tabular Model Definition Language) files.

Layout and syntax follow Microsoft's documented TMDL format as Power BI Desktop saves it in a
project (``<name>.SemanticModel/definition/``): one object per indentation level (tabs),
``///`` descriptions, ``ref`` lines for ordering, multi-line expressions fenced with ```.
Tables load with Power Query from ``PostgreSQL.Database(Server, Database)``; ``Server`` and
``Database`` are model parameters.
"""

from __future__ import annotations

import json

from ecommerce.bi.model import MEASURE_TABLE, Column, Model, Table, stable_id

NAME = "ecommerce_analytics"
NUMBER_FORMAT = "#,0.00"
_TYPES = {"smallint": "int64", "integer": "int64", "bigint": "int64", "numeric": "decimal",
          "double precision": "double", "real": "double", "boolean": "boolean", "date": "dateTime",
          "timestamp with time zone": "dateTime", "timestamp without time zone": "dateTime"}


def quote(name: str) -> str:
    """A TMDL object name: quoted when it is not a plain identifier."""
    return name if name.replace("_", "a").isalnum() and not name[0].isdigit() else "'" + name.replace("'", "''") + "'"


def data_type(column: Column) -> str:
    """The TMDL data type of a warehouse column (text, jsonb and anything else: string)."""
    return _TYPES.get(column.sql_type, "string")


def format_string(column: Column, formats: dict[str, str]) -> str | None:
    if column.format_kind:
        return formats[column.format_kind]
    if column.sql_type == "date":
        return "yyyy-mm-dd"
    if column.sql_type.startswith("timestamp"):
        return "yyyy-mm-dd hh:nn:ss"
    if column.is_integer:
        return "0" if column.hidden or not column.additive else "#,0"
    if column.is_number:
        return NUMBER_FORMAT
    return None


def _description(text: str, indent: str) -> list[str]:
    return [f"{indent}/// {line}".rstrip() for line in text.strip().splitlines()]


def _expression(text: str, indent: str) -> str:
    """``= expr`` on one line, or fenced with ``` over several (TMDL's multi-line form)."""
    lines = text.strip().splitlines()
    if len(lines) == 1:
        return lines[0]
    body = "\n".join(f"{indent}{line}".rstrip() for line in lines)
    return f"```\n{body}\n{indent}```"


def _column(table: Table, column: Column, formats: dict[str, str]) -> list[str]:
    lines = [f"\tcolumn {quote(column.name)}", f"\t\tdataType: {data_type(column)}"]
    if column.is_key:
        lines.append("\t\tisKey")
    if column.hidden:
        lines.append("\t\tisHidden")
    fmt = format_string(column, formats)
    if fmt:
        lines.append(f"\t\tformatString: {fmt}")
    lines += [
        f"\t\tlineageTag: {stable_id(NAME, table.name, column.name)}",
        f"\t\tsummarizeBy: {'sum' if column.additive and not column.hidden else 'none'}",
        f"\t\tsourceColumn: {column.name}",
    ]
    if column.sort_by:
        lines.append(f"\t\tsortByColumn: {quote(column.sort_by)}")
    lines += ["", "\t\tannotation SummarizationSetBy = Automatic"]
    if column.sql_type == "date":
        lines += ["", "\t\tannotation UnderlyingDateTimeDataType = Date"]
    return lines + [""]


def table_file(model: Model, table: Table) -> str:
    lines = _description(table.description, "") + [f"table {quote(table.name)}",
                                                   f"\tlineageTag: {stable_id(NAME, table.name)}"]
    if table.date_column:
        lines.append("\tdataCategory: Time")
    lines.append("")
    if table.name == MEASURE_TABLE:
        for measure in model.measures:
            lines += _description(f"{measure.description}\nSQL: {' '.join(measure.sql.split())}", "\t")
            lines += [f"\tmeasure {quote(measure.name)} = {_expression(measure.dax, chr(9) * 3)}",
                      f"\t\tformatString: {measure.format}",
                      f"\t\tlineageTag: {stable_id(NAME, table.name, 'measure', measure.name)}", ""]
    for column in table.columns:
        lines += _column(table, column, model.formats)
    lines += [
        f"\tpartition {quote(table.name)} = m",
        "\t\tmode: import",
        "\t\tsource =",
        "\t\t\t\tlet",
        "\t\t\t\t    Source = PostgreSQL.Database(Server, Database),",
        f'\t\t\t\t    Data = Source{{[Schema = "{table.schema}", Item = "{table.name}"]}}[Data]',
        "\t\t\t\tin",
        "\t\t\t\t    Data",
        "",
        "\tannotation PBI_ResultType = Table",
        "",
    ]
    return "\n".join(lines)


def _parameter(name: str, value: str, description: str) -> list[str]:
    return _description(description, "") + [
        f'expression {name} = {json.dumps(value)} meta [IsParameterQuery=true, Type="Text", IsParameterQueryRequired=true]',
        f"\tlineageTag: {stable_id(NAME, 'parameter', name)}",
        "",
        "\tannotation PBI_ResultType = Text",
        "",
    ]


def files(model: Model) -> dict[str, str]:
    """Relative path -> text of every file of ``<NAME>.SemanticModel``."""
    root = f"{NAME}.SemanticModel"
    definition = f"{root}/definition"
    query_order = ["Server", "Database", *(t.name for t in model.tables)]
    out = {
        f"{root}/definition.pbism": json.dumps({
            "$schema": "https://developer.microsoft.com/json-schemas/fabric/item/semanticModel/definitionProperties/1.0.0/schema.json",
            "version": "4.0",
            "settings": {},
        }, indent=2) + "\n",
        f"{definition}/database.tmdl": f"database {NAME}\n\tcompatibilityLevel: 1601\n\tcompatibilityMode: powerBI\n",
        f"{definition}/model.tmdl": "\n".join([
            "model Model",
            "\tculture: en-US",
            "\tdefaultPowerBIDataSourceVersion: powerBI_V3",
            "\tsourceQueryCulture: en-US",
            "\tdataAccessOptions",
            "\t\tlegacyRedirects",
            "\t\treturnErrorValuesAsNull",
            "",
            f"annotation PBI_QueryOrder = {json.dumps(query_order, separators=(',', ':'))}",
            "",
            # dim_date is the date table: no automatic hidden date tables per date column.
            "annotation __PBI_TimeIntelligenceEnabled = 0",
            "",
            *(f"ref table {quote(t.name)}" for t in model.tables),
            "",
        ]),
        f"{definition}/expressions.tmdl": "\n".join(
            _parameter("Server", model.connection.server,
                       "The warehouse's host:port (PostgreSQL). Local: ECOMMERCE_WAREHOUSE_PORT; Docker: WAREHOUSE_PORT.")
            + _parameter("Database", model.connection.database, "The warehouse database.")
        ),
        f"{definition}/relationships.tmdl": "\n".join(
            line
            for r in model.relationships
            for line in (
                f"relationship {stable_id(NAME, 'relationship', r.from_table, r.from_column, r.to_table, r.to_column)}",
                f"\tfromColumn: {quote(r.from_table)}.{quote(r.from_column)}",
                f"\ttoColumn: {quote(r.to_table)}.{quote(r.to_column)}",
                "",
            )
        ),
    }
    for table in model.tables:
        out[f"{definition}/tables/{table.name}.tmdl"] = table_file(model, table)
    return out
