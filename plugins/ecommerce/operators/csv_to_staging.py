"""Load one raw CSV file into its staging table with PostgreSQL COPY."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from airflow.sdk import BaseOperator

from ecommerce import audit
from ecommerce.contract import RAW_COLUMNS, file_name
from ecommerce.settings import WAREHOUSE_CONN_ID

COPY_CHUNK_BYTES = 1 << 20


class RawFileError(ValueError):
    """A raw file that cannot be loaded at all: missing, empty, or lacking a required column."""


def read_header(path: Path, table: str) -> list[str]:
    """Return the header of ``path`` after checking that it has every column of ``table``."""
    if not path.is_file():
        raise RawFileError(f"{path}: file not found")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise RawFileError(f"{path}: file is empty (no header row)")
    header = [name.strip() for name in header]
    missing = [column for column in RAW_COLUMNS[table] if column not in header]
    if missing:
        raise RawFileError(f"{path}: header lacks required column(s) {', '.join(missing)}")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise RawFileError(f"{path}: header repeats column(s) {', '.join(duplicated)}")
    return header


class CsvToStagingOperator(BaseOperator):
    """Replace a business date's batch of one staging table with the rows of a raw CSV file.

    The file streams into a temporary all-text table through ``COPY ... FROM STDIN``, its
    columns matched by header name, then moves to ``staging.<table>`` with ``batch_date``,
    ``source_file``, ``source_line`` and ``loaded_at``. Deleting the old batch and inserting the
    new one happen in one transaction, so a failed or retried try never leaves a partial or
    doubled batch. Columns outside the contract are logged and ignored.

    :param table: the raw table, one of ``customers``, ``products``, ``transactions``,
        ``transaction_items``.
    :param source_dir: folder of the business date's raw files (templated).
    :param business_date: the business date, ``YYYY-MM-DD`` (templated).
    :param conn_id: Airflow connection id of the warehouse.
    """

    template_fields: Sequence[str] = ("source_dir", "business_date")
    ui_color = "#fde9c9"

    def __init__(self, *, table: str, source_dir: str, business_date: str,
                 conn_id: str = WAREHOUSE_CONN_ID, **kwargs) -> None:
        super().__init__(**kwargs)
        if table not in RAW_COLUMNS:
            raise ValueError(f"unknown raw table {table!r}; expected one of {', '.join(RAW_COLUMNS)}")
        self.table = table
        self.source_dir = source_dir
        self.business_date = business_date
        self.conn_id = conn_id

    def execute(self, context) -> int:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        path = Path(self.source_dir) / file_name(self.table)
        header = read_header(path, self.table)
        extra = [name for name in header if name not in RAW_COLUMNS[self.table]]
        if extra:
            self.log.warning("%s: ignoring column(s) outside the contract: %s", path, ", ".join(extra))

        with PostgresHook(postgres_conn_id=self.conn_id).get_conn() as conn, conn.cursor() as cursor:
            with audit.task_run(cursor, context, self.business_date) as counts:
                counts.read = self._copy_into_temp(cursor, path, header)
                counts.written = self._replace_batch(cursor, path)
        return counts.written

    def _copy_into_temp(self, cursor, path: Path, header: list[str]) -> int:
        """Stream the file into ``pg_temp.raw_rows``; its identity column numbers the records."""
        from psycopg import sql

        columns = [sql.Identifier(name) for name in header]
        cursor.execute(sql.SQL(
            "create temporary table raw_rows (record_number bigint generated always as identity, {}) "
            "on commit drop"
        ).format(sql.SQL(", ").join(sql.SQL("{} text").format(column) for column in columns)))
        copy = sql.SQL("copy raw_rows ({}) from stdin (format csv, header true, encoding 'UTF8')").format(
            sql.SQL(", ").join(columns))
        with path.open("rb") as handle, cursor.copy(copy) as pipe:
            while chunk := handle.read(COPY_CHUNK_BYTES):
                pipe.write(chunk)
        return cursor.rowcount

    def _replace_batch(self, cursor, path: Path) -> int:
        from psycopg import sql

        target = sql.Identifier("staging", self.table)
        columns = [sql.Identifier(name) for name in RAW_COLUMNS[self.table]]
        cursor.execute(sql.SQL("delete from {} where batch_date = %s").format(target), (self.business_date,))
        self.log.info("replaced %d rows of the previous %s batch", cursor.rowcount, self.business_date)
        cursor.execute(
            sql.SQL(
                "insert into {target} ({columns}, batch_date, source_file, source_line, loaded_at) "
                "select {columns}, %s, %s, record_number + 1, now() from raw_rows order by record_number"
            ).format(target=target, columns=sql.SQL(", ").join(columns)),
            (self.business_date, str(path)),
        )
        return cursor.rowcount
