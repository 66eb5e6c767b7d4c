"""Annual models refitted on all data and projected under every scenario."""

from __future__ import annotations

import pandas as pd
from threadpoolctl import threadpool_limits

from experiments.scenarios import BASELINE, resolve_levers
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.data import COLUMN, AnnualData
from experiments.studies.annual.projection import ANNUAL_FREQ, paths_to_json, project_annual, resolve_paths
from forecast.models.base import BaseForecaster
from forecast.models.registry import make_model


def fit_final(study: AnnualStudyConfig, data: AnnualData, selection: pd.DataFrame) -> dict:
    estimators = {}
    with threadpool_limits(1):
        for row in selection.itertuples(index=False):
            spec = study.spec(row.model)
            columns = [COLUMN[d] for d in spec.drivers]
            rows = data.panel[data.panel["unique_id"] == row.unique_id].set_index("ds").asfreq(ANNUAL_FREQ)
            observed = rows.index[rows["y"].notna()]
            rows = rows.loc[observed[0] : observed[-1]]
            model = make_model(spec.model, 1, spec.params)
            assert isinstance(model, BaseForecaster)  # the annual config rejects global models
            estimators[row.unique_id] = model.fit(rows["y"], rows[columns] if columns else None)
    return estimators


def project_all(study: AnnualStudyConfig, data: AnnualData, estimators: dict) -> tuple[pd.DataFrame, dict, dict]:
    """Projections of every target under every scenario, the stored scenario paths and each
    target's baseline projection (before reconciliation). Levers
    (experiments/levers.py) are resolved on the baseline projections first, so a share lever acts
    on the baseline, and the resolved amounts are stored with the scenario (served as published)."""
    first = min(est.cutoff_ for est in estimators.values()) + pd.DateOffset(years=1)
    years = pd.date_range(first, f"{study.projection_end}-01-01", freq=ANNUAL_FREQ)
    request = pd.concat(
        [
            pd.DataFrame({"unique_id": uid, "ds": pd.date_range(est.cutoff_, years[-1], freq=ANNUAL_FREQ)[1:]})
            for uid, est in estimators.items()
        ],
        ignore_index=True,
    )
    baseline = baseline_projection(data, estimators, request, years)
    stored, frames = {}, []
    for name, scenario in data.scenarios.items():
        scenario = resolve_levers(scenario, data.levers, years, ANNUAL_FREQ, baseline)
        paths = resolve_paths(scenario, years, data.known_fx, data.adoption)
        stored[name] = {"scenario": scenario.summary(), "paths": paths_to_json(paths)}
        frames.append(project_annual(estimators, request, paths, scenario))
    return pd.concat(frames, ignore_index=True), stored, baseline


def baseline_projection(
    data: AnnualData, estimators: dict, request: pd.DataFrame, years: pd.DatetimeIndex
) -> dict[str, pd.Series]:
    """Each target's projection under the baseline scenario (what share levers act on)."""
    scenario = data.scenarios[BASELINE]
    frame = project_annual(estimators, request, resolve_paths(scenario, years, data.known_fx, data.adoption), scenario)
    return {uid: rows.set_index("ds")["yhat"] for uid, rows in frame.groupby("unique_id")}


def sensitivity_projections(study: AnnualStudyConfig, data: AnnualData) -> pd.DataFrame:
    """The main targets projected by each ``selection.sensitivity`` model under every scenario."""
    frames = []
    for name in study.selection.sensitivity:
        chosen = pd.DataFrame({"unique_id": study.targets, "model": name})
        projections, _, _ = project_all(study, data, fit_final(study, data, chosen))
        frames.append(projections.assign(role="sensitivity", model=name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def scenario_deltas(projections: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each scenario's mean in ``year`` against the baseline, per target (億円)."""
    at = projections[projections["ds"].dt.year == year]
    wide = at.pivot(index="unique_id", columns="scenario", values="yhat")
    return wide.sub(wide[BASELINE], axis=0).drop(columns=BASELINE)
