"""Exchange-rate regressors aligned to BoP periods.

Alignment: BoP month t <-> the monthly average USD/JPY of month t (FRED, New York noon rates;
see features/data/README.md). For quarters/years the regressor is the mean of the monthly averages
of that period, only for periods whose months are all present (no partial periods).

Leakage: every builder is backward-looking. It uses rows at or before the row it computes (lags
and differences, never centred windows or backward fills), and a trailing incomplete quarter/year
is dropped rather than estimated, so truncating the input never changes earlier outputs.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.series import FREQ_MONTHS, normalize_freq
from features.snapshot import Snapshot

FX_NAME = "usdjpy"
FX_REGRESSOR = "usdjpy_log"  # the exogenous column SARIMAX / Prophet use
SERVICES_TOTAL_NAME = "services_total"


def usdjpy_monthly(snapshot: Snapshot) -> pd.Series:
    """Monthly-average USD/JPY (yen per dollar), regular MS index; a missing month stays NaN."""
    fx = snapshot.usdjpy.sort_values("ds")
    values = pd.Series(fx["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(fx["ds"]))
    grid = pd.date_range(values.index.min(), values.index.max(), freq="MS", name="ds")
    return values.reindex(grid).rename(FX_NAME)


def services_total_monthly(snapshot: Snapshot) -> pd.Series:
    """Official monthly services total, net (BOJ BPBP6JYNSN, 億円), regular MS index named ``ds``.

    A related indicator, not a digital figure (it includes travel and transport). Months inside
    the span without a figure stay NaN; nothing is filled. Values are as published (no rounding).
    """
    rows = snapshot.services_total
    rows = rows[rows["flow"] == "balance"].sort_values("ds")
    if rows["ds"].duplicated().any():
        codes = ", ".join(sorted(set(rows["series_code"])))
        raise ValueError(f"services_total: several balance series for one month ({codes}); pick one")
    values = pd.Series(rows["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["ds"]))
    if values.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], freq="MS", name="ds"), name=SERVICES_TOTAL_NAME)
    grid = pd.date_range(values.index.min(), values.index.max(), freq="MS", name="ds")
    return values.reindex(grid).rename(SERVICES_TOTAL_NAME)


def fx_at_freq(usdjpy: pd.Series, freq: str) -> pd.Series:
    """Period average of monthly averages; NaN for a period unless all its months are present.

    Leading/trailing missing periods (e.g. a quarter still in progress) are dropped.
    """
    freq = normalize_freq(freq)
    if freq == "MS":
        return usdjpy
    n = FREQ_MONTHS[freq]
    grouped = usdjpy.resample(freq)
    mean = grouped.mean().where(grouped.count() == n)
    first, last = mean.first_valid_index(), mean.last_valid_index()
    out = mean.iloc[:0] if first is None else mean.loc[first:last]
    out.index.name = "ds"
    return out.rename(usdjpy.name)


def _regular(usdjpy: pd.Series) -> pd.Series:
    """Lags by position are lags in time only on a regular grid; refuse anything else."""
    index = usdjpy.index
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError("usdjpy needs a DatetimeIndex")
    if index.freq is not None or len(index) == 0:
        return usdjpy
    for freq in ("MS", "QS-JAN", "YS-JAN"):  # the grids the BoP series use
        grid = pd.date_range(index[0], periods=len(index), freq=freq)
        if grid.equals(index):
            return usdjpy.set_axis(grid.rename(index.name))
    raise ValueError("usdjpy needs a regular DatetimeIndex (MS, QS or YS; missing periods must be NaN rows)")


def fx_regressors(usdjpy: pd.Series) -> pd.DataFrame:
    """Column ``usdjpy_log`` = log of the level, same index (NaN where the level is missing).

    Point-wise (no lags), so any DatetimeIndex is accepted, e.g. a scenario path of future months.
    """
    if not isinstance(usdjpy.index, pd.DatetimeIndex):
        raise TypeError("usdjpy needs a DatetimeIndex")
    return pd.DataFrame({FX_REGRESSOR: np.log(usdjpy.to_numpy(dtype=float))}, index=usdjpy.index)


def fx_features(usdjpy: pd.Series, lags: Iterable[int] = (1, 2, 3)) -> pd.DataFrame:
    """Level, log level, log change and lags of the log level and log change (per period).

    ``usdjpy_dlog`` at t = log(x_t) - log(x_{t-1}); ``*_lag{k}`` = value k periods earlier.
    Used by the GBM and for analysis; no value depends on a later row.
    """
    usdjpy = _regular(usdjpy)
    log = pd.Series(np.log(usdjpy.to_numpy(dtype=float)), index=usdjpy.index)
    dlog = log.diff()
    cols: dict[str, pd.Series] = {FX_NAME: usdjpy.astype(float), FX_REGRESSOR: log, "usdjpy_dlog": dlog}
    for k in lags:
        if int(k) < 1:
            raise ValueError(f"lags must be >= 1 (got {k}): a lag 0 or lead would use the current/future row")
        cols[f"usdjpy_log_lag{k}"] = log.shift(int(k))
        cols[f"usdjpy_dlog_lag{k}"] = dlog.shift(int(k))
    return pd.DataFrame(cols, index=usdjpy.index)


def attach_exog(panel: pd.DataFrame, snapshot: Snapshot, freq: str = "MS") -> pd.DataFrame:
    """Add ``usdjpy_log`` to a long panel by ``ds`` (left join; missing FX stays NaN, no filling)."""
    regressor = fx_regressors(fx_at_freq(usdjpy_monthly(snapshot), freq))[FX_REGRESSOR]
    # Keep only FX periods the panel can see: nothing after its last ds enters the join.
    if not panel.empty:
        regressor = regressor.loc[: panel["ds"].max()]
    by_ds = pd.DataFrame({"ds": regressor.index.to_numpy(), FX_REGRESSOR: regressor.to_numpy()})
    if "ds" in panel.columns:
        by_ds["ds"] = by_ds["ds"].astype(panel["ds"].dtype)  # same datetime resolution for the join
    base = panel.drop(columns=[FX_REGRESSOR], errors="ignore")
    out = base.merge(by_ds, on="ds", how="left", validate="many_to_one")
    out.index = base.index
    return out
