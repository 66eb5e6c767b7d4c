"""Is anything left in a model's errors? Autocorrelation and Ljung-Box on one-step backtest errors.

The errors tested are each origin's one-step-ahead forecast error (``h == 1``): out of sample,
one per origin, and the same for every model, whatever its class (in-sample residuals exist only
for some models and flatter the ones that overfit). A good forecaster leaves them uncorrelated;
a Ljung-Box p-value below 0.05 says some structure (a missed seasonality, a level shift reacted
to too slowly) was left for a better model to take.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LJUNG_BOX_LAGS: tuple[int, ...] = (6, 12)
ACF_LAGS = 12
RESIDUAL_COLUMNS = ["unique_id", "model", "n", "mean_error", "sd_error", *[f"lb_p_{k}" for k in LJUNG_BOX_LAGS]]
ACF_COLUMNS = ["unique_id", "model", "lag", "acf", "bound"]


def one_step_errors(forecasts: pd.DataFrame) -> pd.DataFrame:
    """``y - mean`` of the first forecast step of every origin, in cutoff order, per series and model."""
    first = forecasts[(forecasts["h"] == 1) & forecasts["y"].notna()]
    return first.assign(error=first["y"] - first["mean"]).sort_values(["unique_id", "model", "cutoff"])[
        ["unique_id", "model", "cutoff", "error"]
    ]


def residual_diagnostics(
    forecasts: pd.DataFrame, models: dict[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table, acf): per series and model (only ``models[unique_id]`` when given, e.g. the
    champions), the count, mean and spread of the one-step errors with Ljung-Box p-values at
    :data:`LJUNG_BOX_LAGS` (NaN where the lag is not below the count), and the autocorrelations
    to :data:`ACF_LAGS` with the white-noise band 1.96/sqrt(n)."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    errors = one_step_errors(forecasts)
    if models is not None:
        errors = errors[errors["model"] == errors["unique_id"].map(models)]
    rows, acf_rows = [], []
    for (uid, model), group in errors.groupby(["unique_id", "model"], sort=True):
        e = group["error"].to_numpy(dtype=float)
        n = len(e)
        row = {
            "unique_id": uid,
            "model": model,
            "n": n,
            "mean_error": float(e.mean()) if n else np.nan,
            "sd_error": float(e.std(ddof=1)) if n > 1 else np.nan,
        }
        usable = [k for k in LJUNG_BOX_LAGS if k < n]
        varies = n > 2 and np.ptp(e) > 0
        pvalues = acorr_ljungbox(e, lags=usable)["lb_pvalue"] if usable and varies else pd.Series(dtype=float)
        for k in LJUNG_BOX_LAGS:
            row[f"lb_p_{k}"] = float(pvalues.iloc[usable.index(k)]) if k in usable and varies else np.nan
        rows.append(row)
        if varies:
            nlags = min(ACF_LAGS, n - 1)
            values = acf(e, nlags=nlags, fft=False)
            acf_rows += [[uid, model, lag, float(values[lag]), 1.96 / np.sqrt(n)] for lag in range(1, nlags + 1)]
    return pd.DataFrame(rows, columns=RESIDUAL_COLUMNS), pd.DataFrame(acf_rows, columns=ACF_COLUMNS)
