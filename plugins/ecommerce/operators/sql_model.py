"""Run one SQL model file of ``include/sql`` as one transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence

from airflow.sdk import BaseOperator

from ecommerce import audit
from ecommerce.settings import SQL_DIR, WAREHOUSE_CONN_ID

_QUARANTINE_INSERT = re.compile(r"^\s*insert\s+into\s+quarantine\.", re.IGNORECASE | re.MULTILINE)


def split_statements(text: str) -> list[str]:
    """Split a SQL file into statements, leaving out empty ones and bare comments."""
    import sqlparse

    statements = []
    for statement in sqlparse.split(text):
        code = sqlparse.format(statement, strip_comments=True).strip().rstrip(";").strip()
        if code:
            statements.append(statement)
    return statements


class SqlModelOperator(BaseOperator):
    """Run a SQL model file for one business date, all its statements in one transaction.

    Statements may use the bound parameter ``%(business_date)s`` (so a literal ``%`` is
    written ``%%``). The task log shows the rows each statement affected; by convention the
    last statement writes the model's table, and its row count is the task's rows written.
    Statements that insert into ``quarantine`` count as rows rejected.

    :param sql: path of the model relative to ``include/sql``, e.g. ``warehouse/040_fact_sales.sql``.
    :param business_date: the business date, ``YYYY-MM-DD`` (templated).
    :param conn_id: Airflow connection id of the warehouse.
    """

    template_fields: Sequence[str] = ("business_date",)
    ui_color = "#cfe8fc"

    def __init__(self, *, sql: str, business_date: str, conn_id: str = WAREHOUSE_CONN_ID, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.business_date = business_date
        self.conn_id = conn_id

    def execute(self, context) -> int:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        statements = split_statements((SQL_DIR / self.sql).read_text(encoding="utf-8"))
        params = {"business_date": self.business_date}
        with PostgresHook(postgres_conn_id=self.conn_id).get_conn() as conn, conn.cursor() as cursor:
            with audit.task_run(cursor, context, self.business_date) as counts:
                for number, statement in enumerate(statements, start=1):
                    cursor.execute(statement, params)
                    affected = max(cursor.rowcount, 0)
                    self.log.info("%s statement %d/%d: %d rows", self.sql, number, len(statements), affected)
                    if _QUARANTINE_INSERT.search(statement):
                        counts.rejected += affected
                    counts.written = affected
        return counts.written
