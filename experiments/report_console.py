"""The leaderboard a refresh prints at the end."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table


def leaderboard_matrix(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Models × targets of ``metric`` with the mean rank across targets, best first."""
    wide = metrics.pivot(index="model", columns="unique_id", values=metric)
    ranks = wide.rank(axis=0, method="min")
    wide.insert(0, "mean_rank", ranks.mean(axis=1))
    return wide.sort_values(["mean_rank"]).round(3)


def print_outcome(console: Console, outcome) -> None:
    metric = outcome.leaderboard.attrs.get("metric", "mase")
    matrix = leaderboard_matrix(outcome.metrics, metric)
    table = Table(title=f"{outcome.study}: backtest {metric.upper()} by model and target (* = champion)")
    table.add_column("model")
    table.add_column("mean rank", justify="right")
    targets = list(matrix.columns[1:])
    for uid in targets:
        table.add_column(uid, justify="right")
    for model, row in matrix.iterrows():
        cells = []
        for uid in targets:
            value = row[uid]
            mark = "*" if outcome.champions.get(uid) == model else ""
            cells.append("—" if pd.isna(value) else f"{value:.3f}{mark}")
        table.add_row(model, f"{row['mean_rank']:.2f}", *cells)
    console.print(table)
    if len(outcome.skipped):
        console.print(f"skipped {len(outcome.skipped)} model/target pairs (reasons in skipped.csv of the run)")
    console.print(
        f"registered {outcome.model.name} version {outcome.model.version} as @champion "
        f"(run {outcome.parent_run_id}); projections: {outcome.projections_path} "
        f"({outcome.seconds:.1f} s)"
    )
