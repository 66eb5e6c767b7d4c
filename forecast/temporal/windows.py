"""Figures as sums over windows of consecutive months.

A monthly figure is a window of one month; a calendar year twelve months from January; a fiscal
year twelve months from April; a half six months; ``2024-01..2024-10`` ten months. Every model
of this package reads its data as such windows, so one code path serves every frequency.
``sd`` is the figure's measurement uncertainty (its rounding, in the figure's unit): the models
reproduce a figure to within about that much.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW_COLUMNS = ["start", "months", "value", "sd"]


def rounding_sd(step: float) -> float:
    """Standard deviation of the error of a figure rounded to ``step`` (uniform on +/- step/2)."""
    return float(step) / np.sqrt(12.0)


def check_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """Validated copy: month-start ``start``, whole ``months`` >= 1, finite ``value``, ``sd`` > 0,
    each (start, months) once, sorted by window end then length."""
    missing = [c for c in WINDOW_COLUMNS if c not in windows.columns]
    if missing:
        raise ValueError(f"windows lack column(s) {', '.join(missing)}")
    out = windows.copy()
    out["start"] = pd.DatetimeIndex(out["start"]).to_period("M").to_timestamp()
    months = out["months"].astype(float)
    if not (np.isfinite(months) & (months == np.round(months))).all():
        raise ValueError("window months must be whole numbers")
    out["months"] = months.astype(int)
    out["value"] = out["value"].astype(float)
    out["sd"] = out["sd"].astype(float)
    if (out["months"] < 1).any():
        raise ValueError("a window must span at least one month")
    if not np.isfinite(out["value"]).all():
        raise ValueError("window values must be finite")
    if not (out["sd"] > 0).all():
        raise ValueError("window sd must be > 0")
    if out.duplicated(["start", "months"]).any():
        first = out[out.duplicated(["start", "months"], keep=False)].iloc[0]
        raise ValueError(f"window {first['start']:%Y-%m} + {first['months']} months is given twice")
    out["end"] = window_end(out)
    return out.sort_values(["end", "months"], kind="stable").reset_index(drop=True)


def window_end(windows: pd.DataFrame) -> pd.Series:
    """Last month of each window."""
    starts = pd.DatetimeIndex(windows["start"]).to_period("M")
    ends = [(s + int(m) - 1).to_timestamp() for s, m in zip(starts, windows["months"])]
    return pd.Series(ends, index=windows.index, dtype="datetime64[ns]")


def month_grid(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS", name="ds")


def aggregation_matrix(windows: pd.DataFrame, grid: pd.DatetimeIndex) -> np.ndarray:
    """``C`` with ``C @ x`` = the window sums of a monthly vector ``x`` on ``grid``."""
    position = {ts: i for i, ts in enumerate(grid)}
    C = np.zeros((len(windows), len(grid)))
    for row, (start, months) in enumerate(zip(windows["start"], windows["months"])):
        first = position.get(pd.Timestamp(start))
        if first is None or first + int(months) > len(grid):
            raise ValueError(f"window {pd.Timestamp(start):%Y-%m} + {months} months is outside the grid")
        C[row, first : first + int(months)] = 1.0
    return C


def redundant(windows: pd.DataFrame) -> pd.Series:
    """True for a window longer than a month whose every month is itself a monthly figure: its
    total adds no information (it is their sum, up to rounding) and would count them twice."""
    monthly = set(pd.DatetimeIndex(windows.loc[windows["months"] == 1, "start"]))
    out = []
    for start, months in zip(windows["start"], windows["months"]):
        if int(months) == 1:
            out.append(False)
            continue
        span = pd.date_range(pd.Timestamp(start), periods=int(months), freq="MS")
        out.append(all(m in monthly for m in span))
    return pd.Series(out, index=windows.index)


def window_sums(monthly: pd.Series, windows: pd.DataFrame) -> np.ndarray:
    """Sums of ``monthly`` (MS index) over each window; NaN where a month is absent."""
    values = []
    for start, months in zip(windows["start"], windows["months"]):
        span = pd.date_range(pd.Timestamp(start), periods=int(months), freq="MS")
        part = monthly.reindex(span)
        values.append(float(part.sum()) if part.notna().all() else np.nan)
    return np.asarray(values)
