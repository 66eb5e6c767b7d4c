"""Rank the models of a backtest per series."""

from __future__ import annotations

from collections.abc import Hashable

import pandas as pd

from forecast.backtest.engine import BacktestResult, metric_columns, score_forecasts
from forecast.metrics import check_ranking_metric as check_metric


def rank_models(forecasts: pd.DataFrame, metric: str, mase_by_fold: bool = True) -> pd.DataFrame:
    """Score and order the models of ONE series on the folds they share; best first.

    Models can cover different origins (a model needing 28 observations starts later than seasonal
    naive on a 39-month series), and averages over different folds are not comparable: early
    folds with short histories are harder. So the *comparable* models (those covering more than
    half as many origins as the best-covered one) are scored only on the cutoffs that all of them
    share; the others are scored on their own folds and ranked after every comparable model,
    so that a model seen on a few easy folds cannot win by luck. Within each group: the metric
    ascending (NaN last), then the name, so ties break deterministically.
    Returns the metric columns of :func:`score_forecasts` (``mase_by_fold`` as there) plus ``model``
    and ``comparable``.
    """
    check_metric(metric)
    cutoffs = forecasts.groupby("model")["cutoff"].agg(lambda c: frozenset(c))
    most = max(len(c) for c in cutoffs)
    comparable = sorted(m for m, c in cutoffs.items() if len(c) > most / 2)
    common = frozenset.intersection(*(cutoffs[m] for m in comparable))
    on_common = forecasts[forecasts["model"].isin(comparable) & forecasts["cutoff"].isin(common)]
    others = forecasts[~forecasts["model"].isin(comparable)]
    scores = pd.concat(
        [
            score_forecasts(on_common, by=("model",), mase_by_fold=mase_by_fold).assign(comparable=True),
            score_forecasts(others, by=("model",), mase_by_fold=mase_by_fold).assign(comparable=False),
        ],
        ignore_index=True,
    )
    return scores.sort_values(
        ["comparable", metric, "model"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
        ignore_index=True,
    )


def leaderboard(result: BacktestResult, metric: str = "mase") -> pd.DataFrame:
    """Per series, every model with its metrics and ``rank`` (1 = best, as in :func:`rank_models`).

    Columns: ``unique_id, rank, model``, the metric columns of :meth:`BacktestResult.metrics`
    (computed on the folds the comparable models share) and ``comparable``.
    """
    check_metric(metric)
    tables = []
    for uid, series in result.forecasts.groupby("unique_id", sort=True):
        table = rank_models(series, metric)
        table.insert(0, "unique_id", uid)
        table.insert(1, "rank", range(1, len(table) + 1))
        tables.append(table)
    columns = ["unique_id", "rank", "model", *metric_columns(), "comparable"]
    return pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame(columns=columns)


def best_models(result: BacktestResult, metric: str = "mase") -> dict[Hashable, str]:
    """The rank-1 model of each series: the best comparable model on their shared folds."""
    board = leaderboard(result, metric)
    return dict(zip(board.loc[board["rank"] == 1, "unique_id"], board.loc[board["rank"] == 1, "model"]))
