"""The leaderboard a refresh prints at the end: models overall, then each target's champion."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

BASELINE = "seasonal_naive"


def model_summary(board: pd.DataFrame, champions: dict[str, str], metric: str) -> pd.DataFrame:
    """Per model, from the leaderboard: mean rank across targets, mean metric, coverage, wins."""
    wide = board.pivot(index="model", columns="unique_id", values=metric)
    summary = pd.DataFrame(
        {
            "mean_rank": board.pivot(index="model", columns="unique_id", values="rank").mean(axis=1),
            f"mean_{metric}": wide.mean(axis=1),
            "coverage_80": board.groupby("model")["coverage_80"].mean(),
            "coverage_95": board.groupby("model")["coverage_95"].mean(),
            "wins": pd.Series(champions).value_counts().reindex(wide.index, fill_value=0),
            "targets": wide.notna().sum(axis=1),
        }
    )
    return summary.sort_values(["mean_rank", f"mean_{metric}"])


def target_summary(board: pd.DataFrame, champions: dict[str, str], metric: str) -> pd.DataFrame:
    """Per target: the champion, its score, the seasonal-naive score and the ratio of the two."""
    score = board.set_index(["unique_id", "model"])[metric]
    rows = []
    for uid, model in sorted(champions.items()):
        best = score.get((uid, model))
        base = score.get((uid, BASELINE))
        rows.append(
            {
                "unique_id": uid,
                "champion": model,
                metric: best,
                f"{BASELINE}_{metric}": base,
                "ratio": best / base if best is not None and base else None,
            }
        )
    return pd.DataFrame(rows)


def _fmt(value, digits: int = 3) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def print_outcome(console: Console, outcome) -> None:
    if outcome.unchanged_version is not None:
        console.print(
            f"{outcome.study}: data and study settings unchanged since {outcome.registered_model} version "
            f"{outcome.unchanged_version}; nothing to do (use --force-promote to rebuild anyway)",
            soft_wrap=True,
        )
        return
    if hasattr(outcome, "print_report"):  # studies other than the monthly one print their own report
        outcome.print_report(console)
        return
    metric = outcome.metric
    models = model_summary(outcome.leaderboard, outcome.champions, metric)
    table = Table(title=f"{outcome.study}: leaderboard (backtest {metric.upper()}, lower is better)")
    for col in ("model", "mean rank", f"mean {metric}", "cov 80%", "cov 95%", "wins", "targets"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, row in models.iterrows():
        table.add_row(
            model,
            _fmt(row["mean_rank"], 2),
            _fmt(row[f"mean_{metric}"]),
            _fmt(row["coverage_80"], 2),
            _fmt(row["coverage_95"], 2),
            str(int(row["wins"])),
            str(int(row["targets"])),
        )
    console.print(table)

    targets = target_summary(outcome.leaderboard, outcome.champions, metric)
    table = Table(title=f"{outcome.study}: champion per target")
    for col in ("target", "champion", metric, f"{BASELINE}", "ratio"):
        table.add_column(col, justify="left" if col in ("target", "champion") else "right")
    for row in targets.itertuples(index=False):
        table.add_row(
            row.unique_id,
            row.champion,
            _fmt(getattr(row, metric)),
            _fmt(getattr(row, f"{BASELINE}_{metric}")),
            _fmt(row.ratio, 2),
        )
    console.print(table)
    exog_board = getattr(outcome, "exog_board", None)
    if exog_board is not None and len(exog_board):
        from experiments.reports.exog import print_exog_board

        print_exog_board(console, outcome.study, exog_board, metric, getattr(outcome, "publication_lag_days", 0))
    if len(outcome.skipped):
        console.print(
            f"{len(outcome.skipped)} model/target pairs skipped or partly skipped (reasons: skipped.csv in the run)"
        )
    decision = outcome.decision
    console.print(
        f"registered {outcome.registered_model} version {outcome.version} as @{decision.alias}: {decision.reason}",
        soft_wrap=True,
    )
    console.print(
        f"run {outcome.parent_run_id}; projections: {outcome.projections_path}; report: {outcome.report_path} "
        f"({outcome.seconds:.1f} s)",
        soft_wrap=True,
    )
