"""Render the dashboard: one self-contained HTML page (Plotly inlined, no network needed)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ecommerce.dashboards.data import DashboardData
from ecommerce.settings import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "dashboards" / "dashboard.html.j2"
PALETTE = ["#2563eb", "#f97316", "#10b981", "#a855f7", "#ef4444", "#14b8a6", "#eab308", "#64748b"]

#: The charts of the page, by element id, with their titles. Tests look for each of them.
CHART_TITLES = {
    "daily-revenue": "Daily revenue, 7-day average and 14-day forecast",
    "revenue-by-category": "Revenue by category",
    "weekday-weekend": "Average daily revenue by weekday",
    "new-vs-repeat": "Revenue from new vs repeat customers",
    "top-products": "Top 10 products by revenue",
    "cohort-retention": "Monthly cohort retention",
    "rfm-segments": "Revenue by RFM segment",
    "quarantine": "Rows quarantined per business date",
    "lineage": "Lineage of each task's last run: rows written along the way (OpenLineage)",
}
LAYER_COLORS = {"raw files": "#64748b", "staging": "#eab308", "production": "#10b981", "warehouse": "#2563eb",
                "analytics": "#a855f7"}


def _layout(fig, title: str):
    fig.update_layout(title={"text": title, "x": 0.01}, margin={"l": 50, "r": 20, "t": 50, "b": 40},
                      height=340, template="plotly_white", colorway=PALETTE,
                      legend={"orientation": "h", "y": -0.15})
    return fig


def figures(data: DashboardData) -> dict:
    """One Plotly figure per chart id."""
    import plotly.graph_objects as go

    daily, categories, weekdays = data["daily"], data["categories"], data["weekdays"]
    mix, top, cohorts = data["mix"], data["top_products"].head(10), data["cohorts"]
    segments, quarantine = data["segments"], data["quarantine"]
    charts = {
        "daily-revenue": go.Figure([
            go.Bar(x=daily["date"], y=daily["net_revenue"].astype(float), name="Revenue", marker_color="#93c5fd"),
            go.Scatter(x=daily["date"], y=daily["revenue_7d_avg"].astype(float), name="7-day average",
                       line={"color": "#1d4ed8", "width": 3}),
            *_forecast_traces(data["forecast"]),
        ]),
        "revenue-by-category": go.Figure(go.Bar(
            x=categories["net_revenue"].astype(float)[::-1], y=categories["category_name"][::-1], orientation="h",
            text=[f"{share:.0%}" for share in categories["revenue_share"].astype(float)[::-1]],
            marker_color="#2563eb")),
        "weekday-weekend": go.Figure(go.Bar(
            x=weekdays["day_name"], y=weekdays["avg_daily_revenue"].astype(float),
            marker_color=["#f97316" if weekend else "#2563eb" for weekend in weekdays["is_weekend"]])),
        "new-vs-repeat": go.Figure(go.Pie(
            labels=mix["customer_type"].str.title(), values=mix["net_revenue"].astype(float), hole=0.55,
            marker={"colors": ["#10b981", "#2563eb"]})),
        "top-products": go.Figure(go.Bar(
            x=top["net_revenue"].astype(float)[::-1], y=top["product_name"][::-1], orientation="h",
            marker_color="#a855f7", hovertext=top["category_name"][::-1])),
        "cohort-retention": _cohort_heatmap(cohorts),
        "rfm-segments": go.Figure(go.Bar(x=segments["segment"], y=segments["revenue"].astype(float),
                                         text=segments["customers"], marker_color="#14b8a6")),
        "quarantine": go.Figure([
            go.Bar(x=part["batch_date"], y=part["rows"], name=stage)
            for stage, part in quarantine.groupby("stage")
        ] or [go.Bar(x=[], y=[])]),
    }
    charts["quarantine"].update_layout(barmode="stack")
    charts["lineage"] = _lineage_sankey(data.frames.get("lineage"))
    laid_out = {chart_id: _layout(fig, CHART_TITLES[chart_id]) for chart_id, fig in charts.items()}
    laid_out["lineage"].update_layout(height=620)
    return laid_out


def _lineage_sankey(edges: pd.DataFrame | None):
    """Raw files -> staging -> production -> warehouse -> analytics, one link per task edge."""
    import plotly.graph_objects as go

    from ecommerce.dashboards.lineage import LAYERS

    if edges is None or edges.empty:
        fig = go.Figure()
        fig.add_annotation(text="No lineage events yet (see docs/operations.md, Lineage)", showarrow=False)
        return fig
    layer = {**dict(zip(edges["source"], edges["source_layer"])), **dict(zip(edges["target"], edges["target_layer"]))}
    nodes = sorted(layer, key=lambda node: (LAYERS.index(layer[node]), node))
    index = {node: position for position, node in enumerate(nodes)}
    # One column per layer, its tables spread top to bottom.
    column = {node: [n for n in nodes if layer[n] == layer[node]] for node in nodes}
    x = [0.01 + 0.98 * LAYERS.index(layer[node]) / (len(LAYERS) - 1) for node in nodes]
    y = [(column[node].index(node) + 1) / (len(column[node]) + 1) for node in nodes]
    rows = [int(r) for r in edges["rows"]]
    # A table's rows are shared among the links into it, so its node is as tall as what it got.
    inputs = edges.groupby(["task", "target"])["source"].transform("count")
    return go.Figure(go.Sankey(
        arrangement="fixed",
        node={"label": nodes, "color": [LAYER_COLORS[layer[node]] for node in nodes], "pad": 8, "thickness": 12,
              "x": x, "y": y},
        link={"source": [index[n] for n in edges["source"]], "target": [index[n] for n in edges["target"]],
              "value": [max(r / n, 1) for r, n in zip(rows, inputs)], "customdata": list(zip(rows, edges["task"])),
              "hovertemplate": "%{source.label} → %{target.label}<br>%{customdata[0]:,} rows written by "
                               "%{customdata[1]}<extra></extra>"},
    ))


def _forecast_traces(forecast: pd.DataFrame) -> list:
    """The forecast as a line inside its 95% and 80% bands (each band: upper, then lower filled up to it)."""
    import plotly.graph_objects as go

    if forecast.empty:
        return []
    traces = []
    for coverage, color in (("95", "rgba(249, 115, 22, 0.15)"), ("80", "rgba(249, 115, 22, 0.3)")):
        traces += [
            go.Scatter(x=forecast["forecast_date"], y=forecast[f"upper_{coverage}"].astype(float), mode="lines",
                       line={"width": 0}, showlegend=False, hoverinfo="skip"),
            go.Scatter(x=forecast["forecast_date"], y=forecast[f"lower_{coverage}"].astype(float), mode="lines",
                       line={"width": 0}, fill="tonexty", fillcolor=color, name=f"{coverage}% range"),
        ]
    traces.append(go.Scatter(x=forecast["forecast_date"], y=forecast["net_revenue"].astype(float),
                             name=f"Forecast ({forecast['model'].iloc[0]})",
                             line={"color": "#f97316", "width": 3, "dash": "dot"}))
    return traces


def _accuracy_rows(accuracy: pd.DataFrame) -> list[dict]:
    """The backtest table: per series and model, MASE and MAPE; the chosen model marked."""
    return [{"series": row.category_name, "model": row.model, "chosen": bool(row.chosen),
             "mase": "–" if row.mase is None or row.mase != row.mase else f"{float(row.mase):.2f}",
             "mape": "–" if row.mape is None or row.mape != row.mape else f"{float(row.mape):.1f}%"}
            for row in accuracy.itertuples()]


def _cohort_heatmap(cohorts: pd.DataFrame):
    import plotly.graph_objects as go

    grid = cohorts.pivot(index="cohort_month", columns="months_since_first", values="retention_rate").astype(float)
    figure = go.Figure(go.Heatmap(
        z=grid.values, x=[f"+{m} mo" for m in grid.columns], y=[str(month)[:7] for month in grid.index],
        colorscale="Blues", zmin=0, zmax=1, colorbar={"tickformat": ".0%"},
        text=[[f"{v:.0%}" if v == v else "" for v in row] for row in grid.values], texttemplate="%{text}"))
    figure.update_yaxes(type="category", autorange="reversed", title="first order in")
    figure.update_xaxes(type="category", title="months later")
    return figure


def _money(value) -> str:
    return f"${float(value or 0):,.0f}"


def render(data: DashboardData, out: Path, generated_at: datetime | None = None) -> Path:
    """Write the dashboard page to ``out`` (a file path) and return it."""
    import jinja2
    import plotly.offline
    from markupsafe import Markup

    kpis = data["kpis"].iloc[0]
    health = data["health"].iloc[0]
    charts = {
        chart_id: Markup(fig.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id,
                                     config={"displayModeBar": False, "responsive": True}))
        for chart_id, fig in figures(data).items()
    }
    # Autoescape: headlines and names come from shop data and must not become markup.
    template = jinja2.Environment(autoescape=True).from_string(TEMPLATE.read_text(encoding="utf-8"))
    page = template.render(
        plotly_js=Markup(plotly.offline.get_plotlyjs()),
        charts=charts,
        tiles=[("Revenue", _money(kpis["revenue"])), ("Orders", f"{int(kpis['orders'] or 0):,}"),
               ("Average order value", f"${float(kpis['aov'] or 0):,.2f}"),
               ("Customers", f"{int(kpis['customers'] or 0):,}")],
        insights=list(data["insights"]["headline"]),
        accuracy=_accuracy_rows(data["forecast_accuracy"]),
        health={
            "Last business date loaded": str(health["last_business_date"] or "none"),
            "Last task run (UTC)": f"{health['last_run_at']:%Y-%m-%d %H:%M}" if health["last_run_at"] else "none",
            "Quality gate, last run": health["quality_status"] or "no checks yet",
            "Rows quarantined, all dates": f"{int(data['quarantine']['rows'].sum()):,}",
        },
        generated_at=(generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
