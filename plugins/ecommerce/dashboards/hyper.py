"""Write the analytics tables to a Tableau Hyper extract (opens in Tableau Desktop and Public)."""

from __future__ import annotations

from pathlib import Path

from ecommerce.dashboards.data import ANALYTICS_TABLES


def _hyper_type(data_type: str, precision, scale):
    from tableauhyperapi import SqlType

    if data_type in ("smallint", "integer", "bigint"):
        return SqlType.big_int()
    if data_type == "numeric":
        return SqlType.numeric(18, scale if scale is not None else 4) if (precision or 18) <= 18 else SqlType.double()
    if data_type == "boolean":
        return SqlType.bool()
    if data_type == "date":
        return SqlType.date()
    if data_type.startswith("timestamp"):
        return SqlType.timestamp_tz() if "with time zone" in data_type else SqlType.timestamp()
    return SqlType.text()  # text, jsonb and anything else, as text


def export(conn, out: Path, tables: tuple[str, ...] = ANALYTICS_TABLES) -> dict[str, int]:
    """Write ``tables`` of schema ``analytics`` to ``out``; return rows written per table."""
    from tableauhyperapi import (
        Connection,
        CreateMode,
        HyperProcess,
        Inserter,
        SchemaName,
        TableDefinition,
        TableName,
        Telemetry,
    )

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.hyper")
    counts = {}
    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      parameters={"log_config": ""}) as hyper, \
            Connection(hyper.endpoint, tmp, CreateMode.CREATE_AND_REPLACE) as extract, conn.cursor() as cursor:
        extract.catalog.create_schema(SchemaName("analytics"))
        for table in tables:
            cursor.execute(
                "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
                "where table_schema = 'analytics' and table_name = %s order by ordinal_position", (table,))
            columns = cursor.fetchall()
            definition = TableDefinition(TableName("analytics", table), [
                TableDefinition.Column(name, _hyper_type(data_type, precision, scale))
                for name, data_type, precision, scale in columns])
            extract.catalog.create_table(definition)
            cast = ", ".join(f'"{name}"::text' if data_type == "jsonb" else f'"{name}"' for name, data_type, *_ in columns)
            cursor.execute(f"select {cast} from analytics.{table}")
            rows = cursor.fetchall()
            with Inserter(extract, definition) as inserter:
                inserter.add_rows(rows)
                inserter.execute()
            counts[table] = len(rows)
    tmp.replace(out)
    return counts


def count_rows(path: Path) -> dict[str, int]:
    """Rows per table of a Hyper file, read back through Hyper itself."""
    from tableauhyperapi import Connection, HyperProcess, SchemaName, Telemetry

    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      parameters={"log_config": ""}) as hyper, Connection(hyper.endpoint, path) as extract:
        return {
            table.name.unescaped: extract.execute_scalar_query(f"select count(*) from {table}")
            for table in extract.catalog.get_table_names(SchemaName("analytics"))
        }
