"""A mixed-frequency study's refresh: evidence -> selection -> paths -> publish.

Everything that can fail on bad input runs in :func:`experiments.mixed.data.prepare_mixed`
before the refresh writes anything. A study whose data and settings were already registered is
not recomputed (same idempotence rule as the other studies).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from experiments.lineage import lineage_tags, registered_unchanged
from experiments.mixed.config import MixedStudyConfig
from experiments.mixed.data import MixedData
from experiments.mixed.evidence import (
    calibration, disaggregation_table, hidden_factors, origin_scores, run_evidence, select_estimators, select_variants,
    with_errors,
)
from experiments.levers import lever_sensitivity
from experiments.mixed.paths import fit_paths, forecast_baseline, scenario_paths
from forecast.backtest.executors import Executor, JoblibExecutor
from forecast.temporal.base import Z80


@dataclass
class MixedOutcome:
    study: str
    registered_model: str
    seconds: float
    unchanged_version: str | None = None
    selected: dict[str, str] = field(default_factory=dict)  # forecast months: best on the origins
    estimators: dict[str, str] = field(default_factory=dict)  # estimate months: best on the hidden months
    estimate_factors: dict[str, float] = field(default_factory=dict)
    disaggregation: pd.DataFrame | None = None
    origins: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    coverage: pd.DataFrame | None = None
    factor: float = 1.0
    paths: pd.DataFrame | None = None
    totals_check: pd.DataFrame | None = None
    last_figure: pd.Timestamp | None = None
    levers: pd.DataFrame | None = None  # each lever's low/high effect on the balance in the last year
    version: str | None = None
    parent_run_id: str | None = None
    projections_path: Path | None = None
    report_path: Path | None = None

    @property
    def champions(self) -> dict[str, str]:
        return dict(self.selected)

    def print_report(self, console) -> None:
        from experiments.mixed.console import print_mixed

        print_mixed(console, self)


def annual_comparators(annual_forecasts: pd.DataFrame | None, champions: dict[str, str],
                       study: MixedStudyConfig) -> pd.DataFrame:
    """The annual study's one-year-ahead backtest forecasts at the same origins, as origin rows."""
    if annual_forecasts is None or annual_forecasts.empty:
        return pd.DataFrame()
    rows = []
    for uid in study.targets:
        model = champions.get(uid)
        part = annual_forecasts[(annual_forecasts["unique_id"] == uid) & (annual_forecasts["model"] == model)]
        for year in study.evidence.origins:
            hit = part[(part["cutoff"] == pd.Timestamp(f"{year}-01-01")) & (part["ds"] == pd.Timestamp(f"{year + 1}-01-01"))]
            if hit.empty or pd.isna(hit["y"].iloc[0]):
                continue
            r = hit.iloc[0]
            rows.append({"label": str(year + 1), "kind": "A", "start": pd.Timestamp(f"{year + 1}-01-01"), "months": 12,
                         "y": float(r["y"]), "mean": float(r["mean"]),
                         "sd": float(r["hi_80"] - r["lo_80"]) / (2 * Z80),
                         "unique_id": uid, "method": f"annual_study:{model}", "origin": year})
    return pd.DataFrame(rows)


def run_mixed_study(study: MixedStudyConfig, config, config_hash: str, snapshot, data: MixedData, client, uri: str,
                    force_promote: bool = False, data_tags: dict[str, str] | None = None,
                    annual: tuple[pd.DataFrame | None, dict[str, str]] = (None, {}),
                    credit: str | None = None, executor: Executor | None = None) -> MixedOutcome:
    from experiments.mixed.publish import publish_mixed

    started = time.perf_counter()
    lineage = lineage_tags(snapshot, data_tags, data.fingerprint, config_hash)
    out = Path(config.output_dir)
    unchanged = registered_unchanged(client, study.registered_model, lineage, force_promote,
                                     {"tables/paths.csv": out / f"{study.name}.csv",
                                      "report.html": out / f"{study.name}-report.html"})
    if unchanged is not None:
        return MixedOutcome(study.name, study.registered_model, time.perf_counter() - started,
                           unchanged_version=unchanged)
    hidden, origins = run_evidence(data, study, executor or JoblibExecutor(config.n_jobs))
    comparators = annual_comparators(annual[0], annual[1], study)
    if len(comparators):
        origins = pd.concat([origins, with_errors(data, comparators)], ignore_index=True)
    disaggregation = disaggregation_table(data, study, hidden)
    scores = origin_scores(origins)
    selected = select_variants(study, scores)
    coverage, factor = calibration(origins, selected)
    if not study.evidence.calibrate:
        factor = 1.0
    estimators = select_estimators(study, disaggregation)
    estimate_factors = hidden_factors(data, study, hidden, estimators) if study.evidence.calibrate else {}
    fitted = fit_paths(data, study, selected, estimators, factor, estimate_factors)
    paths = scenario_paths(fitted.baseline, data.scenarios, data.levers)
    index, base = forecast_baseline(fitted.baseline)
    balance = study.identity.lhs if study.identity is not None else study.targets[0]
    levers = lever_sensitivity(data.levers, base, index, "MS", study.end.year, balance)
    outcome = MixedOutcome(
        study=study.name, registered_model=study.registered_model, seconds=0.0, selected=selected,
        estimators=estimators, estimate_factors=estimate_factors,
        disaggregation=disaggregation, origins=origins, scores=scores, coverage=coverage, factor=factor,
        paths=paths, totals_check=fitted.totals_check, last_figure=fitted.last_figure, levers=levers,
    )
    published = publish_mixed(study, config, client, uri, lineage, data, outcome, credit)
    outcome.version, outcome.parent_run_id = published.version, published.run_id
    outcome.projections_path, outcome.report_path = published.projections_path, published.report_path
    outcome.seconds = time.perf_counter() - started
    return outcome

