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
# The automatic choice's prior: the combination used where no error is known yet. Chosen on the
# 18 months before the M3 monthly test window (benchmarks/m3.py, benchmarks/README.md): a global
# network and three automatic local classes, each strong where the others are weak.
AUTOMATIC_PRIOR: tuple[str, ...] = ("pooled_mlp", "auto_ets", "auto_theta", "ces")


def base_forecasts(result: BacktestResult) -> pd.DataFrame:
    """Forecasts of the individual models (without earlier ensembles)."""
    return result.forecasts[~result.forecasts["model"].isin(result.combined)]


def honest_members(
    result: BacktestResult,
    k: int = 3,
    metric: str = "mase",
    also: tuple[str, ...] = (),
    fallback: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Members of the ensemble at every (series, cutoff), from what was known at that cutoff.

    Columns ``unique_id, cutoff, members`` (tuple of model names, best first) and ``fallback``.
    Candidates are the base models with a forecast at the cutoff, plus the earlier combinations
    named in ``also``, ranked by ``metric`` on their points with ``ds <= cutoff``, pooled over
    points (see :func:`~forecast.backtest.leaderboard.rank_models`); the best ``k`` are kept. At the first
    origins no error is known yet: then the candidates named in ``fallback`` are combined (default:
    all of them, the usual equal-weight prior when nothing is known) and ``fallback`` is True.
    """
    check_metric(metric)
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    missing = sorted(set(also) - set(result.combined))
    if missing:
        raise ValueError(f"also names {missing}, which are not combinations of this result")
    pool = result.forecasts[~result.forecasts["model"].isin(set(result.combined) - set(also))]
    rows = []
    for uid, series in pool.groupby("unique_id", sort=True):
        for cutoff in sorted(series["cutoff"].unique()):
            candidates = sorted(series.loc[series["cutoff"] == cutoff, "model"].unique())
            known = series[(series["ds"] <= cutoff) & series["model"].isin(candidates)].dropna(subset=["y"])
            is_fallback = known.empty
            if is_fallback:
                members = [m for m in candidates if fallback is None or m in fallback] or candidates
            else:
                # Known points pooled: the latest folds are known only at their first steps.
                members = rank_models(known, metric, mase_by_fold=False)["model"].tolist()[: int(k)]
            rows.append({"unique_id": uid, "cutoff": cutoff, "members": tuple(members), "fallback": is_fallback})
    return pd.DataFrame(rows, columns=["unique_id", "cutoff", "members", "fallback"])


def add_selected_ensemble(
    result: BacktestResult,
    k: int = 3,
    method: str = "median",
    metric: str = "mase",
    name: str = "ensemble",
    also: tuple[str, ...] = (),
    fallback: tuple[str, ...] | None = None,
) -> BacktestResult:
    """A new result with an extra model ``name``: at each cutoff, the column-wise ``method``
    (median or mean) of the forecasts of :func:`honest_members` (``also`` and ``fallback`` as
    there), intervals re-nested with :func:`~forecast.models.base.order_intervals`."""
    if method not in COMBINE_METHODS:
        raise ValueError(f"method must be one of {', '.join(COMBINE_METHODS)}, got {method!r}")
    if name in set(result.forecasts["model"]):
        raise ValueError(f"the result already has a model named {name!r}")
    chosen = honest_members(result, k, metric, also, fallback).explode("members").rename(columns={"members": "model"})
    rows = result.forecasts.merge(chosen[["unique_id", "cutoff", "model"]], on=["unique_id", "cutoff", "model"])
    return _with_combination(result, rows, method, name)


def add_automatic_choice(
    result: BacktestResult,
    prior: tuple[str, ...] = AUTOMATIC_PRIOR,
    metric: str = "mase",
    name: str = "auto",
) -> BacktestResult:
    """``result`` plus two rows: ``auto_mean``, the mean of the ``prior`` members (declared before
    any score is seen), and ``name``, at each (series, cutoff) the one candidate (a base model or
    ``auto_mean``) with the best ``metric`` on the errors known at that cutoff; at the first
    origins, where none is known, ``auto_mean``. Members of ``prior`` that did not run are left
    out; with fewer than two, the prior is the single member (or every model, with none)."""
    ran = set(base_forecasts(result)["model"])
    members = [m for m in prior if m in ran]
    also: tuple[str, ...]
    fallback: tuple[str, ...] | None
    if len(members) >= 2:
        result = add_fixed_combination(result, members, "mean", name=f"{name}_mean")
        also, fallback = (f"{name}_mean",), (f"{name}_mean",)
    else:
        also, fallback = (), tuple(members) or None
    return add_selected_ensemble(result, k=1, method="mean", metric=metric, name=name, also=also, fallback=fallback)


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
