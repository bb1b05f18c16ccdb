"""Read what the dashboard shows: the analytics tables and the pipeline's own audit trail."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ecommerce.models import tables


#: Analytics tables, in the order the Tableau extract lists them: every table a model home declares.
ANALYTICS_TABLES = tables("analytics")

_QUERIES = {
    "kpis": """
        select sum(net_revenue) as revenue, sum(orders) as orders,
               sum(net_revenue) / nullif(sum(orders), 0) as aov,
               (select count(distinct customer_id) from analytics.rfm_segments) as customers
        from analytics.daily_kpis
    """,
    "daily": "select date, net_revenue, revenue_7d_avg, orders, avg_order_value from analytics.daily_kpis order by date",
    "categories": "select category_name, net_revenue, revenue_share from analytics.revenue_by_category order by net_revenue desc",
    "weekdays": "select day_of_week, day_name, is_weekend, avg_daily_revenue, avg_daily_orders from analytics.sales_by_weekday order by day_of_week",
    "mix": "select customer_type, customers, net_revenue, revenue_share from analytics.customer_revenue_mix order by customer_type",
    "top_products": "select revenue_rank, product_name, category_name, units, net_revenue from analytics.top_products order by revenue_rank",
    "cohorts": "select cohort_month, months_since_first, cohort_size, retention_rate from analytics.cohort_retention order by 1, 2",
    "segments": "select segment, count(*) as customers, sum(monetary) as revenue from analytics.rfm_segments group by segment order by revenue desc",
    "insights": "select insight_key, headline, metric_value from analytics.insights order by insight_key",
    "forecast": """
        select forecast_date, net_revenue, lower_80, upper_80, lower_95, upper_95, model
        from analytics.sales_forecast where category_name = 'All categories' order by forecast_date
    """,
    "forecast_accuracy": """
        select category_name, model, mase, mape, chosen, note from analytics.forecast_accuracy
        order by category_name = 'All categories' desc, category_name, mase nulls last
    """,
    "loaded_dates": "select business_date from audit.loaded_dates order by business_date",
    "health": """
        select
            (select max(date) from analytics.daily_kpis) as last_business_date,
            (select max(finished_at) from audit.task_runs) as last_run_at,
            (select string_agg(status || ': ' || n, ', ' order by status) from (
                select status, count(*) as n from audit.dq_results
                where run_id = (select run_id from audit.dq_results order by checked_at desc limit 1)
                group by status) s) as quality_status
    """,
    "quarantine": """
        select batch_date, stage, count(*) as rows
        from quarantine.rejected_rows
        group by batch_date, stage
        order by batch_date, stage
    """,
}


@dataclass(frozen=True)
class DeclaredTable:
    """A table of the Power BI report that the HTML page shows too: a ``tableEx`` visual of
    ``include/bi/semantic_model.yml`` with a ``dashboard`` entry (its order, row limit and, if
    any, a condition on its rows), so one declaration serves both. Its columns are the visual's
    fields, of one analytics table."""

    title: str
    table: str
    columns: tuple[str, ...]
    order_by: str
    limit: int
    where: str | None = None

    @property
    def id(self) -> str:
        return "table-" + self.table.split(".")[1].replace("_", "-")

    def query(self) -> str:
        where = f" where {self.where}" if self.where else ""
        return f"select {', '.join(self.columns)} from {self.table}{where} order by {self.order_by} limit {self.limit}"


def declared_tables(spec: dict | None = None) -> list[DeclaredTable]:
    """The report's visuals the page shows as tables, in the report's order."""
    from ecommerce.bi.model import FIELD, load_spec

    declared = []
    for page in (spec or load_spec()).get("pages", []):
        for visual in page["visuals"]:
            if "dashboard" not in visual:
                continue
            # columns only: a measure ([Name]) has no column the page could read
            fields = [field if (field := FIELD.match(ref)) and field["column"] else None
                      for ref in visual["fields"]["Values"]]
            names = {field["table"] for field in fields if field}
            if visual["type"] != "tableEx" or None in fields or len(names) != 1 or names - set(ANALYTICS_TABLES):
                raise ValueError(f"the visual {visual['title']!r} is shown on the dashboard: a tableEx of one "
                                 f"analytics table's columns, not {visual['type']} of {visual['fields']['Values']}")
            declared.append(DeclaredTable(visual["title"], f"analytics.{names.pop()}",
                                          tuple(field["column"] for field in fields),
                                          visual["dashboard"]["order_by"], int(visual["dashboard"]["limit"]),
                                          visual["dashboard"].get("where")))
    return declared


@dataclass(frozen=True)
class DashboardData:
    frames: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def read(conn) -> DashboardData:
    """Run every dashboard query on ``conn`` (a DB-API connection); add the lineage of the last
    run from the OpenLineage event file."""
    from ecommerce.dashboards import lineage

    frames = {"lineage": lineage.read()}
    queries = {**_QUERIES, **{table.id: table.query() for table in declared_tables()}}
    with conn.cursor() as cursor:
        for name, query in queries.items():
            cursor.execute(query)
            columns = [column.name for column in cursor.description]
            frames[name] = pd.DataFrame(cursor.fetchall(), columns=columns)
    return DashboardData(frames)
