"""Annual backtests: every model on every series, in forecast mode with oracle scored beside it.

Models are grouped by driver set (each group is one engine run); origins sit on years with a
published figure, the main targets scored one year ahead, the supporting series further.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.data import COLUMN, AnnualData, exog_options
from experiments.studies.annual.projection import ANNUAL_FREQ
from forecast.backtest.engine import BacktestResult, BacktestSettings, cross_validate
from forecast.models.registry import make_model

PRIMARY_MODE = "forecast"
Progress = Callable[[str, int, int], None]


def backtest_annual(
    study: AnnualStudyConfig, data: AnnualData, n_jobs: int, progress: Progress | None = None
) -> BacktestResult:
    """Every model on every series, grouped by driver set; folds only at years with a figure."""
    bt = study.backtest
    groups: dict[tuple[str, ...], list] = {}
    for spec in study.models:
        groups.setdefault(tuple(COLUMN[d] for d in spec.drivers), []).append(spec)
    runs = [(study.targets, bt.horizon, bt.n_origins, False)]
    if study.supporting_targets:
        runs.append((study.supporting_targets, bt.supporting_horizon, bt.supporting_n_origins, True))
    forecasts, views, skipped = [], [], []
    done, total = 0, len(runs) * len(groups)
    for ids, horizon, n_origins, supporting in runs:
        for columns, all_specs in groups.items():
            specs = [s for s in all_specs if not (supporting and s.scope == "targets")]
            if not specs:
                continue
            rows = data.panel[data.panel["unique_id"].isin(ids)][["unique_id", "ds", "y", *columns]]
            settings = _settings(
                study,
                horizon=horizon,
                n_origins=n_origins,
                exog_options=exog_options(study, data, compare=bool(columns)),
                origins_per_task=None,
            )
            models = {s.name: make_model(s.model, 1, s.params) for s in specs}
            result = cross_validate(rows, models, settings, n_jobs=n_jobs, exog_columns=list(columns))
            forecasts.append(result.forecasts)
            skipped.append(result.skipped)
            if result.exog_views is not None:
                views.append(result.exog_views)
            done += 1
            if progress is not None:
                progress(study.name, done, total)
    return _on_observed_cutoffs(study, data, forecasts, skipped, views)


def _settings(study: AnnualStudyConfig, **overrides) -> BacktestSettings:
    """The annual study's backtest settings (its config, annual periods, forecast-mode drivers)."""
    fixed = {"season_length": 1, "freq": ANNUAL_FREQ, "exog_mode": PRIMARY_MODE}
    return BacktestSettings.from_options(study.backtest.model_dump(), **{**fixed, **overrides})


def _on_observed_cutoffs(study: AnnualStudyConfig, data: AnnualData, forecasts, skipped, views) -> BacktestResult:
    """The runs as one result, keeping only folds whose cutoff year has a figure: a fold cut at a
    missing year would measure the snapshot's gap (2017-2021 exist at MOF, we just do not hold
    them), not a forecaster's situation."""
    observed = data.panel.loc[data.panel["y"].notna(), ["unique_id", "ds"]].rename(columns={"ds": "cutoff"})
    observed = observed.astype({"cutoff": "datetime64[us]"})

    def on_observed(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({"cutoff": "datetime64[us]", "ds": "datetime64[us]"})
        keys = ["unique_id", "model", *(["exog_mode"] if "exog_mode" in frame else []), "cutoff", "h"]
        return frame.merge(observed, on=["unique_id", "cutoff"]).sort_values(keys, ignore_index=True)

    return BacktestResult(
        forecasts=on_observed(pd.concat(forecasts, ignore_index=True)),
        skipped=pd.concat(skipped, ignore_index=True),
        settings=_settings(study),
        exog_views=on_observed(pd.concat(views, ignore_index=True)) if views else None,
    )
