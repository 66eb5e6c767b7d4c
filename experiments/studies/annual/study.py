"""Annual projection study: drivers, leakage-safe backtests in forecast and oracle mode, scenarios.

Steps (``run_annual_study``; everything that can fail on bad input runs in ``prepare_annual``
first, before any write), each in its own module:

1. Annual series from every official figure of the snapshot (features/annual.py): the 3-item
   digital balance and its flows (2014-2016 summed from the monthly data, 2022-2025 published
   totals, 2017-2021 missing) and the supporting series (WDI IP charges in yen 1996-2024, the
   long monthly proxy summed by year 1996-2016). (annual_data.py)
2. Drivers: USD/JPY annual average (known one day after the year ends) and the AI-adoption index
   (Bass curve, known when the surveys were published: 2025-07-08 in this snapshot). (annual_data.py)
3. Backtest every model in ``forecast`` mode (drivers as known at each origin, forecast by their
   own model) with ``oracle`` (realised drivers, an upper bound) scored beside it. Origins sit on
   years with a published figure; the main targets are scored one year ahead. (annual_backtest.py)
4. Per target, the projection model: the best candidate when the target has enough scored
   origins, else the configured fallback (an a-priori structural model), with the reason.
   (annual_selection.py)
5. Refit on all data and project every target under every scenario to ``projection_end``
   (annual_refit.py); the backtest check of ``check_year`` (annual_check.py); log, register the
   pyfunc model, write the projections and fan charts (annual_publish.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.levers import lever_sensitivity
from experiments.reports.tornado import with_fx_rows
from experiments.studies.annual.backtest import PRIMARY_MODE, Progress, backtest_annual
from experiments.studies.annual.check import backtest_check
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.data import AnnualData, prepare_annual
from experiments.studies.annual.outcome import AnnualOutcome
from experiments.studies.annual.projection import ANNUAL_FREQ
from experiments.studies.annual.publish import publish_annual
from experiments.studies.annual.reconcile import reconcile_projections, reconciliation_plan
from experiments.studies.annual.refit import fit_final, project_all, scenario_deltas, sensitivity_projections
from experiments.studies.annual.selection import evidence_table, select_models
from experiments.studies.kinds import StudyCall, StudyKind
from experiments.studies.steps import StudyRun, run_study
from forecast.backtest.engine import BacktestResult
from forecast.backtest.exog_report import exog_mode_board
from forecast.backtest.leaderboard import leaderboard

__all__ = [
    "AnnualData",
    "AnnualOutcome",
    "fit_final",
    "prepare_annual",
    "project_all",
    "run_annual_study",
]


@dataclass
class AnnualRun(StudyRun[AnnualStudyConfig]):
    """The annual study's context: its inputs, then what each step adds (set in step order)."""

    data: AnnualData = field(kw_only=True)
    progress: Progress | None = field(default=None, kw_only=True)
    result: BacktestResult = field(init=False)
    board: pd.DataFrame = field(init=False)
    evidence: pd.DataFrame = field(init=False)
    selection: pd.DataFrame = field(init=False)
    estimators: dict = field(init=False)
    projections: pd.DataFrame = field(init=False)
    stored: Any = field(init=False)
    baseline: dict = field(init=False)
    plan: dict | None = field(init=False)
    outcome: AnnualOutcome = field(init=False)


def _backtest(run: AnnualRun) -> None:
    # In this process: the tasks take milliseconds (worker round trips would cost more).
    run.result = backtest_annual(run.study, run.data, n_jobs=1, progress=run.progress)


def _select(run: AnnualRun) -> None:
    run.board = leaderboard(run.result, metric=run.study.backtest.metric)
    run.evidence = evidence_table(run.study, run.data, run.result)
    run.selection = select_models(run.study, run.board, run.evidence)


def _fit(run: AnnualRun) -> None:
    run.estimators = fit_final(run.study, run.data, run.selection)


def _project(run: AnnualRun) -> None:
    run.projections, run.stored, run.baseline = project_all(run.study, run.data, run.estimators)


def _reconcile(run: AnnualRun) -> None:
    run.plan = reconciliation_plan(run.study, run.result, run.selection)
    # A copy: without a plan the reconciler hands back its input, which the inserts would change.
    projections = reconcile_projections(run.projections, run.plan).copy()
    projections.insert(0, "role", "selected")
    chosen = dict(zip(run.selection["unique_id"], run.selection["model"]))
    projections.insert(3, "model", projections["unique_id"].map(chosen))
    run.projections = projections


