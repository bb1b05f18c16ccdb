"""The forecast's models and backtest on synthetic series whose pattern is known."""

from __future__ import annotations

import numpy as np
import pytest

from ecommerce.forecast import models, selection
from ecommerce.forecast.models import WEEK

#: Weekday effects (Monday first): the weekend sells most, as the generator's shop does.
WEEKLY = np.array([0, -300, -200, 0, 400, 1500, 1700], dtype=float)


def weekly_series(n: int, seed: int, trend: float = 15.0, noise: float = 300.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10_000 + trend * t + WEEKLY[t % WEEK] + rng.normal(0, noise, n)


def scores(choice) -> dict:
    return {score.model: score for score in choice.scores}


def test_on_a_weekly_pattern_with_trend_the_chosen_model_beats_seasonal_naive():
    choice = selection.forecast_series("synthetic", weekly_series(120, seed=1))
    found = scores(choice)
    assert set(found) == {"seasonal_naive", "trailing_mean_7d", "ets_damped_weekly"}
    assert choice.chosen == "ets_damped_weekly"
    assert found[choice.chosen].mase < found["seasonal_naive"].mase
    assert found["trailing_mean_7d"].mase > found["seasonal_naive"].mase  # it cannot see the weekly shape
    assert all(score.windows == selection.MAX_ORIGINS for score in choice.scores)
    assert "beat seasonal naive" in choice.note


@pytest.mark.parametrize("days", [21, 30, 64, 365])
def test_the_backtests_ets_point_is_statsmodels_own_forecast(days):
    """The backtest reads ETS's forecast from the smoothed states (models.ets_point); it must be
    the forecast statsmodels' results give, trend damping and weekday included."""
    series = weekly_series(days, seed=days, trend=40.0)
    fitted = models.ets_fit(series)
    params = models.ets_fit(series, params_only=True)
    assert np.allclose(params, fitted.params)
    assert np.allclose(models.ets_point(series, selection.HORIZON, fitted.params),
                       fitted.forecast(selection.HORIZON), rtol=1e-9, atol=1e-6)
    undamped = np.array(fitted.params, dtype=float)
    undamped[3] = 1.0  # the damping is in play: without it the forecast is another
    assert not np.allclose(models.ets_point(series, selection.HORIZON, undamped), fitted.forecast(selection.HORIZON))


def test_the_intervals_cover_about_their_nominal_share_of_held_out_days():
    inside = {0.80: 0, 0.95: 0}
    days = 0
    for seed in range(25):
        series = weekly_series(100 + selection.HORIZON, seed=100 + seed)
        history, held_out = series[:-selection.HORIZON], series[-selection.HORIZON:]
        fitted = selection.forecast_series(f"held-out {seed}", history).fitted
        for coverage in inside:
            lower, upper = fitted.interval(coverage)
            inside[coverage] += int(((held_out >= lower) & (held_out <= upper)).sum())
        days += len(held_out)
    assert 0.70 <= inside[0.80] / days <= 0.90, inside
    assert 0.89 <= inside[0.95] / days <= 0.99, inside


def test_the_forecast_follows_the_weekly_pattern():
    series = weekly_series(91, seed=5)
    fitted = selection.forecast_series("weekly", series).fitted
    # The series starts on a Monday; the forecast starts on day 91 = a Monday.
    weekday = np.arange(91, 91 + selection.HORIZON) % WEEK
    assert fitted.point[weekday >= 5].mean() > fitted.point[weekday < 5].mean() + 1000


def test_a_series_without_a_pattern_keeps_seasonal_naive_or_a_model_that_beats_it():
    rng = np.random.default_rng(9)
    series = 5_000 + rng.normal(0, 800, 90)
    choice = selection.forecast_series("noise", series)
    found = scores(choice)
    assert choice.chosen == "seasonal_naive" or found[choice.chosen].mase < found["seasonal_naive"].mase


def test_when_no_model_beats_seasonal_naive_it_is_used_and_the_table_says_so():
    naive_wins = [selection.Score("seasonal_naive", 4, 49, 0.8, 5.0), selection.Score("trailing_mean_7d", 4, 49, 1.4, 9.0),
                  selection.Score("ets_damped_weekly", 4, 49, 0.8, 4.0)]
    chosen, note = selection.choose(naive_wins)
    assert chosen == "seasonal_naive" and "seasonal naive used" in note


@pytest.mark.parametrize("days", [7, 14, 20])
def test_under_21_days_only_the_baselines_run_with_a_note(days):
    choice = selection.forecast_series("short", weekly_series(days, seed=2))
    assert {score.model for score in choice.scores} == {"seasonal_naive", "trailing_mean_7d"}
    assert choice.chosen in {"seasonal_naive", "trailing_mean_7d"}
    assert f"history of {days} days, under 21: baselines only" in choice.note
    assert len(choice.fitted.point) == selection.HORIZON


def test_under_a_week_nothing_is_forecast():
    choice = selection.forecast_series("tiny", weekly_series(5, seed=2))
    assert choice.fitted is None and "at least 7" in choice.note


def test_the_same_input_gives_the_same_forecast():
    series = weekly_series(60, seed=3)
    first, second = (selection.forecast_series("same", series) for _ in range(2))
    assert first.chosen == second.chosen and first.scores == second.scores
    assert np.array_equal(first.fitted.point, second.fitted.point)
    assert np.array_equal(first.fitted.paths, second.fitted.paths)


def test_forecasts_and_bounds_are_never_negative():
    series = np.maximum(weekly_series(60, seed=4, trend=-200.0, noise=900.0), 0)
    fitted = selection.forecast_series("falling", series).fitted
    lower, upper = fitted.interval(0.95)
    assert (fitted.point >= 0).all() and (lower >= 0).all() and (lower <= fitted.point).all()
    assert (fitted.point <= upper).all()


def test_a_series_is_fitted_on_the_latest_unbroken_run_of_at_most_a_year():
    from datetime import date, timedelta

    from ecommerce.forecast import MAX_HISTORY_DAYS, fitted_dates

    def days(first: date, count: int) -> list[date]:
        return [first + timedelta(days=n) for n in range(count)]

    assert fitted_dates([]) == []
    assert fitted_dates([date(2026, 5, 1)]) == [date(2026, 5, 1)]
    early, late = days(date(2026, 1, 1), 30), days(date(2026, 3, 1), 20)  # a gap in February
    assert fitted_dates(early + late) == late
    years = days(date(2024, 1, 1), 3 * MAX_HISTORY_DAYS)
    assert fitted_dates(years) == years[-MAX_HISTORY_DAYS:]
