"""What the dashboard says about the forecast in each state, from the forecast's own thresholds."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from ecommerce.dashboards.render import daily_calendar, forecast_status
from ecommerce.forecast.selection import MIN_HISTORY, MIN_HISTORY_FOR_ETS

START = date(2026, 11, 1)
ACCURACY_COLUMNS = ["category_name", "model", "mase", "mape", "chosen", "note"]


def days(n: int) -> list[date]:
    return [START + timedelta(days=k) for k in range(n)]


def calendar(loaded: list[date]):
    return daily_calendar(pd.DataFrame({"date": loaded, "net_revenue": [1.0] * len(loaded),
                                        "revenue_7d_avg": [1.0] * len(loaded)}))


def test_before_the_forecast_runs_the_page_says_so():
    status = forecast_status(days(2), pd.DataFrame(), pd.DataFrame(columns=ACCURACY_COLUMNS), calendar(days(2)))
    assert status["messages"] == [f"No forecast yet: it has not run (2 dates loaded; it needs {MIN_HISTORY} "
                                  "consecutive ones)."]
    assert status["notes"] == [] and not status["scored"]


def test_a_history_under_the_ets_threshold_is_baselines_only_with_the_backtest_note():
    loaded = days(MIN_HISTORY_FOR_ETS - 1)
    note = f"history of {len(loaded)} days, under {MIN_HISTORY_FOR_ETS}: baselines only; no backtest window"
    accuracy = pd.DataFrame([("All categories", "seasonal_naive", None, None, True, note),
                             ("Books", "seasonal_naive", None, None, True, note)], columns=ACCURACY_COLUMNS)
    status = forecast_status(loaded, pd.DataFrame({"forecast_date": [loaded[-1] + timedelta(days=1)]}), accuracy,
                             calendar(loaded))
    assert status["messages"] == [
        f"Baselines only (seasonal_naive and trailing_mean_7d): {len(loaded)} consecutive loaded dates, under the "
        f"{MIN_HISTORY_FOR_ETS} that ETS with weekly seasonality needs to estimate its weekly pattern."]
    assert status["notes"] == [{"series": "Every series", "text": note}] and not status["scored"]


def test_with_backtest_scores_the_table_shows_and_the_total_note_says_why():
    loaded = days(MIN_HISTORY_FOR_ETS + 14)
    accuracy = pd.DataFrame([("All categories", "seasonal_naive", 1.0, 9.0, False, "n"),
                             ("All categories", "ets_damped_weekly", 0.8, 7.0, True, "ets won"),
                             ("Books", "seasonal_naive", 1.0, 9.0, True, "naive kept")], columns=ACCURACY_COLUMNS)
    status = forecast_status(loaded, pd.DataFrame({"forecast_date": [loaded[-1]]}), accuracy, calendar(loaded))
    assert status == {"messages": [], "notes": [{"series": "All categories", "text": "ets won"}], "scored": True}


def test_missing_dates_are_named_as_gaps():
    loaded = [*days(3), START + timedelta(days=5), START + timedelta(days=9)]
    status = forecast_status(loaded, pd.DataFrame(), pd.DataFrame(columns=ACCURACY_COLUMNS), calendar(loaded))
    assert status["messages"][-1] == ("Not loaded, left as gaps in the chart: 2026-11-04 to 2026-11-05, "
                                      "2026-11-07 to 2026-11-09.")


def test_the_dashboard_guide_states_the_forecasts_own_thresholds():
    from ecommerce.forecast.selection import MIN_TRAINING
    from ecommerce.settings import PROJECT_ROOT

    guide = " ".join((PROJECT_ROOT / "docs" / "dashboard_guide.md").read_text(encoding="utf-8").split())
    assert f"needs {MIN_HISTORY} of them (`MIN_HISTORY`" in guide
    assert f"under {MIN_HISTORY_FOR_ETS} (`MIN_HISTORY_FOR_ETS`)" in guide
    assert f"needs {MIN_TRAINING} days of history before its first window (`MIN_TRAINING`)" in guide
