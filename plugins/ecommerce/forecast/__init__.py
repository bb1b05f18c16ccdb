"""The sales forecast: daily net revenue for the next 14 days, in total and per category.

Reads daily aggregates only (``warehouse.agg_daily_sales`` of the loaded dates, never the
facts), chooses a model per series by a rolling-origin backtest (``selection``) among
seasonal naive, a trailing 7-day mean and ETS with weekly seasonality (``models``), and
writes ``analytics.sales_forecast``, ``analytics.forecast_accuracy`` and
``analytics.forecast_outlook`` (the next 7 days' total, which the insights model states). See docs/architecture.md, "Forecast", for what it assumes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

log = logging.getLogger(__name__)

#: The series of all categories together.
TOTAL = "All categories"
#: The days the outlook sums.
OUTLOOK_DAYS = 7
#: The most days a series is fitted on: weekly seasonality needs weeks, not years, and the
#: forecast's cost stays bounded however long the history grows.
MAX_HISTORY_DAYS = 365


HISTORY_SQL = """
    select loaded.business_date, sales.category_name, sales.net_revenue
    from audit.loaded_dates as loaded
    left join warehouse.agg_daily_sales as sales
        on sales.date_key = to_char(loaded.business_date, 'YYYYMMDD')::integer
    order by loaded.business_date
"""
FORECAST_SQL = """
    insert into analytics.sales_forecast (category_name, forecast_date, horizon_days, net_revenue,
        lower_80, upper_80, lower_95, upper_95, model, history_days, history_start)
    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
ACCURACY_SQL = """
    insert into analytics.forecast_accuracy (category_name, model, backtest_windows, backtest_days,
        mase, mape, chosen, note)
    values (%s, %s, %s, %s, %s, %s, %s, %s)
"""
OUTLOOK_SQL = ("insert into analytics.forecast_outlook (days, net_revenue, lower_80, upper_80, lower_95, upper_95, "
               "model) values (%s, %s, %s, %s, %s, %s, %s)")
CLEAR_FORECAST_SQL = "delete from analytics.sales_forecast"
CLEAR_ACCURACY_SQL = "delete from analytics.forecast_accuracy"
CLEAR_OUTLOOK_SQL = "delete from analytics.forecast_outlook"
#: Every statement the forecast runs: the tables it reads and writes, and so its locks, come from them.
STATEMENTS = (HISTORY_SQL, CLEAR_FORECAST_SQL, FORECAST_SQL, CLEAR_ACCURACY_SQL, ACCURACY_SQL, CLEAR_OUTLOOK_SQL,
              OUTLOOK_SQL)


@dataclass(frozen=True)
class History:
    """Daily net revenue per series over the latest run of consecutive loaded dates."""

    dates: list[date]
    series: dict[str, np.ndarray]
    loaded_days: int  # every loaded date, the gaps' other side included


def fitted_dates(loaded: list[date]) -> list[date]:
    """The dates a series is fitted on, from the loaded dates (sorted): a series must have one
    value per day, so when they have gaps only the latest unbroken run counts, and of it the
    latest ``MAX_HISTORY_DAYS``."""
    start = len(loaded) - 1
    while start > 0 and loaded[start] - loaded[start - 1] == timedelta(days=1):
        start -= 1
    return loaded[max(start, len(loaded) - MAX_HISTORY_DAYS, 0):]


def read_history(cursor) -> History:
    """The loaded dates' revenue per category (0 where a category sold nothing), oldest first,
    over the dates ``fitted_dates`` keeps."""
    cursor.execute(HISTORY_SQL)
    rows = cursor.fetchall()
    loaded = sorted({row[0] for row in rows})
    dates = fitted_dates(loaded)
    index = {day: position for position, day in enumerate(dates)}
    categories = sorted({row[1] for row in rows if row[1] is not None})
    series = {name: np.zeros(len(dates)) for name in [TOTAL, *categories]}
    for day, category, revenue in rows:
        if category is not None and day in index:
            series[category][index[day]] += float(revenue)
            series[TOTAL][index[day]] += float(revenue)
    return History(dates, series, len(loaded))


