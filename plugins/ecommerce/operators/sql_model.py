"""Run one SQL model file of ``include/sql`` as one transaction."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from airflow.sdk import BaseOperator

from ecommerce import audit, table_locks
from ecommerce.lineage import LOADING_SUFFIX
from ecommerce.models import bound_results, join_statements, materialized, model_statements, split_statements
from ecommerce.settings import WAREHOUSE_CONN_ID

_QUARANTINE_INSERT = re.compile(r"^\s*insert\s+into\s+quarantine\.", re.IGNORECASE | re.MULTILINE)


def inserts_into(statement: str, table: str) -> bool:
    """Whether ``statement`` inserts into ``table`` (``schema.name``), or fills the table built to
    take the place of one of its partitions (``schema.name_loading``: by an insert, or created
    as a select)."""
    name = re.escape(table)
    return re.search(rf"^\s*(?:insert\s+into\s+{name}(?:{LOADING_SUFFIX})?\b"
                     rf"|create\s+table\s+{name}{LOADING_SUFFIX}\s+as\b)", statement,
                     re.IGNORECASE | re.MULTILINE) is not None


@functools.lru_cache(maxsize=256)
def model_tables(statements: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """The tables a model's statements read and write (``table_locks.tables``), parsed once per
    process and text."""
    return table_locks.tables(statements)


class SqlModelOperator(BaseOperator):
    """Run a SQL model file for one business date, all its statements in one transaction.

    The file is a Jinja template (macros from ``include/sql/macros``), rendered by Airflow like
    any templated ``.sql`` field (the DAG's ``template_searchpath`` holds ``include/sql``), so
    the UI's Rendered Templates tab shows the SQL the task ran. Its statements may use the bound
    parameter ``%(business_date)s`` (so a literal ``%`` is written ``%%``), and those an earlier
    statement's one-row result binds by its columns' names (``ecommerce.models.bound_results``:
    the dates a model recomputes, ``%(recomputed_date_keys)s``); values are never rendered into
    the text. The task log shows the rows each statement affected.

    A model home (``include/sql/analytics/<table>.sql``, ``ecommerce.models``) declares its table
    and ends with a SELECT: the operator materialises it as the header says (the whole table
    replaced, or the rows of the keys it recomputes). Another model's file is the statements it
    runs, and its table is the one its SQL writes with the file's name
    (``warehouse/040_fact_sales.sql`` writes ``warehouse.fact_sales``). The last statement that
    inserts into the table gives the task's rows written (the last statement, if none does).
    Statements that insert into ``quarantine`` count as rows rejected.

    Before its first statement the transaction takes an advisory lock per table the SQL writes
    (exclusive) and reads (shared), in a stable order (``ecommerce.table_locks``): a model of
    another business date that writes one of those tables runs before or after it, never at the
    same time; the model files name no lock.

    :param sql: path of the model relative to ``include/sql``, e.g. ``warehouse/040_fact_sales.sql``.
    :param business_date: the business date, ``YYYY-MM-DD`` (templated).
    :param conn_id: Airflow connection id of the warehouse.
    """

    template_fields: Sequence[str] = ("sql", "business_date")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql"}
    ui_color = "#cfe8fc"

    def __init__(self, *, sql: str, business_date: str, conn_id: str = WAREHOUSE_CONN_ID, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = sql  # the file's path; ``sql`` becomes its rendered text
        self.sql = sql
        self.business_date = business_date
        self.conn_id = conn_id

    def render_template_fields(self, context, jinja_env=None) -> None:
        """Render the file as Airflow does, then materialise it: Rendered Templates shows every
        statement the task runs, a model home's ``delete``/``insert`` around its SELECT included."""
        super().render_template_fields(context, jinja_env)
        if self.sql != self.model:
            self.sql = join_statements(materialized(self.model, split_statements(self.sql)))

    def statements(self) -> tuple[str, ...]:
        """The model's statements: from the text Airflow rendered, or, when ``execute`` is called
        outside a DAG run (tests, benchmarks), from the file rendered here."""
        if self.sql == self.model:
            return model_statements(self.model)
        return split_statements(self.sql)

    @functools.cached_property
    def table(self) -> str:
        """The table the model writes: the one its home declares, or else the one its SQL writes
        that has the file's name (``warehouse/080_loaded_dates.sql`` -> ``audit.loaded_dates``)."""
        from ecommerce.models import home_of, task_id

        if home := home_of(self.model):
            return home.table
        name = task_id(self.model.removesuffix(".sql").rpartition("/")[2])
        written = sorted(table for table in model_tables(model_statements(self.model))[1]
                         if table.split(".")[1] == name)
        if len(written) != 1:
            raise ValueError(f"{self.model} writes no single table named {name}: {written}")
        return written[0]

    def execute(self, context) -> int:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        with PostgresHook(postgres_conn_id=self.conn_id).get_conn() as conn:
            return self.run(conn, context)

    def run(self, conn, context) -> int:
        """Run the model on ``conn`` (a psycopg connection) in one transaction of its own; the
        rows written. ``execute`` gives it a new connection, as each task has."""
        statements = self.statements()
        params = {"business_date": self.business_date}
        table = self.table
        wrote_table = False
        reads, writes = model_tables(statements)
        with conn.transaction(), conn.cursor() as cursor:
            with audit.task_run(cursor, context, self.business_date) as counts:
                table_locks.take(cursor, table_locks.locks(reads, writes, self.business_date))
                for number, statement in enumerate(statements, start=1):
                    cursor.execute(statement, params)
                    affected = max(cursor.rowcount, 0)
                    self.log.info("%s statement %d/%d: %d rows", self.model, number, len(statements), affected)
                    if bound := bound_results(cursor, statements, params):
                        self.log.info("%s binds %s", self.model,
                                      ", ".join(f"{name} = {value!r}" for name, value in bound.items()))
                        params.update(bound)
                    if _QUARANTINE_INSERT.search(statement):
                        counts.rejected += affected
                    if inserts_into(statement, table):
                        counts.written, wrote_table = affected, True
                    elif not wrote_table:
                        counts.written = affected
        self.rows_written, self.rows_rejected = counts.written, counts.rejected
        return counts.written

    def get_openlineage_facets_on_complete(self, task_instance):
        """OpenLineage: the tables the model's SQL reads and writes (openlineage-sql, as for
        ``SQLExecuteQueryOperator``), column lineage where the parser gives it, the rows written
        to the model's table and to quarantine, and the SQL itself."""
        from airflow.providers.common.compat.openlineage.facet import SQLJobFacet
        from airflow.providers.openlineage.extractors import OperatorLineage

        from ecommerce import lineage

        statements = self.statements()
        parsed = lineage.parse_sql(statements)
        place = lineage.warehouse(self.conn_id)
        rows = {self.table: getattr(self, "rows_written", None),
                "quarantine.rejected_rows": getattr(self, "rows_rejected", None)}
        return OperatorLineage(
            inputs=[lineage.table_dataset(place, table) for table in sorted(parsed.inputs)],
            outputs=[lineage.table_dataset(place, table, rows=rows.get(table), columns=parsed.columns.get(table),
                                           output=True) for table in sorted(parsed.outputs)],
            job_facets={"sql": SQLJobFacet(query="\n\n".join(statements))},
        )
