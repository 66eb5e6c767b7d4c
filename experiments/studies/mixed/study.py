"""A mixed-frequency study's refresh: evidence -> selection -> paths -> publish.

Everything that can fail on bad input runs in :func:`experiments.studies.mixed.data.prepare_mixed`
before the refresh writes anything. A study whose data and settings were already registered is
not recomputed (same idempotence rule as the other studies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.levers import lever_sensitivity
from experiments.studies.annual.outcome import AnnualOutcome
from experiments.studies.kinds import StudyCall, StudyKind
from experiments.studies.mixed.config import MixedStudyConfig
from experiments.studies.mixed.data import MixedData, prepare_mixed
from experiments.studies.mixed.evidence import (
    calibration,
    disaggregation_table,
    hidden_factors,
    origin_scores,
    run_evidence,
    select_estimators,
    select_variants,
    with_errors,
)
from experiments.studies.mixed.paths import fit_paths, forecast_baseline, scenario_paths
from experiments.studies.steps import StudyRun, run_study
from forecast.backtest.executors import Executor
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
        from experiments.studies.mixed.console import print_mixed

        print_mixed(console, self)


def annual_comparators(
    annual_forecasts: pd.DataFrame | None, champions: dict[str, str], study: MixedStudyConfig
) -> pd.DataFrame:
    """The annual study's one-year-ahead backtest forecasts at the same origins, as origin rows."""
    if annual_forecasts is None or annual_forecasts.empty:
        return pd.DataFrame()
    rows = []
    for uid in study.targets:
        model = champions.get(uid)
        part = annual_forecasts[(annual_forecasts["unique_id"] == uid) & (annual_forecasts["model"] == model)]
        for year in study.evidence.origins:
            hit = part[
                (part["cutoff"] == pd.Timestamp(f"{year}-01-01")) & (part["ds"] == pd.Timestamp(f"{year + 1}-01-01"))
            ]
            if hit.empty or pd.isna(hit["y"].iloc[0]):
                continue
            r = hit.iloc[0]
            rows.append(
                {
                    "label": str(year + 1),
                    "kind": "A",
                    "start": pd.Timestamp(f"{year + 1}-01-01"),
                    "months": 12,
                    "y": float(r["y"]),
                    "mean": float(r["mean"]),
                    "sd": float(r["hi_80"] - r["lo_80"]) / (2 * Z80),
                    "unique_id": uid,
                    "method": f"annual_study:{model}",
                    "origin": year,
                }
            )
    return pd.DataFrame(rows)


@dataclass
class MixedRun(StudyRun[MixedStudyConfig]):
    """The mixed-frequency study's context: its inputs, then what each step adds (in step order).
    ``annual``: the annual study's one-year-ahead backtest forecasts and champions, scored beside."""

    data: MixedData = field(kw_only=True)
    executor: Executor = field(kw_only=True)
    annual: tuple[pd.DataFrame | None, dict[str, str]] = field(default=(None, {}), kw_only=True)
    hidden: Any = field(init=False)
    origins: pd.DataFrame = field(init=False)
    outcome: MixedOutcome = field(init=False)


def _evidence(run: MixedRun) -> None:
    """Leakage-free evidence: the hidden-months disaggregation and the forecast origins."""
    run.hidden, origins = run_evidence(run.data, run.study, run.executor)
    comparators = annual_comparators(run.annual[0], run.annual[1], run.study)
    if len(comparators):
        origins = pd.concat([origins, with_errors(run.data, comparators)], ignore_index=True)
    run.origins = origins


def _select(run: MixedRun) -> None:
    """Forecast variants chosen on the origins, estimators on the hidden months, and the
    intervals' calibration factors."""
    study, data = run.study, run.data
    disaggregation = disaggregation_table(data, study, run.hidden)
    scores = origin_scores(run.origins)
    selected = select_variants(study, scores)
    coverage, factor = calibration(run.origins, selected)
    if not study.evidence.calibrate:
        factor = 1.0
    estimators = select_estimators(study, disaggregation)
    estimate_factors = hidden_factors(data, study, run.hidden, estimators) if study.evidence.calibrate else {}
    run.outcome = MixedOutcome(
        study=study.name,
        registered_model=study.registered_model,
        seconds=0.0,
        selected=selected,
        estimators=estimators,
        estimate_factors=estimate_factors,
        disaggregation=disaggregation,
        origins=run.origins,
        scores=scores,
        coverage=coverage,
        factor=factor,
    )


def _paths(run: MixedRun) -> None:
    """Published months, estimates and forecasts under every scenario, and the levers' effects."""
    study, data, outcome = run.study, run.data, run.outcome
    fitted = fit_paths(data, study, outcome.selected, outcome.estimators, outcome.factor, outcome.estimate_factors)
    outcome.paths = scenario_paths(fitted.baseline, data.scenarios, data.levers)
    index, base = forecast_baseline(fitted.baseline)
    balance = study.identity.lhs if study.identity is not None else study.targets[0]
    outcome.levers = lever_sensitivity(data.levers, base, index, "MS", study.end.year, balance)
    outcome.totals_check, outcome.last_figure = fitted.totals_check, fitted.last_figure


def _publish(run: MixedRun) -> None:
    from experiments.studies.mixed.publish import publish_mixed

    outcome = run.outcome
    published = publish_mixed(run.study, run.config, run.client, run.uri, run.lineage, run.data, outcome, run.credit)
    outcome.version, outcome.parent_run_id = published.version, published.run_id
    outcome.projections_path, outcome.report_path = published.projections_path, published.report_path


STEPS = (_evidence, _select, _paths, _publish)


def run_mixed_study(run: MixedRun) -> MixedOutcome:
    """Refresh one mixed-frequency study: nothing when this lineage is already registered, else its steps."""
    out, name = Path(run.config.output_dir), run.study.name
    outputs = {"tables/paths.csv": out / f"{name}.csv", "report.html": out / f"{name}-report.html"}
    return run_study(run, STEPS, outputs, MixedOutcome)


def _run_from_refresh(call: StudyCall) -> MixedOutcome:
    # The first annual study with backtest forecasts is scored beside this study's own origins.
    annual = next((o for o in call.earlier if isinstance(o, AnnualOutcome) and o.forecasts is not None), None)
    comparison = (annual.forecasts, annual.champions) if annual is not None else (None, {})
    run = MixedRun(
        *call.context_args(call.data.fingerprint, call.credit),
        data=call.data,
        executor=call.executor,
        annual=comparison,
    )
    return run_mixed_study(run)


KIND = StudyKind(
    key="mixed_frequency_studies",
    config=MixedStudyConfig,
    prepare=lambda study, config, snapshot, catalog: prepare_mixed(snapshot, catalog, study),
    run=_run_from_refresh,
)
