"""The closing summary of ``make run``: what each layer holds, quality, insights, dashboard."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ecommerce.insights import read_insights
from ecommerce_local.warehouse import psycopg_conninfo

LAYERS = ("staging", "production", "warehouse", "analytics")


def render(airflow_uri: str, data_dir: str) -> str:
    lines = ["Rows per table"]
    with psycopg.connect(psycopg_conninfo(airflow_uri)) as conn, conn.cursor() as cursor:
        cursor.execute(
            """
            select namespace.nspname, class.relname
            from pg_class as class
            inner join pg_namespace as namespace on namespace.oid = class.relnamespace
            where namespace.nspname = any(%s) and class.relkind in ('r', 'p') and not class.relispartition
            order by array_position(%s, namespace.nspname::text), class.relname
            """,
            (list(LAYERS), list(LAYERS)),
        )
        for schema, table in cursor.fetchall():
            count = cursor.execute(
                psycopg.sql.SQL("select count(*) from {}").format(psycopg.sql.Identifier(schema, table))
            ).fetchone()[0]
            lines.append(f"  {schema + '.' + table:<42} {count:>10,}")
        quarantined = cursor.execute(
            "select stage, reason, count(*) from quarantine.rejected_rows group by 1, 2 order by 1, 3 desc"
        ).fetchall()
        lines.append(f"\nRows quarantined: {sum(row[2] for row in quarantined):,}")
        lines += [f"  {stage:<11} {reason:<32} {count:>8,}" for stage, reason, count in quarantined]
        checks = cursor.execute(
            """
            with latest as (
                select run_id, business_date from audit.dq_results order by checked_at desc limit 1
            )
            select latest.business_date, count(*) filter (where status = 'pass'),
                   count(*) filter (where status = 'warn'), count(*) filter (where status = 'fail')
            from audit.dq_results inner join latest using (run_id, business_date)
            group by latest.business_date
            """
        ).fetchone()
        if checks:
            lines.append(f"\nQuality gates, {checks[0]}: {checks[1]} passed, {checks[2]} warned, {checks[3]} failed")
        lines.append("\nInsights")
        lines += [f"  - {headline}" for headline in read_insights(cursor)]
    dashboards = Path(data_dir) / "dashboards"
    lines.append("")
    for label, name in (("Dashboard", "index.html"), ("Tableau extract", "ecommerce_analytics.hyper")):
        if (dashboards / name).exists():
            lines.append(f"{label}: {dashboards / name}")
    return "\n".join(lines)
