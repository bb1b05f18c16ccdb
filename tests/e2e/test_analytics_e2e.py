"""Five generated weeks through staging, production, warehouse and analytics (the forecast
included); then the dashboards, down to the page in a real browser.

The month is loaded with the pipeline's own operators and models (not dag.test() per date, to
keep the suite fast); the DAG wiring itself is covered by test_pipeline_e2e.
"""

from __future__ import annotations

import io
import os
import shutil
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

import bi_files
from conftest import (assert_affinity_matches_the_facts, connect, reset_warehouse, run_models, table_checksum,
                      task_context)
from ecommerce.contract import RAW_TABLES
from ecommerce.dashboards.data import ANALYTICS_TABLES
from ecommerce.dashboards.render import CHART_TITLES
from ecommerce.forecast import selection
from ecommerce.dashboards.screenshot import chromium_path, offline_page
from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.writer import generate_day
from ecommerce.operators import CsvToStagingOperator

pytestmark = pytest.mark.e2e

MONTH_START = date(2026, 9, 1)
DAYS = 35
LAST_DAY = MONTH_START + timedelta(days=DAYS - 1)
WORLD = GeneratorConfig(seed=11, orders=300, customers=2000, new_customers=10, products=120)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("month")
    os.environ["ECOMMERCE_DATA_DIR"] = str(out)
    reset_warehouse()
    for offset in range(DAYS):
        day = (MONTH_START + timedelta(days=offset)).isoformat()
        generate_day(WORLD, date.fromisoformat(day), out / "raw")
        for table in RAW_TABLES:
            CsvToStagingOperator(task_id=table, table=table, source_dir=str(out / "raw" / day),
                                 business_date=day).execute(task_context(f"ingest_staging.{table}"))
        run_models(day, ("production", "warehouse", "analytics"))
    # As the DAG does for a date: the forecast, then the insights model that states its outlook
    # (its result depends on the history only).
    refresh_forecast()
    run_models(day, ("analytics",))
    return out


def refresh_forecast() -> int:
    from ecommerce.forecast import refresh

    with connect() as conn, conn.cursor() as cursor:
        return refresh(cursor)


def scalar(query: str):
    with connect() as conn:
        return conn.execute(query).fetchone()[0]


COMPLETED = "from warehouse.fact_sales where status = 'completed'"


def test_insights_name_electronics_with_its_true_share(month):
    with connect() as conn:
        headline, share, details = conn.execute(
            "select headline, metric_value, details from analytics.insights where insight_key = 'top_category'").fetchone()
        expected = conn.execute(
            f"""select p.category_name, round(sum(f.net_amount) / (select sum(net_amount) {COMPLETED}), 4)
            from warehouse.fact_sales f join warehouse.dim_products p using (product_sk)
            where f.status = 'completed' group by 1 order by sum(f.net_amount) desc limit 1""").fetchone()
    assert details["category_name"] == expected[0] == "Electronics"
    assert share == expected[1]
    assert headline.startswith("Electronics is the top revenue category")


def test_weekend_days_bring_more_revenue_than_weekdays(month):
    with connect() as conn:
        ratio, details = conn.execute(
            "select metric_value, details from analytics.insights where insight_key = 'weekend_vs_weekday'").fetchone()
        weekend, weekday = conn.execute(
            f"""with daily as (select d.is_weekend, f.date_key, sum(f.net_amount) as revenue
                from warehouse.fact_sales f join warehouse.dim_date d using (date_key)
                where f.status = 'completed' group by 1, 2)
            select round(avg(revenue) filter (where is_weekend), 2), round(avg(revenue) filter (where not is_weekend), 2)
            from daily""").fetchone()
    assert Decimal(str(details["weekend_daily_revenue"])) == weekend
    assert Decimal(str(details["weekday_daily_revenue"])) == weekday
    assert weekend > weekday and ratio > 1


def test_repeat_customers_bring_most_revenue(month):
    share = scalar("select metric_value from analytics.insights where insight_key = 'repeat_customer_share'")
    expected = scalar(
        f"""with per_customer as (
            select c.customer_id, count(distinct f.transaction_id) as orders, sum(f.net_amount) as revenue
            from warehouse.fact_sales f join warehouse.dim_customers c using (customer_sk)
            where f.status = 'completed' group by 1)
        select round(sum(revenue) filter (where orders > 1) / sum(revenue), 4) from per_customer""")
    assert share == expected and share > Decimal("0.5")


