"""The warehouse on its published port, as a BI tool or an administrator reaches it."""

from __future__ import annotations

import psycopg

from stack import Project


def connect(project: Project, role: str, database: str = "ecommerce", **options) -> psycopg.Connection:
    """A connection as ``role`` (``ecommerce``, ``bi_reader``, ``airflow``) with its .env password."""
    password = {"ecommerce": "WAREHOUSE_DB_PASSWORD", "bi_reader": "BI_READER_PASSWORD",
                "airflow": "AIRFLOW_DB_PASSWORD", "postgres": "POSTGRES_PASSWORD"}[role]
    env = project.env
    return psycopg.connect(host="127.0.0.1", port=int(env["WAREHOUSE_PORT"]), dbname=database, user=role,
                           password=env[password], connect_timeout=10, **options)


def checksums(project: Project, schema: str = "warehouse") -> dict[str, tuple[int, str]]:
    """Each table of ``schema``: its row count and an order-independent checksum of its rows."""
    with connect(project, "ecommerce") as conn:
        tables = [name for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
            "order by 1", (schema,))]
        return {table: conn.execute(
            f'select count(*), coalesce(md5(string_agg(md5(t::text), \'\' order by md5(t::text))), \'\') '
            f'from {schema}."{table}" t').fetchone() for table in tables}
