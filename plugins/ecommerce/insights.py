"""Read the headline insights of ``analytics.insights`` for logs and summaries."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def read_insights(cursor) -> list[str]:
    cursor.execute("select headline from analytics.insights order by insight_key")
    return [row[0] for row in cursor.fetchall()]


def log_insights(conn_id: str) -> list[str]:
    """Log each headline insight on its own line and return them."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    with PostgresHook(postgres_conn_id=conn_id).get_conn() as conn, conn.cursor() as cursor:
        headlines = read_insights(cursor)
    for headline in headlines:
        log.info("INSIGHT %s", headline)
    return headlines
