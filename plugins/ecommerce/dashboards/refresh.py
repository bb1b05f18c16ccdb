"""The work of the refresh_dashboards DAG: the page and the extract, each read from the warehouse by its own task."""

from __future__ import annotations

import logging
from pathlib import Path

from ecommerce.settings import data_dir

log = logging.getLogger(__name__)


def dashboards_dir() -> Path:
    return data_dir() / "dashboards"


def render_html(conn_id: str) -> str:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from ecommerce.dashboards import data, render

    with PostgresHook(postgres_conn_id=conn_id).get_conn() as conn:
        page = render.render(data.read(conn), dashboards_dir() / "index.html")
    log.info("dashboard written to %s (%.1f MiB, self-contained)", page, page.stat().st_size / 2**20)
    return str(page)


def export_hyper(conn_id: str) -> str:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from ecommerce.dashboards import hyper

    out = dashboards_dir() / "ecommerce_analytics.hyper"
    with PostgresHook(postgres_conn_id=conn_id).get_conn() as conn:
        counts = hyper.export(conn, out)
    log.info("Tableau extract written to %s: %s", out, ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    return str(out)
