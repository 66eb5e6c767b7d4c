"""Ensembles of the best k models, chosen honestly inside the backtest and on the whole backtest.

Inside the backtest the members at cutoff ``c`` are ranked only on forecast points with
``ds <= c``: points of earlier folds whose outcome was already known at ``c``. Ranking on the whole
backtest would let a fold's own errors choose its ensemble, which flatters the ensemble.
"""

from __future__ import annotations

from collections.abc import Hashable

import pandas as pd

from forecast.backtest.engine import FORECAST_COLUMNS, BacktestResult
from forecast.backtest.leaderboard import check_metric, rank_models
from forecast.models.base import PREDICTION_COLUMNS, order_intervals

COMBINE_METHODS: tuple[str, ...] = ("median", "mean")


def base_forecasts(result: BacktestResult) -> pd.DataFrame:
    """Forecasts of the individual models (without earlier ensembles)."""
    return result.forecasts[~result.forecasts["model"].isin(result.combined)]


def honest_members(result: BacktestResult, k: int = 3, metric: str = "mase") -> pd.DataFrame:
    """Members of the ensemble at every (series, cutoff), from what was known at that cutoff.

    Columns ``unique_id, cutoff, members`` (tuple of model names, best first) and ``fallback``.
    Candidates are the base models with a forecast at the cutoff, ranked by ``metric`` on their
    points with ``ds <= cutoff`` (see :func:`~forecast.backtest.leaderboard.rank_models`); the best
    ``k`` are kept. At the first origins no error is known yet, so all candidates are combined and
    ``fallback`` is True: an equal-weight combination is the usual prior when nothing is known.
    """
    check_metric(metric)
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rows = []
    for uid, series in base_forecasts(result).groupby("unique_id", sort=True):
        for cutoff in sorted(series["cutoff"].unique()):
            candidates = sorted(series.loc[series["cutoff"] == cutoff, "model"].unique())
            known = series[(series["ds"] <= cutoff) & series["model"].isin(candidates)].dropna(subset=["y"])
            fallback = known.empty
            members = candidates if fallback else rank_models(known, metric)["model"].tolist()[: int(k)]
            rows.append({"unique_id": uid, "cutoff": cutoff, "members": tuple(members), "fallback": fallback})
    return pd.DataFrame(rows, columns=["unique_id", "cutoff", "members", "fallback"])


def add_selected_ensemble(
    result: BacktestResult, k: int = 3, method: str = "median", metric: str = "mase", name: str = "ensemble"
) -> BacktestResult:
    """A new result with an extra model ``name``: at each cutoff, the column-wise ``method``
    (median or mean) of the forecasts of :func:`honest_members`, intervals re-nested with
    :func:`~forecast.models.base.order_intervals`."""
    if method not in COMBINE_METHODS:
        raise ValueError(f"method must be one of {', '.join(COMBINE_METHODS)}, got {method!r}")
    if name in set(result.forecasts["model"]):
        raise ValueError(f"the result already has a model named {name!r}")
    chosen = honest_members(result, k, metric).explode("members").rename(columns={"members": "model"})
    rows = base_forecasts(result).merge(chosen[["unique_id", "cutoff", "model"]], on=["unique_id", "cutoff", "model"])
    return _with_combination(result, rows, method, name)


def _with_combination(result: BacktestResult, rows: pd.DataFrame, method: str, name: str) -> BacktestResult:
    """``result`` plus model ``name``: per (series, cutoff, step), the ``method`` of ``rows``."""
    # y and train_scale are properties of the (series, cutoff, ds), identical across members.
    how = {**dict.fromkeys(PREDICTION_COLUMNS, method), "y": "first", "train_scale": "first"}
    combined = rows.groupby(["unique_id", "cutoff", "ds", "h"], sort=True).agg(how)
    combined[PREDICTION_COLUMNS] = order_intervals(combined[PREDICTION_COLUMNS])
    combination = combined.reset_index().assign(model=name)[FORECAST_COLUMNS]
    forecasts = pd.concat([result.forecasts, combination], ignore_index=True)
    return BacktestResult(
        forecasts=forecasts.sort_values(["unique_id", "model", "cutoff", "h"], ignore_index=True),
        skipped=result.skipped,
        settings=result.settings,
        combined=(*result.combined, name),
        exog_views=result.exog_views,
    )


def add_fixed_combination(
    result: BacktestResult, members: list[str] | tuple[str, ...], method: str = "mean", name: str | None = None
) -> BacktestResult:
    """A new result with an extra model ``name``: the column-wise ``method`` (mean or median) of the
    forecasts of ``members``, a combination declared before any score is seen (nothing is chosen
    from the data). It exists at a (series, cutoff) only where every member has a forecast there,
    so it is never a combination of whichever members happened to run. Members may be local or
    global models; intervals are combined the same way and re-nested."""
    members = list(dict.fromkeys(members))
    if method not in COMBINE_METHODS:
        raise ValueError(f"method must be one of {', '.join(COMBINE_METHODS)}, got {method!r}")
    if len(members) < 2:
        raise ValueError(f"a combination needs at least two distinct members, got {members}")
    name = name or f"{method}({','.join(members)})"
    if name in set(result.forecasts["model"]):
        raise ValueError(f"the result already has a model named {name!r}")
    unknown = sorted(set(members) - set(base_forecasts(result)["model"]))
    if unknown:
        raise ValueError(f"combination {name!r}: no forecasts for member(s) {unknown}")
    rows = base_forecasts(result)
    rows = rows[rows["model"].isin(members)]
    complete = rows.groupby(["unique_id", "cutoff"])["model"].transform("nunique") == len(members)
    return _with_combination(result, rows[complete], method, name)


def select_members(result: BacktestResult, unique_id: Hashable, k: int = 3, metric: str = "mase") -> list[str]:
    """The best ``k`` base models of one series ranked on the whole backtest, for the production
    ensemble fitted on all data (no later fold exists to be flattered there)."""
    series = base_forecasts(result)
    series = series[series["unique_id"] == unique_id]
    if series.empty:
        raise ValueError(f"no backtest forecasts for series {unique_id!r}")
    return rank_models(series, metric)["model"].tolist()[: int(k)]
