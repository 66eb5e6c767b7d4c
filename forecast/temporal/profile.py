"""Multiplicative seasonal factors of a monthly series (classical ratio-to-moving-average).

Each month's ratio to the centred 2x12 moving average, averaged by calendar month over the
months where the average exists, normalised to mean one. A balance that stays negative has
positive ratios too; a series whose average changes sign has no multiplicative pattern and gets
``None`` (the caller falls back to a flat profile).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLAT = np.ones(12)


def seasonal_factors(monthly: pd.Series, years: int | None = None, min_ratios: int = 2) -> np.ndarray | None:
    """Twelve factors (January first, mean one) or ``None`` when the series cannot support them:
    fewer than ``min_ratios`` ratios for some calendar month, or a moving average that is zero or
    changes sign. ``years``: use only the last ``years`` years of the series."""
    s = monthly.dropna()
    if s.empty:
        return None
    s = monthly.loc[s.index[0] : s.index[-1]].asfreq("MS")
    if years is not None:
        s = s[s.index >= s.index[-1] - pd.DateOffset(months=12 * years - 1)]
    # centred 2x12 moving average; NaN inside any window makes that average NaN (no filling)
    ma = s.rolling(12, min_periods=12).mean().rolling(2, min_periods=2).mean().shift(-6)
    ratio = (s / ma).dropna()
    ma_valid = ma.dropna()
    if ratio.empty or (ma_valid == 0).any() or not (np.all(ma_valid > 0) or np.all(ma_valid < 0)):
        return None
    by_month = ratio.groupby(ratio.index.month)
    if len(by_month) < 12 or by_month.size().min() < min_ratios:
        return None
    factors = by_month.mean().reindex(range(1, 13)).to_numpy(dtype=float)
    return factors / factors.mean()


def factors_on(grid: pd.DatetimeIndex, factors: np.ndarray | None) -> np.ndarray:
    """The factor of each month of ``grid`` (ones for ``None``)."""
    f = FLAT if factors is None else np.asarray(factors, dtype=float)
    return f[grid.month.to_numpy() - 1]
