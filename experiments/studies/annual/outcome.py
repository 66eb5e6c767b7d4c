"""What an annual study's refresh did: the tables it produced and where it published them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class AnnualOutcome:
    study: str
    registered_model: str
    seconds: float
    unchanged_version: str | None = None
    leaderboard: pd.DataFrame | None = None
    exog_board: pd.DataFrame | None = None
    evidence: pd.DataFrame | None = None
    selection: pd.DataFrame | None = None
    projections: pd.DataFrame | None = None
    deltas: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    levers: pd.DataFrame | None = None  # each lever's low/high effect on the balance in projection_end
    check: pd.DataFrame | None = None
    note: str = ""
    skipped: pd.DataFrame | None = None
    version: str | None = None
    parent_run_id: str | None = None
    projections_path: Path | None = None
    charts: list[Path] = field(default_factory=list)
    metric: str = "mase"
    publication_lag_days: int = 0
    forecasts: pd.DataFrame | None = None  # forecast-mode backtest forecasts (the mixed study compares)

    @property
    def champions(self) -> dict[str, str]:
        return {} if self.selection is None else dict(zip(self.selection["unique_id"], self.selection["model"]))

    def print_report(self, console) -> None:
        from experiments.reports.annual_console import print_annual

        print_annual(console, self)
