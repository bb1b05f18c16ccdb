"""The forecasting models: two baselines and exponential smoothing with weekly seasonality.

Each model is fitted to a daily series (numpy array, oldest first) and returns a
:class:`Fitted`: its point forecast for the next days, and simulated future paths from which
the intervals (daily, and for sums of days) are read. Paths are drawn from a generator seeded
by the caller: the same input gives the same output, with no wall-clock input.

- ``seasonal_naive``: each day as the same weekday last week. Errors of a weekday accumulate
  week over week (a random walk per weekday): sigma * sqrt(1 + weeks ahead).
- ``trailing_mean_7d``: every day as the mean of the last 7. Errors: a common error of the
  mean (sigma / sqrt 7) plus each day's own (sigma).
- ``ets_damped_weekly``: ETS(A,Ad,A), additive errors, damped additive trend, additive weekly
  seasonality (statsmodels ``ETSModel``), the level, trend and seasonal states started by
  the heuristic initialisation; paths from the model's own simulation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

WEEK = 7


@dataclass(frozen=True)
class Fitted:
    """A model fitted to a series: its point forecast and simulated paths."""

    name: str
    point: np.ndarray  # (horizon,)
    paths: np.ndarray  # (horizon, n_paths), clipped at 0: revenue is not negative

    def interval(self, coverage: float) -> tuple[np.ndarray, np.ndarray]:
        """Daily lower and upper bounds holding ``coverage`` of the simulated paths."""
        tail = (1 - coverage) / 2
        lower, upper = np.quantile(self.paths, [tail, 1 - tail], axis=1)
        return np.minimum(lower, self.point), np.maximum(upper, self.point)

    def total_interval(self, days: int, coverage: float) -> tuple[float, float, float]:
        """Point, lower and upper of the sum over the first ``days`` days."""
        tail = (1 - coverage) / 2
        sums = self.paths[:days].sum(axis=0)
        lower, upper = np.quantile(sums, [tail, 1 - tail])
        point = float(self.point[:days].sum())
        return point, float(min(lower, point)), float(max(upper, point))


def _fitted(name: str, point: np.ndarray, paths: np.ndarray) -> Fitted:
    return Fitted(name, np.maximum(point, 0.0), np.maximum(paths, 0.0))


def _spread(residuals: np.ndarray, y: np.ndarray) -> float:
    """The standard deviation of a baseline's in-sample errors; with fewer than two, that of
    the last week's values (a week of history has no error to measure yet)."""
    return float(residuals.std(ddof=1)) if len(residuals) > 1 else float(np.std(y[-WEEK:], ddof=1))


def seasonal_naive_point(y: np.ndarray, horizon: int) -> np.ndarray:
    return np.array([y[len(y) - WEEK + (h % WEEK)] for h in range(horizon)], dtype=float)


def seasonal_naive(y: np.ndarray, horizon: int, n_paths: int, rng: np.random.Generator) -> Fitted:
    point = seasonal_naive_point(y, horizon)
    sigma = _spread(y[WEEK:] - y[:-WEEK], y)
    # Week k ahead of a weekday: the sum of k + 1 weekly shocks.
    shocks = rng.normal(0.0, sigma, size=(horizon, n_paths))
    steps = np.zeros_like(shocks)
    for h in range(horizon):
        steps[h] = shocks[h] + (steps[h - WEEK] if h >= WEEK else 0.0)
    return _fitted("seasonal_naive", point, point[:, None] + steps)


def trailing_mean_point(y: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(y[-WEEK:].mean()))


def trailing_mean(y: np.ndarray, horizon: int, n_paths: int, rng: np.random.Generator) -> Fitted:
    point = trailing_mean_point(y, horizon)
    residuals = (y[WEEK:] - np.lib.stride_tricks.sliding_window_view(y[:-1], WEEK).mean(axis=1)
                 if len(y) > WEEK else np.array([]))
    sigma = _spread(residuals, y)
    common = rng.normal(0.0, sigma / np.sqrt(WEEK), size=(1, n_paths))
    own = rng.normal(0.0, sigma, size=(horizon, n_paths))
    return _fitted("trailing_mean_7d", point, point[:, None] + common + own)


def ets_model(y: np.ndarray):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(y, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=WEEK,
                    initialization_method="heuristic")


def ets_fit(y: np.ndarray, start_params=None, params_only: bool = False):
    """Estimate the ETS parameters on ``y`` (maximum likelihood): the fitted model, or with
    ``params_only`` its parameters alone (no results object: its covariance, a numerical Hessian
    nothing here reads, is not computed)."""
    with warnings.catch_warnings():  # convergence chatter on short series; the backtest judges
        warnings.simplefilter("ignore")
        return ets_model(y).fit(disp=False, start_params=start_params, return_params=params_only)


def ets_point(y: np.ndarray, horizon: int, params) -> np.ndarray:
    """The ETS forecast of ``y`` with parameters estimated elsewhere: the states run over ``y``,
    then day h ahead is the last level, plus the last trend damped over h days
    (phi + phi^2 + ... + phi^h), plus the weekday's last seasonal state. Read from the states,
    not a results object, whose covariance (a numerical Hessian) took half the backtest's time;
    statsmodels' own forecast gives the same (tests/unit/test_forecast_models.py)."""
    model = ets_model(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, states = model.smooth(np.asarray(params), return_raw=True)
    phi = np.asarray(params)[model.param_names.index("damping_trend")]
    days = np.arange(1, horizon + 1)
    level, trend, seasonal = states[-1, 0], states[-1, 1], states[-WEEK:, 2]
    return level + np.cumsum(phi ** days) * trend + seasonal[(days - 1) % WEEK]


def ets_damped_weekly(y: np.ndarray, horizon: int, n_paths: int, rng: np.random.Generator,
                      fitted_model=None) -> Fitted:
    result = fitted_model if fitted_model is not None else ets_fit(y)
    point = np.asarray(result.forecast(horizon), dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = np.asarray(result.simulate(horizon, anchor="end", repetitions=n_paths, rng=rng),
                           dtype=float).reshape(horizon, n_paths)
    return _fitted("ets_damped_weekly", point, paths)


BASELINES = {"seasonal_naive": seasonal_naive, "trailing_mean_7d": trailing_mean}