@pytest.mark.parametrize("query", [
    "select sum(net_revenue) from analytics.daily_kpis",
    "select sum(net_revenue) from analytics.revenue_by_category",
    "select sum(net_revenue) from analytics.sales_by_weekday",
    "select sum(net_revenue) from analytics.customer_revenue_mix",
    "select sum(monetary) from analytics.rfm_segments",
    "select sum(net_revenue) from warehouse.agg_daily_sales",
])
def test_every_analytics_table_reconciles_with_the_warehouse(month, query):
    assert scalar(query) == scalar(f"select sum(net_amount) {COMPLETED}")


def test_product_affinity_equals_an_independent_sql_over_the_facts(month):
    assert_affinity_matches_the_facts()
    assert scalar("select count(*) from analytics.product_affinity where lift > 1 and orders_together >= 3") > 0


def test_moving_averages_cover_the_last_seven_days(month):
    with connect() as conn:
        rows = conn.execute("select net_revenue, revenue_7d_avg from analytics.daily_kpis order by date").fetchall()
    revenue = [row[0] for row in rows]
    for index, (_, average) in enumerate(rows):
        window = revenue[max(0, index - 6): index + 1]
        assert average == round(sum(window) / len(window), 2)


def test_counts_reconcile_too(month):
    assert scalar("select sum(orders) from analytics.daily_kpis") == scalar(
        f"select count(distinct transaction_id) {COMPLETED}")
    customers = scalar(
        "select count(distinct c.customer_id) from warehouse.fact_sales f join warehouse.dim_customers c "
        "using (customer_sk) where f.status = 'completed'")
    assert scalar("select count(*) from analytics.rfm_segments") == customers
    assert scalar("select sum(cohort_size) from analytics.cohort_retention where months_since_first = 0") == customers
    assert scalar("select sum(days) from analytics.sales_by_weekday") == DAYS
    assert scalar("select count(*) from analytics.top_products") == 20


def _measures_with_shown_by() -> list[tuple[str, str, str]]:
    """(measure, the SQL its TMDL description states, where the HTML page shows it) per measure."""
    from ecommerce.bi.model import load_spec

    stated = {name: next(line[len("SQL: "):] for line in measure.description if line.startswith("SQL: "))
              for name, measure in bi_files.tables()["fact_sales"].measures.items()}
    shown_by = {m["name"]: m["shown_by"] for m in load_spec()["measures"]}
    assert set(stated) == set(shown_by)
    return [(name, stated[name], shown_by[name]) for name in sorted(stated)]


@pytest.mark.parametrize("name,stated_sql,shown_by", _measures_with_shown_by())
def test_each_power_bi_measure_equals_what_the_html_dashboard_shows(month, name, stated_sql, shown_by):
    """The measure's SQL equivalent (as its description in the committed TMDL states it) on the
    loaded warehouse gives the number the HTML page shows from the analytics tables."""
    value, shown = scalar(stated_sql), scalar(shown_by)
    assert value is not None and value == shown, f"{name}: {value} (warehouse) vs {shown} (dashboard)"


def test_power_bi_relationships_hold_on_the_loaded_data(month):
    """Every fact row finds its dimension row (no blank members), each key once; the date
    table covers every date of the facts."""
    tables = bi_files.tables()
    with connect() as conn:
        for from_table, from_column, to_table, to_column in bi_files.relationships():
            source, target = ".".join(tables[from_table].source), ".".join(tables[to_table].source)
            orphans, duplicates = conn.execute(f"""
                select (select count(*) from {source} f where not exists (
                            select from {target} d where d.{to_column} = f.{from_column})),
                       (select count(*) - count(distinct {to_column}) from {target})""").fetchone()
            assert (orphans, duplicates) == (0, 0), (from_table, from_column, to_table, to_column)
        assert conn.execute("select count(*) from warehouse.fact_sales").fetchone()[0] > 0
        uncovered = conn.execute("select count(*) from warehouse.fact_sales f where not exists "
                                 "(select from warehouse.dim_date d where d.date_key = f.date_key)").fetchone()[0]
    assert uncovered == 0