def _assess(run: AnnualRun) -> None:
    """Scenario effects, lever sensitivities, the driver-sensitivity models and the backtest check."""
    study, data, bt = run.study, run.data, run.study.backtest
    exog_board = exog_mode_board(run.result, PRIMARY_MODE)
    deltas = scenario_deltas(run.projections, study.projection_end)
    levers = annual_lever_table(study, data, run.baseline, deltas)
    sensitivity = sensitivity_projections(study, data)
    check, note = backtest_check(study, data, run.result, run.selection, run.snapshot)
    run.outcome = AnnualOutcome(
        study=study.name,
        registered_model=study.registered_model,
        seconds=0.0,
        leaderboard=run.board,
        exog_board=exog_board,
        evidence=run.evidence,
        selection=run.selection,
        projections=run.projections,
        deltas=deltas,
        sensitivity=sensitivity,
        levers=levers,
        check=check,
        note=note,
        skipped=run.result.skipped,
        metric=bt.metric,
        publication_lag_days=bt.publication_lag_days,
        forecasts=run.result.forecasts,
    )


def _publish(run: AnnualRun) -> None:
    published = publish_annual(
        run.study,
        run.config,
        run.client,
        run.uri,
        run.lineage,
        run.data,
        run.outcome,
        run.estimators,
        run.stored,
        _served_metadata(run),
    )
    run.outcome = dataclasses.replace(
        run.outcome,
        seconds=run.elapsed(),
        version=published.version,
        parent_run_id=published.run_id,
        projections_path=published.projections_path,
        charts=published.charts,
    )


def _served_metadata(run: AnnualRun) -> dict:
    study, bt, estimators = run.study, run.study.backtest, run.estimators
    return {
        "study": study.name,
        "frequency": "annual",
        "freq": ANNUAL_FREQ,
        **run.lineage,
        "metric": bt.metric,
        "publication_lag_days": bt.publication_lag_days,
        "exog_mode": PRIMARY_MODE,
        "scenarios": sorted(run.data.scenarios),
        "projection_end": study.projection_end,
        "targets": {
            uid: {
                "model": row.model,
                "selection": row.basis,
                "reason": row.reason,
                "drivers": list(study.spec(row.model).drivers),
                "last_observed": f"{estimators[uid].cutoff_:%Y-%m-%d}",
                "first_forecast": f"{estimators[uid].cutoff_ + pd.DateOffset(years=1):%Y-%m-%d}",
            }
            for uid, row in run.selection.set_index("unique_id").iterrows()
        },
        "reconciliation": run.plan,
    }


STEPS = (_backtest, _select, _fit, _project, _reconcile, _assess, _publish)


def run_annual_study(run: AnnualRun) -> AnnualOutcome:
    """Refresh one annual study: nothing when this lineage is already registered, else its steps."""
    out, name = Path(run.config.output_dir), run.study.name
    outputs = {"tables/projections.csv": out / f"{name}.csv", "report.html": out / f"{name}-report.html"}
    return run_study(run, STEPS, outputs, AnnualOutcome)


def annual_lever_table(
    study: AnnualStudyConfig, data: AnnualData, baseline: dict, deltas: pd.DataFrame
) -> pd.DataFrame:
    """Each lever's low and high effect on the balance in ``projection_end`` (plus the yen's)."""
    balance = study.reconcile.identities[0].lhs if study.reconcile is not None else study.targets[0]
    years = pd.date_range(
        min(s.index.min() for s in baseline.values()), f"{study.projection_end}-01-01", freq=ANNUAL_FREQ
    )
    table = lever_sensitivity(data.levers, baseline, years, ANNUAL_FREQ, study.projection_end, balance)
    fx = {name: float(deltas.loc[balance, name]) for name in ("yen_weak", "yen_strong") if name in deltas.columns}
    return with_fx_rows(table, fx, 15)


# ---- the refresh's entry (experiments/studies/kinds.py) -------------------------------------------------


def _run_from_refresh(call: StudyCall) -> AnnualOutcome:
    # The annual backtests stay in this process whatever the refresh's executor (few, small fits).
    run = AnnualRun(*call.context_args(call.data.fingerprint), data=call.data, progress=call.progress)
    return run_annual_study(run)


KIND = StudyKind(
    key="annual_studies",
    config=AnnualStudyConfig,
    prepare=lambda study, config, snapshot, catalog: prepare_annual(snapshot, catalog, study),
    run=_run_from_refresh,
)
