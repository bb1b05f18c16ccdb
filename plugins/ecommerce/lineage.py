"""OpenLineage datasets of the pipeline's operators (``get_openlineage_facets_on_complete``).

Names follow OpenLineage's naming conventions: a PostgreSQL table is ``<database>.<schema>.<table>``
in namespace ``postgres://<host>:<port>``; a local file is its absolute path in namespace
``file``. SQL models' reads and writes come from the provider's SQL parser (openlineage-sql), as
for ``SQLExecuteQueryOperator``, with column lineage where the parser gives it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: Schemas whose tables are datasets; anything else a model names is a temporary table.
PIPELINE_SCHEMAS = frozenset({"staging", "quarantine", "audit", "production", "warehouse", "analytics"})
#: A bound parameter in a model's SQL, ``%(name)s``.
PARAMETER = re.compile(r"%\((\w+)\)s")
#: A table a model builds to take the place of a partition of its table ends so
#: (``warehouse.fact_sales_loading``): its rows are the table's.
LOADING_SUFFIX = "_loading"


def built_table(name: str) -> str:
    """The table whose rows ``name`` holds: ``warehouse.fact_sales_loading`` -> ``warehouse.fact_sales``."""
    return name.removesuffix(LOADING_SUFFIX)


@dataclass(frozen=True)
class Warehouse:
    """Where the warehouse's tables live, in OpenLineage terms."""
    namespace: str
    database: str

    def dataset_name(self, table: str) -> str:
        return f"{self.database}.{table}"


def warehouse(conn_id: str) -> Warehouse:
    """The warehouse of an Airflow connection; a Unix socket (the local mode) counts as localhost."""
    from urllib.parse import unquote

    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    host = unquote(conn.host or "")
    host = "localhost" if not host or host.startswith("/") else host
    return Warehouse(f"postgres://{host}:{conn.port or 5432}", conn.schema or "postgres")


@dataclass
class SqlLineage:
    """Tables a model reads and writes (schema.table) and, per written table, its columns' sources."""
    inputs: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)
    columns: dict[str, dict[str, set[tuple[str, str]]]] = field(default_factory=dict)


def parse_sql(statements: Iterable[str]) -> SqlLineage:
    """What ``statements`` read and write, from openlineage-sql; temporary tables left out, a
    loading table named as the table it is built for.

    Bound parameters (``%(name)s``) are replaced by a literal first: the parser reads SQL, not
    the driver's placeholders.
    """
    from openlineage.common.sql import parse

    def qualified(table) -> str | None:
        name = str(table.qualified_name)
        return built_table(name) if name.split(".")[0] in PIPELINE_SCHEMAS and name.count(".") == 1 else None

    lineage = SqlLineage()
    for statement in statements:
        meta = parse([PARAMETER.sub("NULL", statement).replace("%%", "%")], dialect="postgres")
        if meta is None:
            continue
        lineage.inputs |= {name for table in meta.in_tables if (name := qualified(table))}
        lineage.outputs |= {name for table in meta.out_tables if (name := qualified(table))}
        written = [name for table in meta.out_tables if (name := qualified(table))]
        for column in meta.column_lineage:
            # The parser names the select list's columns; in ``insert into t ... select`` they
            # are t's columns where the names match (unnamed expressions come as _0, _1, ...).
            origin = column.descendant.origin
            target = qualified(origin) if origin else (written[0] if len(written) == 1 else None)
            if target is None or column.descendant.name.startswith("_"):
                continue
            sources = {(name, source.name) for source in column.lineage
                       if source.origin and (name := qualified(source.origin))}
            if sources:
                lineage.columns.setdefault(target, {}).setdefault(column.descendant.name, set()).update(sources)
    # A table read only to be replaced (delete ... where, then insert) is an output, not a source.
    lineage.inputs -= lineage.outputs - {source for fields in lineage.columns.values()
                                          for sources in fields.values() for source, _ in sources}
    return lineage


def table_dataset(place: Warehouse, table: str, rows: int | None = None, columns=None, quality=None, output=False):
    """An OpenLineage input or output dataset for ``schema.table``, with the facets given."""
    from airflow.providers.common.compat.openlineage.facet import (
        ColumnLineageDatasetFacet,
        Fields,
        InputDataset,
        InputField,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
    )

    facets = {}
    if columns:
        facets["columnLineage"] = ColumnLineageDatasetFacet(fields={
            name: Fields(inputFields=[InputField(namespace=place.namespace, name=place.dataset_name(source), field=column)
                                      for source, column in sorted(sources)],
                         transformationType="", transformationDescription="")
            for name, sources in sorted(columns.items())
        })
    if quality is not None:
        facets["dataQualityAssertions"] = quality
    if output:
        stats = {"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=rows)} if rows is not None else {}
        return OutputDataset(namespace=place.namespace, name=place.dataset_name(table), facets=facets,
                             outputFacets=stats)
    return InputDataset(namespace=place.namespace, name=place.dataset_name(table), facets=facets)


def file_dataset(path: Path, rows: int | None = None, size: int | None = None):
    """A local file as an input dataset, with its data lines and bytes."""
    from airflow.providers.common.compat.openlineage.facet import InputDataset
    from openlineage.client.generated.input_statistics_input_dataset import InputStatisticsInputDatasetFacet

    stats = {"inputStatistics": InputStatisticsInputDatasetFacet(rowCount=rows, size=size)} if rows is not None else {}
    return InputDataset(namespace="file", name=str(Path(path).resolve()), facets={}, inputFacets=stats)