def test_pipeline_health_gives_bi_tools_each_loaded_date_with_its_quarantine_counts(month):
    with connect() as conn:
        rows = conn.execute("select business_date, rows_quarantined from analytics.pipeline_health "
                            "order by business_date").fetchall()
        quarantined = dict(conn.execute("select batch_date, count(*) from quarantine.rejected_rows "
                                        "group by batch_date").fetchall())
    assert [row[0] for row in rows] == [MONTH_START + timedelta(days=d) for d in range(DAYS)]
    assert {day: n for day, n in rows if n} == quarantined and sum(quarantined.values()) > 0


def external_references(html: str) -> list[str]:
    """Every src/href of the page's tags (script bodies are data, not tags)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(value for name, value in attrs if name in ("src", "href") and value)

    Collector().feed(html)
    return found


def test_refresh_dashboards_writes_the_page_and_a_readable_tableau_extract(month):
    from airflow.dag_processing.dagbag import DagBag

    from ecommerce.dashboards.hyper import count_rows
    from ecommerce.settings import PROJECT_ROOT

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("refresh_dashboards")
    assert dag.test().state == "success"
    page = Path(os.environ["ECOMMERCE_DATA_DIR"]) / "dashboards" / "index.html"
    extract = page.with_name("ecommerce_analytics.hyper")
    html = page.read_text(encoding="utf-8")
    assert "Electronics is the top revenue category" in html
    assert external_references(html) == []
    counts = count_rows(extract)
    with connect() as conn:
        expected = {table: conn.execute(f"select count(*) from analytics.{table}").fetchone()[0] for table in counts}
    assert counts == expected and set(counts) == set(ANALYTICS_TABLES) and all(counts.values())
    assert {"sales_forecast", "forecast_accuracy"} <= set(counts)


# The forecast over the five weeks.

def query_rows(query: str) -> list[tuple]:
    with connect() as conn:
        return conn.execute(query).fetchall()


def test_every_series_is_forecast_for_the_14_days_after_the_last_loaded_date(month):
    categories = {row[0] for row in query_rows("select distinct category_name from warehouse.agg_daily_sales")}
    per_series = query_rows("select category_name, count(*), min(forecast_date), max(forecast_date), "
                               "min(history_days), max(history_days) from analytics.sales_forecast group by 1")
    assert {row[0] for row in per_series} == categories | {"All categories"}
    first, last = LAST_DAY + timedelta(days=1), LAST_DAY + timedelta(days=14)
    assert all(row[1:] == (14, first, last, DAYS, DAYS) for row in per_series), per_series


def test_each_forecast_lies_inside_its_80_percent_band_inside_its_95_percent_band(month):
    bad = query_rows("select * from analytics.sales_forecast where not (lower_95 <= lower_80 and "
                        "lower_80 <= net_revenue and net_revenue <= upper_80 and upper_80 <= upper_95 and lower_95 >= 0)")
    widths = query_rows("select bool_and(upper_80 > lower_80), bool_and(upper_95 - lower_95 > upper_80 - lower_80) "
                           "from analytics.sales_forecast where category_name = 'All categories'")
    assert bad == [] and widths == [(True, True)]


def test_weekend_days_are_forecast_above_weekdays(month):
    weekend, weekday = query_rows("""
        select avg(net_revenue) filter (where extract(isodow from forecast_date) >= 6),
               avg(net_revenue) filter (where extract(isodow from forecast_date) < 6)
        from analytics.sales_forecast where category_name = 'All categories'""")[0]
    assert weekend > weekday * Decimal("1.1")


def test_the_chosen_model_beat_seasonal_naive_in_the_backtest_or_is_seasonal_naive(month):
    rows = query_rows("select category_name, model, mase, chosen, backtest_windows, note "
                         "from analytics.forecast_accuracy")
    by_series = {}
    for series, model, mase, chosen, windows, note in rows:
        by_series.setdefault(series, {})[model] = (mase, chosen, windows, note)
    for series, found in by_series.items():
        assert set(found) == {"seasonal_naive", "trailing_mean_7d", "ets_damped_weekly"}, series
        chosen = [model for model, (_, is_chosen, _, _) in found.items() if is_chosen]
        assert len(chosen) == 1, series
        assert all(windows == len(selection.origins(DAYS)) >= 2 for _, _, windows, _ in found.values()), series
        naive = found["seasonal_naive"][0]
        assert chosen == ["seasonal_naive"] or found[chosen[0]][0] < naive, (series, found)
        assert chosen[0] in found[chosen[0]][3] or "seasonal naive used" in found[chosen[0]][3]
        used = query_rows(f"select distinct model from analytics.sales_forecast where category_name = '{series}'")
        assert used == [(chosen[0],)]


def test_the_insight_gives_the_next_7_days_with_their_80_percent_range(month):
    headline, value, details = query_rows(
        "select headline, metric_value, details from analytics.insights where insight_key = 'forecast_next_7_days'")[0]
    daily = query_rows("select sum(net_revenue) from analytics.sales_forecast "
                          "where category_name = 'All categories' and horizon_days <= 7")[0][0]
    assert abs(value - daily) < 1
    assert details["lower_95"] <= details["lower_80"] < value < details["upper_80"] <= details["upper_95"]
    def dollars(amount) -> str:  # as PostgreSQL's to_char rounds: half away from zero
        return f"${Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"

    assert headline == (f"Next 7 days: {dollars(value)} expected, 80% range "
                        f"{dollars(details['lower_80'])}–{dollars(details['upper_80'])}")


def test_a_rerun_of_the_forecast_is_identical(month):
    tables = ("sales_forecast", "forecast_accuracy", "forecast_outlook")
    with connect() as conn, conn.cursor() as cursor:
        before = [table_checksum(cursor, "analytics", table) for table in tables]
    refresh_forecast()
    with connect() as conn, conn.cursor() as cursor:
        assert [table_checksum(cursor, "analytics", table) for table in tables] == before


# The page in headless Chromium with the network cut off: every chart renders.

def _require_chromium():
    if not shutil.which(chromium_path()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {chromium_path()}: .ci/run installs it")
        pytest.skip(f"Chromium not found at {chromium_path()} (apt-get install chromium)")


@pytest.fixture(scope="module")
def page_file(month):
    from ecommerce.dashboards import data, render

    with connect() as conn:
        return render.render(data.read(conn), month / "dashboards" / "index.html")


def test_every_chart_renders_offline_without_console_errors(page_file):
    _require_chromium()
    with offline_page(page_file) as (page, errors, blocked):
        titles = page.eval_on_selector_all(".js-plotly-plot .gtitle", "nodes => nodes.map(n => n.textContent)")
        drawn = page.eval_on_selector_all(
            ".js-plotly-plot", "nodes => nodes.filter(n => n.querySelector('.main-svg')).map(n => n.id)")
        insights = page.inner_text("#insights")
        legend = page.eval_on_selector_all("#daily-revenue .legendtext", "nodes => nodes.map(n => n.textContent)")
        accuracy = page.inner_text("#forecast-accuracy")
        status = page.query_selector("#forecast-status")
        health = page.inner_text("#pipeline-health")
        png = page.screenshot(full_page=True)
    assert errors == [] and blocked == []
    assert sorted(drawn) == sorted(CHART_TITLES)
    assert sorted(titles) == sorted(CHART_TITLES.values())
    assert "Electronics is the top revenue category" in insights and "Next 7 days: $" in insights
    assert {"Revenue", "7-day average", "95% range", "80% range"} <= set(legend)
    assert any(name.startswith("Forecast (") for name in legend)
    assert "All categories" in accuracy and "seasonal_naive" in accuracy
    # Five weeks without a gap: a forecast with ETS among the candidates, nothing to explain but
    # why the total's model was chosen.
    assert status is None
    assert "All categories: " in accuracy and "in the backtest" in accuracy
    assert "Last business date loaded" in health and LAST_DAY.isoformat() in health
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colors = image.resize((200, 200)).getcolors(maxcolors=200 * 200)
    assert image.size[0] == 1440 and image.size[1] > 1500
    assert len(colors) > 50, "the screenshot is not blank"
