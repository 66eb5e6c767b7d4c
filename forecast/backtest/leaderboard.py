"""Rank the models of a backtest per series."""

from __future__ import annotations

from collections.abc import Hashable

import pandas as pd

from forecast.backtest.engine import METRIC_COLUMNS, BacktestResult

# Metrics where lower is better; coverage is not one (it should sit near its nominal level).
RANKING_METRICS: tuple[str, ...] = ("mase", "smape", "rmse", "mae", "pinball")


def check_metric(metric: str) -> None:
    if metric not in RANKING_METRICS:
        raise ValueError(f"cannot rank by {metric!r}; choose one of {', '.join(RANKING_METRICS)}")


def order_models(scores: pd.DataFrame, metric: str) -> list[str]:
    """Model names of one series, best first, from a frame with ``model``, ``metric``, ``n_origins``.

    Models scored on fewer origins than the best-covered model come after every fully covered one:
    their average runs over fewer (usually later, longer-history) folds, so it is not comparable and
    a model scored only on a few easy folds could otherwise win by luck. Within each group: the
    metric ascending (NaN last), then the name, so ties are broken deterministically.
    """
    check_metric(metric)
    ordered = scores.assign(_partial=scores["n_origins"] < scores["n_origins"].max()).sort_values(
        ["_partial", metric, "model"], na_position="last", kind="stable"
    )
    return ordered["model"].tolist()


def leaderboard(result: BacktestResult, metric: str = "mase") -> pd.DataFrame:
    """Per series, every model with its metrics and ``rank`` (1 = best, as in :func:`order_models`).

    Columns: ``unique_id, rank, model``, the metric columns of :meth:`BacktestResult.metrics`,
    and ``full_coverage`` (scored on as many origins as the best-covered model of the series).
    """
    check_metric(metric)
    tables = []
    for uid, scores in result.metrics().groupby("unique_id", sort=True):
        order = order_models(scores, metric)
        table = scores.set_index("model").loc[order].reset_index()
        table.insert(1, "rank", range(1, len(table) + 1))
        table["full_coverage"] = table["n_origins"] == table["n_origins"].max()
        tables.append(table)
    columns = ["unique_id", "rank", "model", *METRIC_COLUMNS, "full_coverage"]
    return pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame(columns=columns)


def best_models(result: BacktestResult, metric: str = "mase") -> dict[Hashable, str]:
    """The rank-1 model of each series: the best among the models scored on the most origins."""
    board = leaderboard(result, metric)
    return dict(zip(board.loc[board["rank"] == 1, "unique_id"], board.loc[board["rank"] == 1, "model"]))
