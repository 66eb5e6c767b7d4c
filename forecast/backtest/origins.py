"""Forecast origins (cutoffs) of a rolling-origin, expanding-window backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_cutoffs(
    index: pd.DatetimeIndex,
    horizon: int,
    n_origins: int,
    step: int,
    min_train: int,
    observed: np.ndarray | pd.Series | None = None,
) -> list[pd.Timestamp]:
    """Cutoffs (last training period of each fold), oldest first.

    ``index`` is one series' regular period grid, from its first to its last observation. The last
    cutoff leaves exactly ``horizon`` periods after it, so every fold scores a full horizon; earlier
    cutoffs go back ``step`` periods at a time, at most ``n_origins`` in all. A cutoff is kept only
    when at least ``min_train`` observations lie at or before it; ``observed`` flags which periods
    are non-missing (default: all), so internal gaps do not count as training data. A short series
    yields fewer cutoffs, possibly none. ``n_origins=1`` is a single test window of the last
    ``horizon`` periods.
    """
    for name, value in (("horizon", horizon), ("n_origins", n_origins), ("step", step), ("min_train", min_train)):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    observed = np.ones(len(index), dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    if observed.shape != (len(index),):
        raise ValueError("observed must flag every period of index")
    n_seen = np.cumsum(observed)  # observations at or before each position
    last = len(index) - 1 - int(horizon)
    positions = [last - k * int(step) for k in range(int(n_origins))]
    kept = [p for p in positions if p >= 0 and n_seen[p] >= int(min_train)]
    return [index[p] for p in sorted(kept)]


def model_cutoffs(model, y: pd.Series, settings) -> list[pd.Timestamp]:
    """The cutoffs of ``model`` on series ``y`` under backtest ``settings`` (its own minimum
    training length unless ``settings.min_train`` is set); local and global backtests share them."""
    min_train = settings.min_train or model.min_train_length()
    return make_cutoffs(y.index, settings.horizon, settings.n_origins, settings.step, min_train, y.notna())
