"""Feature builders that take only what is known at the forecast origin.

Every function here sees a history that ends at the origin (the caller slices first) and never
looks past its last row; future exogenous values come from :func:`carry_forward` (the last known
value) or from an explicit scenario path supplied by the caller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def target_lags(y: pd.Series, lags: list[int] | range) -> pd.DataFrame:
    """Columns ``lag_k`` = y shifted by k periods (NaN where the lag is before the start or missing)."""
    return pd.DataFrame({f"lag_{k}": y.shift(k) for k in lags}, index=y.index)


def lag_matrix(values: np.ndarray, lags: list[int] | range) -> np.ndarray:
    """The values of :func:`target_lags` as one float array (a row per period, a column per lag),
    without the frame: models that rebuild their lags at every backtest fold use this."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    out = np.full((n, len(lags)), np.nan)
    for j, k in enumerate(lags):
        if k < 0:
            raise ValueError(f"lags look back: got {k}")
        if k < n:
            out[k:, j] = values[: n - k]
    return out


def calendar_terms(index: pd.DatetimeIndex, season_length: int) -> pd.DataFrame:
    """Fourier terms of the position in the year (sin/cos pairs) plus the period number.

    With ``season_length`` 1 (annual data) there is no seasonal position and only ``period_of_year``
    (always 1) is meaningless, so an empty frame is returned.
    """
    return pd.DataFrame(_calendar_columns(index, season_length), index=index)


def calendar_matrix(index: pd.DatetimeIndex, season_length: int) -> np.ndarray:
    """The values of :func:`calendar_terms` as one float array (no columns for annual data)."""
    columns = _calendar_columns(index, season_length)
    return np.column_stack(list(columns.values())) if columns else np.empty((len(index), 0))


def _calendar_columns(index: pd.DatetimeIndex, season_length: int) -> dict[str, np.ndarray]:
    if season_length <= 1:
        return {}
    if season_length == 12:
        pos = index.month.to_numpy() - 1
    elif season_length == 4:
        pos = index.quarter.to_numpy() - 1
    else:
        raise ValueError(f"unsupported season_length {season_length}")
    cols = {}
    for k in range(1, season_length // 2 + 1):
        angle = 2 * np.pi * k * pos / season_length
        cols[f"sin_{k}"] = np.sin(angle)
        if 2 * k != season_length:  # cos of the Nyquist term is redundant with the constant
            cols[f"cos_{k}"] = np.cos(angle)
    return cols


def carry_forward(X_hist: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Future exogenous values = the last non-missing value of each column known at the origin.

    This is the default view of the future inside a backtest: no realised future driver is used.
    """
    if X_hist.empty:
        return pd.DataFrame(index=index, columns=X_hist.columns, dtype=float)
    last = X_hist.ffill().iloc[-1]
    return pd.DataFrame(np.tile(last.to_numpy(dtype=float), (len(index), 1)), index=index, columns=X_hist.columns)