def forecast_rows(history: History) -> tuple[list[tuple], list[tuple], tuple | None]:
    """Rows of sales_forecast and forecast_accuracy, and the outlook row (None: no forecast)."""
    from ecommerce.forecast.selection import forecast_series

    last = history.dates[-1] if history.dates else None
    forecasts, accuracy, outlook = [], [], None
    for name, values in history.series.items():
        choice = forecast_series(name, values)
        note = choice.note
        if len(history.dates) < history.loaded_days:
            note += f"; fitted on the {len(history.dates)} consecutive dates since {history.dates[0]}"
        accuracy += [(name, score.model, score.windows, score.points, score.mase, score.mape,
                      score.model == choice.chosen, note) for score in choice.scores]
        if choice.fitted is None:
            accuracy.append((name, choice.chosen, 0, 0, None, None, True, note))
            continue
        lower80, upper80 = choice.fitted.interval(0.80)
        lower95, upper95 = choice.fitted.interval(0.95)
        for h in range(len(choice.fitted.point)):
            forecasts.append((name, last + timedelta(days=h + 1), h + 1, *(round(float(v[h]), 2) for v in (
                choice.fitted.point, lower80, upper80, lower95, upper95)), choice.chosen, len(values),
                history.dates[0]))
        if name == TOTAL:
            outlook = outlook_row(choice)
    return forecasts, accuracy, outlook


def outlook_row(choice) -> tuple:
    """The next ``OUTLOOK_DAYS`` days' total of the total series, with the intervals of the sum."""
    point, lower80, upper80 = choice.fitted.total_interval(OUTLOOK_DAYS, 0.80)
    _, lower95, upper95 = choice.fitted.total_interval(OUTLOOK_DAYS, 0.95)
    return (OUTLOOK_DAYS, round(point, 2), round(lower80, 2), round(upper80, 2), round(lower95, 2),
            round(upper95, 2), choice.chosen)


def write(cursor, forecasts: list[tuple], accuracy: list[tuple], outlook: tuple | None) -> None:
    """Replace the forecast's tables (their homes: include/sql/analytics/*.yml)."""
    cursor.execute(CLEAR_FORECAST_SQL)
    cursor.executemany(FORECAST_SQL, forecasts)
    cursor.execute(CLEAR_ACCURACY_SQL)
    cursor.executemany(ACCURACY_SQL, accuracy)
    cursor.execute(CLEAR_OUTLOOK_SQL)
    if outlook is not None:
        cursor.execute(OUTLOOK_SQL, outlook)


def refresh(cursor) -> int:
    """Read the history, forecast every series, replace the tables; the rows of sales_forecast.

    Takes the locks of the tables it reads and writes first, as a SQL model does
    (``ecommerce.table_locks``): it reads the aggregates of no load under way, and the forecast
    of another date runs before or after it.
    """
    from ecommerce import table_locks

    table_locks.take(cursor, table_locks.locks(*table_locks.tables(STATEMENTS)))
    history = read_history(cursor)
    forecasts, accuracy, outlook = forecast_rows(history)
    write(cursor, forecasts, accuracy, outlook)
    chosen = sorted({row[1] for row in accuracy if row[6]})
    log.info("forecast of %d series over %d days of history (%s): %d rows; models chosen: %s",
             len(history.series), len(history.dates),
             f"{history.dates[0]}..{history.dates[-1]}" if history.dates else "none", len(forecasts),
             ", ".join(chosen) or "none")
    if outlook is not None:
        log.info("next %d days: %.0f expected, 80%% range %.0f-%.0f", *outlook[:4])
    return len(forecasts)


def run(context, conn_id: str) -> int:
    """The Airflow task: refresh the forecast in one transaction, recorded in audit.task_runs."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from ecommerce import audit
    from ecommerce.business_date import business_date_of

    with PostgresHook(postgres_conn_id=conn_id).get_conn() as conn, conn.cursor() as cursor:
        with audit.task_run(cursor, context, business_date_of(context)) as counts:
            counts.written = refresh(cursor)
    return counts.written
