"""Choose a model per series by a rolling-origin backtest, then forecast with it.

Backtest: origins every 7 days back from the end (at most 4), each with at least 16 days of
history before it; from each origin every candidate forecasts the next 14 days (the last
origin: the 7 days left), and is scored against what happened:

- MASE: mean absolute error over the mean absolute seasonal difference (lag 7) of the
  origin's history, averaged over the origins. Below 1: better than seasonal naive was
  in-sample.
- MAPE: mean absolute percentage error over the days with revenue.

The lowest MASE wins; a model must beat seasonal naive's MASE to replace it (ties keep
seasonal naive). ETS is a candidate from 21 days of history on; its parameters are estimated
once, at the first origin, and carried forward (states run on over each later origin's
history: no data after an origin is used to forecast from it), then estimated again on the
whole history for the forecast itself.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ecommerce.forecast import models

HORIZON = 14
MAX_ORIGINS = 4
#: History before an origin: what ETS's heuristic start needs (10 + 2 * (7 // 2) days).
MIN_TRAINING = 16
MIN_HISTORY_FOR_ETS = 21
MIN_HISTORY = models.WEEK
N_PATHS = 2000
ETS = "ets_damped_weekly"
SEASONAL_NAIVE = "seasonal_naive"


@dataclass(frozen=True)
class Score:
    model: str
    windows: int
    points: int
    mase: float | None
    mape: float | None


@dataclass(frozen=True)
class Choice:
    """What the backtest found for one series and the forecast of the chosen model."""

    scores: list[Score]
    chosen: str
    note: str
    fitted: models.Fitted | None  # None: too little history to forecast


def origins(n: int) -> list[int]:
    return [n - models.WEEK * k for k in range(MAX_ORIGINS, 0, -1) if n - models.WEEK * k >= MIN_TRAINING]


def backtest(y: np.ndarray, ets_params=None) -> list[Score]:
    """Score every candidate over the rolling origins of ``y``."""
    starts = origins(len(y))
    predictors = {SEASONAL_NAIVE: models.seasonal_naive_point, "trailing_mean_7d": models.trailing_mean_point}
    if ets_params is not None:
        predictors[ETS] = lambda history, horizon: models.ets_point(history, horizon, ets_params)
    window_mase = {name: [] for name in predictors}
    percentage_errors = {name: [] for name in predictors}
    for origin in starts:
        history, actual = y[:origin], y[origin:origin + HORIZON]
        scale = np.mean(np.abs(history[models.WEEK:] - history[:-models.WEEK]))
        for name, predict in predictors.items():
            errors = np.abs(actual - predict(history, len(actual)))
            if scale > 0:
                window_mase[name].append(errors.mean() / scale)
            sold = actual != 0
            percentage_errors[name].extend(errors[sold] / np.abs(actual[sold]))
    points = sum(min(HORIZON, len(y) - origin) for origin in starts)
    return [Score(name, len(starts), points,
                  float(np.mean(window_mase[name])) if window_mase[name] else None,
                  float(100 * np.mean(percentage_errors[name])) if percentage_errors[name] else None)
            for name in predictors]


def choose(scores: list[Score]) -> tuple[str, str]:
    """The model with the lowest MASE if it beats seasonal naive's; why, in words."""
    by_name = {score.model: score for score in scores}
    naive = by_name[SEASONAL_NAIVE].mase
    scored = [score for score in scores if score.mase is not None]
    if naive is None or not scored:
        return SEASONAL_NAIVE, "no backtest window (too little history): seasonal naive by default"
    best = min(scored, key=lambda score: (score.mase, score.model != SEASONAL_NAIVE))
    if best.model == SEASONAL_NAIVE or best.mase >= naive:
        return SEASONAL_NAIVE, f"no model beat seasonal naive in the backtest (MASE {naive:.2f}): seasonal naive used"
    return best.model, f"{best.model} beat seasonal naive in the backtest: MASE {best.mase:.2f} vs {naive:.2f}"


def forecast_series(name: str, y: np.ndarray) -> Choice:
    """Backtest, choose and forecast one series (``name`` seeds its simulated paths)."""
    n = len(y)
    if n < MIN_HISTORY:
        return Choice([], SEASONAL_NAIVE, f"history of {n} days: at least {MIN_HISTORY} are needed to forecast", None)
    starts = origins(n)
    first_params = _ets_or_none(y[:starts[0]], params_only=True) if n >= MIN_HISTORY_FOR_ETS and starts else None
    scores = backtest(y, first_params)
    chosen, why = choose(scores)
    if n >= MIN_HISTORY_FOR_ETS and starts and first_params is None:
        why += "; ETS could not be fitted to this series"
    if n < MIN_HISTORY_FOR_ETS:
        why = f"history of {n} days, under {MIN_HISTORY_FOR_ETS}: baselines only; {why}"
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    final = _ets_or_none(y, first_params) if chosen == ETS else None
    if final is not None:
        fitted = models.ets_damped_weekly(y, HORIZON, N_PATHS, rng, final)
    else:
        if chosen == ETS:
            chosen, why = SEASONAL_NAIVE, f"{why}; its fit on the whole history failed: seasonal naive used"
        fitted = models.BASELINES[chosen](y, HORIZON, N_PATHS, rng)
    return Choice(scores, chosen, why, fitted)


def _ets_or_none(y: np.ndarray, start_params=None, params_only: bool = False):
    """The ETS fit (``models.ets_fit``), or None when the series defeats it (e.g. constant): the
    baselines remain."""
    try:
        return models.ets_fit(y, start_params, params_only)
    except (ValueError, np.linalg.LinAlgError):
        return None
