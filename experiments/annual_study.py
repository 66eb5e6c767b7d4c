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
import time
from pathlib import Path

import pandas as pd

from experiments.annual_backtest import PRIMARY_MODE, Progress, backtest_annual
from experiments.annual_check import backtest_check
from experiments.annual_config import AnnualStudyConfig
from experiments.annual_data import AnnualData, prepare_annual
from experiments.annual_outcome import AnnualOutcome
from experiments.annual_projection import ANNUAL_FREQ
from experiments.annual_publish import publish_annual
from experiments.annual_reconcile import reconcile_projections, reconciliation_plan
from experiments.annual_refit import fit_final, project_all, scenario_deltas, sensitivity_projections
from experiments.annual_selection import evidence_table, select_models
from experiments.levers import lever_sensitivity
from experiments.lineage import lineage_tags, registered_unchanged
from experiments.scenarios import load_scenarios
from experiments.tornado import with_fx_rows
from features.errors import ConfigError
from features.series import SeriesCatalog
from features.snapshot import Snapshot
from forecast.backtest.exog_report import exog_mode_board
from forecast.backtest.leaderboard import leaderboard

__all__ = ["AnnualData", "AnnualOutcome", "fit_final", "prepare_annual", "prepare_annual_studies", "project_all",
           "run_annual_studies", "run_annual_study"]


def run_annual_study(
    study: AnnualStudyConfig,
    config,
    config_hash: str,
    snapshot: Snapshot,
    data: AnnualData,
    client,
    uri: str,
    progress: Progress | None = None,
    force_promote: bool = False,
    data_tags: dict[str, str] | None = None,
) -> AnnualOutcome:
    started = time.perf_counter()
    lineage = lineage_tags(snapshot, data_tags, data.fingerprint, config_hash)
    out = Path(config.output_dir)
    unchanged = registered_unchanged(client, study.registered_model, lineage, force_promote,
                                     {"tables/projections.csv": out / f"{study.name}.csv",
                                      "report.html": out / f"{study.name}-report.html"})
    if unchanged is not None:
        return AnnualOutcome(study.name, study.registered_model, time.perf_counter() - started,
                            unchanged_version=unchanged)

    bt = study.backtest
    # In this process: the tasks take milliseconds (worker round trips would cost more), and
    # _quiet_prophet can only silence Prophet's fallback notice here.
    result = backtest_annual(study, data, n_jobs=1, progress=progress)
    board = leaderboard(result, metric=bt.metric)
    exog_board = exog_mode_board(result, PRIMARY_MODE)
    evidence = evidence_table(study, data, result)
    selection = select_models(study, board, evidence)
    estimators = fit_final(study, data, selection)
    projections, stored, baseline = project_all(study, data, estimators)
    plan = reconciliation_plan(study, result, selection)
    projections = reconcile_projections(projections, plan)
    projections.insert(0, "role", "selected")
    projections.insert(3, "model", projections["unique_id"].map(dict(zip(selection["unique_id"], selection["model"]))))
    deltas = scenario_deltas(projections, study.projection_end)
    levers = annual_lever_table(study, data, baseline, deltas)
    sensitivity = sensitivity_projections(study, data)
    check, note = backtest_check(study, data, result, selection, snapshot)

    meta = {
        "study": study.name, "frequency": "annual", "freq": ANNUAL_FREQ, **lineage, "metric": bt.metric,
        "publication_lag_days": bt.publication_lag_days, "exog_mode": PRIMARY_MODE,
        "scenarios": sorted(data.scenarios), "projection_end": study.projection_end,
        "targets": {
            uid: {
                "model": row.model, "selection": row.basis, "reason": row.reason,
                "drivers": list(study.spec(row.model).drivers),
                "last_observed": f"{estimators[uid].cutoff_:%Y-%m-%d}",
                "first_forecast": f"{estimators[uid].cutoff_ + pd.DateOffset(years=1):%Y-%m-%d}",
            }
            for uid, row in selection.set_index("unique_id").iterrows()
        },
        "reconciliation": plan,
    }
    outcome = AnnualOutcome(
        study=study.name, registered_model=study.registered_model, seconds=0.0,
        leaderboard=board, exog_board=exog_board, evidence=evidence, selection=selection, projections=projections,
        deltas=deltas, sensitivity=sensitivity, levers=levers, check=check, note=note, skipped=result.skipped, metric=bt.metric,
        publication_lag_days=bt.publication_lag_days, forecasts=result.forecasts,
    )
    published = publish_annual(study, config, client, uri, lineage, data, outcome, estimators, stored, meta)
    return dataclasses.replace(
        outcome, seconds=time.perf_counter() - started, version=published.version, parent_run_id=published.run_id,
        projections_path=published.projections_path, charts=published.charts,
    )


def annual_lever_table(study: AnnualStudyConfig, data: AnnualData, baseline: dict, deltas: pd.DataFrame) -> pd.DataFrame:
    """Each lever's low and high effect on the balance in ``projection_end`` (plus the yen's)."""
    balance = study.reconcile.identities[0].lhs if study.reconcile is not None else study.targets[0]
    years = pd.date_range(min(s.index.min() for s in baseline.values()), f"{study.projection_end}-01-01",
                          freq=ANNUAL_FREQ)
    table = lever_sensitivity(data.levers, baseline, years, ANNUAL_FREQ, study.projection_end, balance)
    fx = {name: float(deltas.loc[balance, name]) for name in ("yen_weak", "yen_strong") if name in deltas.columns}
    return with_fx_rows(table, fx, 15)


# ---- hooks for experiments/refresh.py ----------------------------------------------------------

def prepare_annual_studies(config, snapshot: Snapshot, monthly_catalog: SeriesCatalog) -> dict[str, AnnualData]:
    """Validate and build the inputs of every annual study (before the refresh writes anything)."""
    others = [*config.annual_studies, *config.mixed_frequency_studies]
    names = [s.name for s in config.studies] + [a.name for a in others]
    models = [s.registered_model for s in config.studies] + [a.registered_model for a in others]
    for kind, values in (("study name", names), ("registered model", models)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ConfigError(f"{kind} '{repeated[0]}' is used by more than one study")
    load_scenarios(config.scenarios_dir)  # the monthly models serve these too: bad files fail here
    return {study.name: prepare_annual(snapshot, monthly_catalog, study) for study in config.annual_studies}


def run_annual_studies(config, config_hash: str, snapshot: Snapshot, prepared: dict[str, AnnualData], client,
                       uri: str, progress: Progress | None = None, force_promote: bool = False,
                       data_tags: dict[str, str] | None = None) -> list[AnnualOutcome]:
    return [
        run_annual_study(study, config, config_hash, snapshot, prepared[study.name], client, uri, progress,
                         force_promote, data_tags)
        for study in config.annual_studies
    ]
