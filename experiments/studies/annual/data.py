"""Annual study inputs, built and checked before the refresh writes anything.

Annual series from every official figure of the snapshot (features/annual.py), the drivers
(USD/JPY annual average, the AI-adoption index) as columns of the panel, the scenarios and a
fingerprint of every settings file the study reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.levers import check_levers
from experiments.scenarios import Scenario, load_scenarios, scenario_files, scenario_levers
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.projection import ANNUAL_FREQ
from features.ai_adoption import (
    ADOPTION_COLUMN,
    DEFAULT_ADOPTION_CONFIG,
    AdoptionConfig,
    AdoptionDriver,
    AdoptionFit,
    adoption_index,
    fit_adoption,
    load_adoption_config,
    survey_points,
)
from features.annual import DEFAULT_ANNUAL_CATALOG_PATH, AnnualCatalog, build_annual_panel, load_annual_catalog
from features.errors import ConfigError
from features.exog import FX_REGRESSOR, fx_at_freq, usdjpy_monthly
from features.series import SeriesCatalog
from features.snapshot import Snapshot
from forecast.backtest.exog_modes import DriverSpec, ExogOptions

COLUMN = {"usdjpy": FX_REGRESSOR, "ai_adoption": ADOPTION_COLUMN}


@dataclass
class AnnualData:
    panel: pd.DataFrame  # unique_id, ds, y, usdjpy_log, ai_adoption (realised / median-path values)
    provenance: pd.DataFrame  # unique_id, ds, source_id, vintage of every figure
    catalog: AnnualCatalog
    adoption_config: AdoptionConfig
    adoption_points: pd.DataFrame
    adoption: AdoptionFit
    known_fx: pd.Series  # monthly USD/JPY as published
    scenarios: dict[str, Scenario]
    fingerprint: str  # study settings + every file it reads besides the data
    levers: dict = field(default_factory=dict)  # the scenario levers (configs/scenarios/levers)


def prepare_annual(snapshot: Snapshot, monthly_catalog: SeriesCatalog, study: AnnualStudyConfig) -> AnnualData:
    catalog = load_annual_catalog(study.series_catalog, monthly_catalog)
    ids = [*study.targets, *study.supporting_targets]
    for uid in ids:
        catalog.spec(uid)  # unknown ids fail here
    panel, provenance = build_annual_panel(snapshot, catalog, ids)
    empty = [uid for uid in ids if panel.loc[panel["unique_id"] == uid, "y"].notna().sum() == 0]
    if empty:
        raise ConfigError(f"annual series '{empty[0]}' has no figure in the snapshot")

    fx_annual = fx_at_freq(usdjpy_monthly(snapshot), ANNUAL_FREQ)
    adoption_config = load_adoption_config(study.adoption_config)
    points = survey_points(snapshot, adoption_config.index_indicator, adoption_config)
    adoption = fit_adoption(points, adoption_config)
    years = pd.DatetimeIndex(sorted(panel["ds"].unique()))
    index = adoption_index(adoption, years, ANNUAL_FREQ, "median").values
    panel[FX_REGRESSOR] = np.log(panel["ds"].map(fx_annual).astype(float))
    panel[ADOPTION_COLUMN] = panel["ds"].map(index).astype(float)

    scenarios = load_scenarios(study.scenarios_dir, adoption_paths=tuple(adoption_config.quantiles))
    levers = scenario_levers(study.scenarios_dir)
    check_levers(levers, scenarios, ids, study.projection_end, f"annual study '{study.name}'")
    for scenario in scenarios.values():
        for overlay in scenario.overlays:
            stray = set(overlay.targets) - set(ids)
            if stray:
                raise ConfigError(
                    f"scenario '{scenario.name}': overlay '{overlay.name}' names '{sorted(stray)[0]}', "
                    f"which study '{study.name}' does not project"
                )
    files = [
        study.series_catalog or DEFAULT_ANNUAL_CATALOG_PATH,
        study.adoption_config or DEFAULT_ADOPTION_CONFIG,
        *scenario_files(study.scenarios_dir),
    ]
    payload = study.model_dump_json() + "".join(Path(f).read_text(encoding="utf-8") for f in files)
    return AnnualData(
        panel,
        provenance,
        catalog,
        adoption_config,
        points,
        adoption,
        usdjpy_monthly(snapshot),
        scenarios,
        hashlib.sha256(payload.encode()).hexdigest(),
        levers,
    )


def exog_options(study: AnnualStudyConfig, data: AnnualData, compare: bool) -> ExogOptions:
    """How each driver becomes known at an origin and how it is forecast there."""
    drivers = (
        DriverSpec(FX_REGRESSOR, known_lag_days=study.fx.known_lag_days, model=study.fx.model),
        # AI adoption as it could have been computed on the origin's date: only the surveys
        # published by then (none before 2025-07-08 here, so adoption models have no forecast-mode
        # origin with a published outcome; their oracle results are the only evidence).
        DriverSpec(ADOPTION_COLUMN, realtime=AdoptionDriver(data.adoption_points, data.adoption_config, ANNUAL_FREQ)),
    )
    modes = tuple(study.backtest.compare_exog_modes) if compare else ()
    return ExogOptions(drivers=drivers, compare_modes=modes)
