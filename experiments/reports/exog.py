"""Console tables of the exogenous-mode comparison (forecast vs oracle) and of the annual study."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from forecast.backtest.exog_report import exog_mode_summary


def _fmt(value, digits: int = 3) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def print_exog_board(console: Console, study: str, board: pd.DataFrame, metric: str, lag_days: int) -> None:
    """Per exogenous model: mean metric with drivers as forecast at the origin vs realised (oracle)."""
    if board is None or board.empty:
        return
    summary = exog_mode_summary(board, metric)
    modes = [c for c in summary.columns if c.startswith(f"{metric}_")]
    table = Table(
        title=f"{study}: exogenous drivers, {metric.upper()} with drivers forecast at the origin vs "
        f"realised (oracle = upper bound, never selected); publication lag {lag_days} days"
    )
    table.add_column("model")
    for col in modes:
        table.add_column(
            col.replace(f"{metric}_", "") + (" (upper bound)" if col.endswith("oracle") else ""), justify="right"
        )
    table.add_column("oracle / forecast", justify="right")
    table.add_column("targets", justify="right")
    for row in summary.itertuples(index=False):
        values = row._asdict()
        table.add_row(
            values["model"],
            *[_fmt(values[c]) for c in modes],
            _fmt(values.get("oracle_ratio"), 2),
            str(int(values["targets"])),
        )
    console.print(table)
