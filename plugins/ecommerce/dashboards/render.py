"""Render the dashboard: one self-contained HTML page (Plotly inlined, no network needed)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ecommerce.dashboards.data import DashboardData, declared_tables
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
}
#: The daily chart's title while there is no forecast to draw.
NO_FORECAST_TITLE = "Daily revenue and 7-day average (no forecast yet)"
LINEAGE_TITLE = "Lineage of each task's last run: rows written along the way (OpenLineage)"
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
    calendar = daily_calendar(daily)
    charts = {
        "daily-revenue": go.Figure([
            go.Bar(x=calendar["date"], y=calendar["net_revenue"], name="Revenue", marker_color="#93c5fd"),
            # A date not loaded is a gap in the line, never bridged.
            go.Scatter(x=calendar["date"], y=calendar["revenue_7d_avg"], name="7-day average", connectgaps=False,
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
    laid_out = {chart_id: _layout(fig, CHART_TITLES[chart_id]) for chart_id, fig in charts.items()}
    if data["forecast"].empty:
        laid_out["daily-revenue"].update_layout(title={"text": NO_FORECAST_TITLE})
    # Days, not hours, on a short history's axis.
    laid_out["daily-revenue"].update_xaxes(type="date", tickformat="%b %-d", hoverformat="%Y-%m-%d",
                                           **({"dtick": 86400000} if len(calendar["date"]) <= 21 else {}))
    for start, end in missing_runs(calendar):
        laid_out["daily-revenue"].add_vrect(
            x0=pd.Timestamp(start) - pd.Timedelta(hours=12), x1=pd.Timestamp(end) + pd.Timedelta(hours=12),
            fillcolor="#94a3b8", opacity=0.18, line_width=0, annotation_text="not loaded",
            annotation_position="top left", annotation_font={"size": 11, "color": "#475569"})
    return laid_out


def daily_calendar(daily: pd.DataFrame) -> dict[str, list]:
    """Every day from the first to the last of ``daily`` (lists by column): net revenue and its
    7-day average as floats, None on a date with no row (not loaded), so a chart leaves it a gap."""
    if daily.empty:
        return {"date": [], "net_revenue": [], "revenue_7d_avg": []}
    days = list(pd.date_range(min(daily["date"]), max(daily["date"]), freq="D").date)
    by_date = daily.set_index("date")
    return {"date": days, **{column: [float(by_date.at[day, column]) if day in by_date.index else None
                                      for day in days] for column in ("net_revenue", "revenue_7d_avg")}}


def missing_runs(calendar: dict[str, list]) -> list[tuple]:
    """(first, last) of each run of consecutive days without data in ``calendar``."""
    runs: list[list] = []
    previous_missing = False
    for day, revenue in zip(calendar["date"], calendar["net_revenue"]):
        if revenue is None:
            if previous_missing:
                runs[-1][1] = day
            else:
                runs.append([day, day])
        previous_missing = revenue is None
    return [tuple(run) for run in runs]


def lineage_view(edges: pd.DataFrame | None) -> dict:
    """The lineage view: a column per layer (raw files -> staging -> production -> warehouse ->
    analytics), each table a box with the rows its last run wrote as text, and the links between
    them (drawn by the page's script, behind the boxes)."""
    from ecommerce.dashboards.lineage import LAYERS

    if edges is None or edges.empty:
        return {"columns": [], "links": "[]"}
    layer = {**dict(zip(edges["source"], edges["source_layer"])), **dict(zip(edges["target"], edges["target_layer"]))}
    # A task writes its rows once, whatever the inputs it read them from.
    written = edges.drop_duplicates(["task", "target"]).groupby("target")["rows"].sum()
    readers = edges.groupby("source")["task"].unique()
    ids = {node: f"lineage-node-{position}" for position, node in enumerate(sorted(layer))}
    columns = []
    for name in LAYERS:
        nodes = sorted(node for node in layer if layer[node] == name)
        if nodes:
            columns.append({"layer": name, "color": LAYER_COLORS[name], "nodes": [
                {"id": ids[node], "name": _breakable(node),
                 "detail": f"{int(written[node]):,} rows written" if node in written
                 else _breakable("read by " + ", ".join(sorted(readers[node])))} for node in nodes]})
    links = [{"source": ids[row.source], "target": ids[row.target], "rows": int(row.rows),
              "title": f"{row.source} → {row.target}: {int(row.rows):,} rows written by {row.task}"}
             for row in edges.itertuples()]
    # Inside a <script> element: no "<" may end it early.
    return {"columns": columns, "links": json.dumps(links).replace("<", "\\u003c")}


def _breakable(name: str):
    """``name`` as markup that a narrow box wraps after a dot or an underscore, not mid-word."""
    from markupsafe import Markup, escape

    return Markup(str(escape(name)).replace(".", ".<wbr>").replace("_", "_<wbr>"))


def forecast_status(loaded: list, forecast: pd.DataFrame, accuracy: pd.DataFrame, calendar: dict[str, list]) -> dict:
    """What the page says it cannot show: why there is no forecast yet (the dates it has and
    the dates it needs) or why baselines only, the dates not loaded, and the backtest's notes
    (``analytics.forecast_accuracy.note``); the thresholds are the forecast's own."""
    from ecommerce.forecast import TOTAL, fitted_dates
    from ecommerce.forecast.models import BASELINES
    from ecommerce.forecast.selection import MIN_HISTORY, MIN_HISTORY_FOR_ETS

    fitted = fitted_dates(sorted(loaded))
    has = len(fitted)
    baselines = " and ".join(BASELINES)
    gap = (f" ({len(loaded)} dates are loaded, but a gap breaks the history: the forecast fits the latest run of "
           f"consecutive dates, {has} since {fitted[0]})" if has < len(loaded) else "")
    messages = []
    if accuracy.empty:
        messages.append(f"No forecast yet: it has not run ({len(loaded)} dates loaded; it needs {MIN_HISTORY} "
                        "consecutive ones).")
    elif forecast.empty:
        messages.append(f"No forecast yet: {has} consecutive loaded date{'s' if has != 1 else ''} of the "
                        f"{MIN_HISTORY} it needs{gap}.")
        messages.append(f"From {MIN_HISTORY} dates on it forecasts with baselines only ({baselines}); under "
                        f"{MIN_HISTORY_FOR_ETS} dates ETS with weekly seasonality is not fitted: too little history to "
                        "estimate its weekly pattern.")
    elif has < MIN_HISTORY_FOR_ETS:
        messages.append(f"Baselines only ({baselines}): {has} consecutive loaded dates{gap}, under the "
                        f"{MIN_HISTORY_FOR_ETS} that ETS with weekly seasonality needs to estimate its weekly pattern.")
    missing = missing_runs(calendar)
    if missing:
        messages.append("Not loaded, left as gaps in the chart: " + ", ".join(
            str(first) if first == last else f"{first} to {last}" for first, last in missing) + ".")
    scored = accuracy[accuracy["mase"].notna() | accuracy["mape"].notna()] if not accuracy.empty else accuracy
    chosen = accuracy[accuracy["chosen"].astype(bool)] if not accuracy.empty else accuracy
    if not scored.empty:  # the table shows the scores; the note says why the total's model was chosen
        chosen = chosen[chosen["category_name"] == TOTAL]
    by_note: dict[str, list[str]] = {}
    for row in chosen.itertuples():
        by_note.setdefault(row.note, []).append(row.category_name)
    series = set(accuracy["category_name"]) if not accuracy.empty else set()
    notes = [{"series": "Every series" if set(names) == series and len(series) > 1 else ", ".join(names),
              "text": note} for note, names in by_note.items() if note]
    return {"messages": messages, "notes": notes, "scored": not scored.empty}


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


def _cell(value) -> str:
    """A value of a declared table as the page shows it: numbers with thousands separators,
    shares and ratios to four places at most."""
    from decimal import Decimal

    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        return f"{float(value):,.4f}".rstrip("0").rstrip(".")
    return str(value)


def _money(value) -> str:
    return f"${float(value or 0):,.0f}"


def render(data: DashboardData, out: Path, generated_at: datetime | None = None) -> Path:
    """Write the dashboard page to ``out`` (a file path) and return it."""
    import jinja2
    import plotly.offline
    from markupsafe import Markup

    kpis = data["kpis"].iloc[0]
    status = forecast_status(list(data["loaded_dates"]["business_date"]), data["forecast"], data["forecast_accuracy"],
                             daily_calendar(data["daily"]))
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
        tables=[{"id": table.id, "title": table.title, "columns": table.columns,
                 "rows": [[_cell(value) for value in row] for row in data[table.id].itertuples(index=False)]}
                for table in declared_tables()],
        forecast=status,
        accuracy=_accuracy_rows(data["forecast_accuracy"]) if status["scored"] else [],
        lineage=lineage_view(data.frames.get("lineage")),
        lineage_title=LINEAGE_TITLE,
        health={
            "Last business date loaded": str(health["last_business_date"] or "none"),
            "Last task run (UTC)": f"{health['last_run_at']:%Y-%m-%d %H:%M}" if health["last_run_at"] else "none",
            "Quality gates, last run": health["quality_status"] or "no checks yet",
            "Rows quarantined, all dates": f"{int(data['quarantine']['rows'].sum()):,}",
        },
        generated_at=(generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
