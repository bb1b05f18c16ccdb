"""Turn the generator's day counts (floats since the epoch) into contract strings."""

from __future__ import annotations

import numpy as np

from ecommerce.generation.config import EPOCH

_EPOCH = np.datetime64(EPOCH.isoformat(), "s")
SECONDS_PER_DAY = 86_400


def to_datetime(days: np.ndarray) -> np.ndarray:
    return _EPOCH + np.floor(np.asarray(days) * SECONDS_PER_DAY).astype("timedelta64[s]")


def iso_timestamps(days: np.ndarray) -> np.ndarray:
    """ISO-8601 UTC timestamps, e.g. ``2026-11-20T14:03:07Z``."""
    return np.datetime_as_string(to_datetime(days), unit="s", timezone="UTC").astype(object)


def iso_dates(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` of each day; few distinct days, so each is formatted once."""
    whole = np.floor(np.asarray(days)).astype(np.int64)
    distinct, position = np.unique(whole, return_inverse=True)
    return np.datetime_as_string(_EPOCH.astype("datetime64[D]") + distinct, unit="D").astype(object)[position]
