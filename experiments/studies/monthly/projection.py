"""Projections from fitted champions: one code path for the refresh CSV and the pyfunc model.

Future exogenous values: a caller may pass a path (column ``usdjpy``, yen per dollar). Where it
does not, the projection uses USD/JPY as published (the snapshot holds it well past the last BoP
month) and carries the last published value forward after that. Each row says which it used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.exog import fx_regressors
from forecast.models.base import BaseForecaster

OUTPUT_COLUMNS = ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
_RENAME = {"mean": "yhat", "lo_80": "yhat_lo_80", "hi_80": "yhat_hi_80", "lo_95": "yhat_lo_95", "hi_95": "yhat_hi_95"}


def period_label(period: pd.Timestamp, freq: str) -> str:
    """How people write a period: 2017-03 for a month, 2017Q1 for a quarter, 2025 for a year."""
    period = pd.Timestamp(period)
    if freq.startswith("Y"):
        return f"{period:%Y}"
    if freq.startswith("Q"):
        return f"{period.year}Q{period.quarter}"
    return f"{period:%Y-%m}"


class ProjectionRequestError(ValueError):
    """A request the fitted models cannot answer (unknown series, a month inside the history)."""


def expand_request(request: pd.DataFrame, series_ids: list[str], periods: str, error: type[Exception]) -> pd.DataFrame:
    """Validate a pyfunc request and give every row a ``unique_id``: a request without one asks
    for the same periods (and the same per-period inputs) of every series the model knows."""
    if "ds" not in request.columns:
        raise error(f"the request needs a 'ds' column of {periods}")
    request = request.copy()
    request["ds"] = pd.to_datetime(request["ds"])
    if "unique_id" not in request.columns or request["unique_id"].isna().all():
        periods_frame = request.drop(columns=["unique_id"], errors="ignore").drop_duplicates("ds")
        request = pd.concat([periods_frame.assign(unique_id=uid) for uid in series_ids], ignore_index=True)
    unknown = sorted(set(request["unique_id"]) - set(series_ids))
    if unknown:
        raise error(f"unknown series '{unknown[0]}'; this model knows: {', '.join(series_ids)}")
    return request


def usdjpy_path(
    index: pd.DatetimeIndex, known: pd.Series, override: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """USD/JPY level for ``index`` and, per period, where it came from (input/published/carried)."""
    level = pd.Series(np.nan, index=index, dtype=float)
    source = pd.Series("carried_forward", index=index, dtype=object)
    published = known.reindex(index)
    level[published.notna()] = published[published.notna()]
    source[published.notna()] = "published"
    if override is not None:
        given = override.reindex(index)
        level[given.notna()] = given[given.notna()]
        source[given.notna()] = "input"
    last_known = known.loc[: index[0]].dropna()
    fallback = last_known.iloc[-1] if len(last_known) else known.dropna().iloc[-1]
    level = level.ffill().fillna(fallback)
    return level, source


def project_series(
    estimator: BaseForecaster,
    ds: pd.DatetimeIndex,
    known_usdjpy: pd.Series,
    override_usdjpy: pd.Series | None = None,
    fx_multiplier: float = 1.0,
) -> pd.DataFrame:
    """Forecast rows for the requested months ``ds`` (all after the estimator's cutoff).

    ``fx_multiplier`` scales the USD/JPY path where it was not given as input (a scenario, e.g.
    1.15 for a 15% weaker yen).
    """
    ds = pd.DatetimeIndex(ds).sort_values()
    if ds[0] <= estimator.cutoff_:
        raise ProjectionRequestError(
            f"requested month {ds[0]:%Y-%m} is not after the last observation {estimator.cutoff_:%Y-%m}"
        )
    full = pd.date_range(estimator.cutoff_, ds[-1], freq=estimator.freq_)[1:]
    missing = ds.difference(full)
    if len(missing):
        raise ProjectionRequestError(
            f"month {missing[0]:%Y-%m-%d} is not on the model's {estimator.freq_.freqstr} grid"
        )
    level, source = usdjpy_path(full, known_usdjpy, override_usdjpy)
    level = level.where(source == "input", level * fx_multiplier)
    X_future = fx_regressors(level) if estimator.exog_columns_ else None
    pred = estimator.predict(len(full), X_future).rename(columns=_RENAME)
    pred["usdjpy_assumed"] = level
    pred["usdjpy_source"] = source
    return pred.loc[ds]


def project(
    estimators: dict[str, BaseForecaster],
    request: pd.DataFrame,
    known_usdjpy: pd.Series,
    extra_columns: bool = False,
    fx_multiplier: float = 1.0,
) -> pd.DataFrame:
    """Answer a request frame (``ds``, optional ``unique_id``, optional ``usdjpy``)."""
    request = expand_request(request, list(estimators), "forecast months", ProjectionRequestError)
    frames = []
    for uid, rows in request.groupby("unique_id", sort=True):
        override = None
        if "usdjpy" in rows.columns and rows["usdjpy"].notna().any():
            override = rows.dropna(subset=["usdjpy"]).set_index("ds")["usdjpy"].astype(float)
        pred = project_series(
            estimators[uid], pd.DatetimeIndex(rows["ds"].unique()), known_usdjpy, override, fx_multiplier
        )
        frames.append(pred.rename_axis("ds").reset_index().assign(unique_id=uid))
    out = pd.concat(frames, ignore_index=True)
    columns = OUTPUT_COLUMNS + (["usdjpy_assumed", "usdjpy_source"] if extra_columns else [])
    return out[columns].sort_values(["unique_id", "ds"]).reset_index(drop=True)
