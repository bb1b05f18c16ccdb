"""
# Refresh dashboards

Runs whenever `ecommerce_pipeline` finishes its analytics (the `ecommerce_analytics` Asset is
updated by its last task), and writes under `<data root>/dashboards/`:

- `index.html` — the dashboard: one self-contained page (charts included, no network needed);
- `ecommerce_analytics.hyper` — a Tableau extract of every analytics table.

Power BI and Tableau can also read the live warehouse as `bi_reader` (docs/dashboard_guide.md).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from ecommerce.assets import ANALYTICS_ASSET
from ecommerce.settings import WAREHOUSE_CONN_ID
from ecommerce.task_defaults import task_defaults


@dag(
    dag_id="refresh_dashboards",
    schedule=[ANALYTICS_ASSET],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(execution_timeout=timedelta(minutes=10), max_retry_delay=timedelta(minutes=5)),
    doc_md=__doc__,
    tags=["ecommerce", "dashboards"],
)
def refresh_dashboards():
    @task
    def render_html() -> str:
        """The self-contained HTML dashboard."""
        from ecommerce.dashboards.refresh import render_html

        return render_html(WAREHOUSE_CONN_ID)

    @task
    def export_tableau_extract() -> str:
        """A Tableau Hyper extract of the analytics tables."""
        from ecommerce.dashboards.refresh import export_hyper

        return export_hyper(WAREHOUSE_CONN_ID)

    render_html()
    export_tableau_extract()


refresh_dashboards()
