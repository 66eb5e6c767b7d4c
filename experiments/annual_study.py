"""Annual projection study: drivers, leakage-safe backtests in forecast and oracle mode, scenarios.

Steps (``run_annual_study``; everything that can fail on bad input runs in ``prepare_annual``
first, before any write):

1. Annual series from every official figure of the snapshot (features/annual.py): the 3-item
   digital balance and its flows (2014-2016 summed from the monthly data, 2022-2025 published
   totals, 2017-2021 missing) and the supporting series (WDI IP charges in yen 1996-2024, the
   long monthly proxy summed by year 1996-2016).
2. Drivers: USD/JPY annual average (known one day after the year ends) and the AI-adoption index
   (Bass curve, known when the surveys were published: 2025-07-08 in this snapshot).
3. Backtest every model in ``forecast`` mode (drivers as known at each origin, forecast by their
   own model) with ``oracle`` (realised drivers, an upper bound) scored beside it. Origins sit on
   years with a published figure; the main targets are scored one year ahead.
4. Per target, the projection model: the best candidate when the target has enough scored
   origins, else the configured fallback (an a-priori structural model), with the reason.
5. Refit on all data, project every target under every scenario to ``projection_end``, write the
   projections, fan charts and the backtest check of ``check_year``, register the pyfunc model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import experiments.runtime  # noqa: F401  (environment defaults before mlflow import)
import joblib
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema
from threadpoolctl import threadpool_limits

from experiments import model_registry as registry
from experiments.annual_config import AnnualStudyConfig
from experiments.annual_projection import (
    ANNUAL_FREQ, ANNUAL_OUTPUT_COLUMNS, paths_to_json, project_annual, resolve_paths,
)
from experiments.fan_charts import scenario_comparison_chart, scenario_fan_grid
from experiments.lineage import IDEMPOTENCE_KEYS, lineage_tags
from experiments.model_publish import PIP_REQUIREMENTS
from experiments.scenarios import BASELINE, DEFAULT_SCENARIOS_DIR, Scenario, load_scenarios
from experiments.tracking import ensure_experiment
from features.ai_adoption import (
    ADOPTION_COLUMN, DEFAULT_ADOPTION_CONFIG, AdoptionConfig, AdoptionDriver, AdoptionFit, adoption_index, fit_adoption,
    load_adoption_config, survey_points,
)
from features.annual import (
    DEFAULT_ANNUAL_CATALOG_PATH, AnnualCatalog, OfficialSeries, build_annual_panel, load_annual_catalog,
)
from features.atomic import write_text_atomic
from features.errors import ConfigError
from features.exog import FX_REGRESSOR, fx_at_freq, usdjpy_monthly
from features.series import SeriesCatalog
from features.snapshot import Snapshot
from forecast.backtest.engine import BacktestResult, BacktestSettings, cross_validate
from forecast.backtest.exog_modes import DriverSpec, ExogOptions
from forecast.backtest.exog_report import exog_mode_board
from forecast.backtest.leaderboard import leaderboard
from forecast.models.registry import make_model

COLUMN = {"usdjpy": FX_REGRESSOR, "ai_adoption": ADOPTION_COLUMN}
PYFUNC_ANNUAL = Path(__file__).with_name("pyfunc_annual.py")
PRIMARY_MODE = "forecast"
Progress = Callable[[str, int, int], None]

ANNUAL_INPUT_SCHEMA = Schema([ColSpec("string", "unique_id", required=False), ColSpec("datetime", "ds")])
ANNUAL_OUTPUT_SCHEMA = Schema(
    [ColSpec("string", "scenario"), ColSpec("string", "unique_id"), ColSpec("datetime", "ds")]
    + [ColSpec("double", c) for c in ANNUAL_OUTPUT_COLUMNS[3:]]
)
SCENARIO_PARAMS = ParamSchema([ParamSpec("scenario", "string", BASELINE)])


# ---- inputs (validated before any write) ---------------------------------------------------------

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
    for scenario in scenarios.values():
        for overlay in scenario.overlays:
            stray = set(overlay.targets) - set(ids)
            if stray:
                raise ConfigError(f"scenario '{scenario.name}': overlay '{overlay.name}' names '{sorted(stray)[0]}', "
                                  f"which study '{study.name}' does not project")
    files = [study.series_catalog or DEFAULT_ANNUAL_CATALOG_PATH, study.adoption_config or DEFAULT_ADOPTION_CONFIG,
             *sorted(Path(study.scenarios_dir or DEFAULT_SCENARIOS_DIR).glob("*.yaml"))]
    payload = study.model_dump_json() + "".join(Path(f).read_text(encoding="utf-8") for f in files)
    return AnnualData(panel, provenance, catalog, adoption_config, points, adoption, usdjpy_monthly(snapshot),
                      scenarios, hashlib.sha256(payload.encode()).hexdigest())


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


# ---- backtest -----------------------------------------------------------------------------------

@contextmanager
def _quiet_prophet():
    """Prophet logs "Optimization terminated abnormally. Falling back to Newton." on some of the
    5-10 point annual fits; the fallback is its documented behaviour, so the line is noise here."""
    logger = logging.getLogger("prophet")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def backtest_annual(study: AnnualStudyConfig, data: AnnualData, n_jobs: int,
                    progress: Progress | None = None) -> BacktestResult:
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
    with _quiet_prophet():
        for ids, horizon, n_origins, supporting in runs:
            for columns, all_specs in groups.items():
                specs = [s for s in all_specs if not (supporting and s.scope == "targets")]
                if not specs:
                    continue
                rows = data.panel[data.panel["unique_id"].isin(ids)][["unique_id", "ds", "y", *columns]]
                settings = BacktestSettings(
                    horizon=horizon, n_origins=n_origins, season_length=1, freq=ANNUAL_FREQ,
                    exog_mode=PRIMARY_MODE, publication_lag_days=bt.publication_lag_days,
                    exog_options=exog_options(study, data, compare=bool(columns)), origins_per_task=None,
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
    observed = data.panel.loc[data.panel["y"].notna(), ["unique_id", "ds"]].rename(columns={"ds": "cutoff"})
    observed = observed.astype({"cutoff": "datetime64[us]"})

    def on_observed(frame: pd.DataFrame) -> pd.DataFrame:
        # A fold whose cutoff is a missing year would measure the snapshot's gap (2017-2021 exist
        # at MOF, we just do not hold them), not a forecaster's situation: left out.
        frame = frame.astype({"cutoff": "datetime64[us]", "ds": "datetime64[us]"})
        return frame.merge(observed, on=["unique_id", "cutoff"]).sort_values(
            ["unique_id", "model", "cutoff", "h"], ignore_index=True)

    main = BacktestSettings(horizon=bt.horizon, n_origins=bt.n_origins, season_length=1, freq=ANNUAL_FREQ,
                            exog_mode=PRIMARY_MODE, publication_lag_days=bt.publication_lag_days)
    return BacktestResult(
        forecasts=on_observed(pd.concat(forecasts, ignore_index=True)),
        skipped=pd.concat(skipped, ignore_index=True),
        settings=main,
        exog_views=on_observed(pd.concat(views, ignore_index=True)) if views else None,
    )


def evidence_table(study: AnnualStudyConfig, data: AnnualData, result: BacktestResult) -> pd.DataFrame:
    """Per series: published years, backtest horizon, scored origins (most of any model)."""
    rows = []
    scored = result.forecasts.dropna(subset=["y"])
    for uid in [*study.targets, *study.supporting_targets]:
        y = data.panel.loc[data.panel["unique_id"] == uid].set_index("ds")["y"]
        one = scored[scored["unique_id"] == uid]
        origins = one.groupby("model")["cutoff"].nunique()
        role = "target" if uid in study.targets else "supporting"
        horizon = study.backtest.horizon if role == "target" else study.backtest.supporting_horizon
        rows.append({
            "unique_id": uid, "role": role, "first_year": int(y.dropna().index.min().year),
            "last_year": int(y.dropna().index.max().year), "published_years": int(y.notna().sum()),
            "missing_years": int(y.isna().sum()), "horizon": horizon,
            "scored_origins": int(origins.max()) if len(origins) else 0,
            "scored_points": int(one.groupby("model").size().max()) if len(one) else 0,
        })
    return pd.DataFrame(rows)


def select_models(study: AnnualStudyConfig, board: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Per series: the projection model and why (``backtest`` or ``fallback``)."""
    sel = study.selection
    rows = []
    for ev in evidence.itertuples(index=False):
        ranked = board[(board["unique_id"] == ev.unique_id) & board["model"].isin(sel.candidates)
                       & board["comparable"]].sort_values("rank")
        if ev.scored_origins >= sel.min_origins and len(ranked):
            best = ranked.iloc[0]
            rows.append({"unique_id": ev.unique_id, "model": best["model"], "basis": "backtest",
                         "reason": f"best candidate by {study.backtest.metric} on {int(best['n_origins'])} origins"})
        else:
            rows.append({"unique_id": ev.unique_id, "model": sel.fallback, "basis": "fallback",
                         "reason": f"{ev.scored_origins} scored origin(s) < {sel.min_origins}: too few to choose by "
                                   f"backtest; the structural model chosen a priori"})
    return pd.DataFrame(rows)


# ---- projections --------------------------------------------------------------------------------

def fit_final(study: AnnualStudyConfig, data: AnnualData, selection: pd.DataFrame) -> dict:
    estimators = {}
    with threadpool_limits(1):
        for row in selection.itertuples(index=False):
            spec = study.spec(row.model)
            columns = [COLUMN[d] for d in spec.drivers]
            rows = data.panel[data.panel["unique_id"] == row.unique_id].set_index("ds").asfreq(ANNUAL_FREQ)
            observed = rows.index[rows["y"].notna()]
            rows = rows.loc[observed[0]:observed[-1]]
            estimators[row.unique_id] = make_model(spec.model, 1, spec.params).fit(
                rows["y"], rows[columns] if columns else None)
    return estimators


def project_all(study: AnnualStudyConfig, data: AnnualData, estimators: dict) -> tuple[pd.DataFrame, dict]:
    """Projections of every target under every scenario, and the stored scenario paths."""
    first = min(est.cutoff_ for est in estimators.values()) + pd.DateOffset(years=1)
    years = pd.date_range(first, f"{study.projection_end}-01-01", freq=ANNUAL_FREQ)
    stored, frames = {}, []
    for name, scenario in data.scenarios.items():
        paths = resolve_paths(scenario, years, data.known_fx, data.adoption)
        stored[name] = {"scenario": scenario.summary(), "paths": paths_to_json(paths)}
        request = pd.concat([
            pd.DataFrame({"unique_id": uid, "ds": pd.date_range(est.cutoff_, years[-1], freq=ANNUAL_FREQ)[1:]})
            for uid, est in estimators.items()], ignore_index=True)
        frames.append(project_annual(estimators, request, paths, scenario))
    return pd.concat(frames, ignore_index=True), stored


def sensitivity_projections(study: AnnualStudyConfig, data: AnnualData) -> pd.DataFrame:
    """The main targets projected by each ``selection.sensitivity`` model under every scenario."""
    frames = []
    for name in study.selection.sensitivity:
        chosen = pd.DataFrame({"unique_id": study.targets, "model": name})
        projections, _ = project_all(study, data, fit_final(study, data, chosen))
        frames.append(projections.assign(role="sensitivity", model=name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def scenario_deltas(projections: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each scenario's mean in ``year`` against the baseline, per target (億円)."""
    at = projections[projections["ds"].dt.year == year]
    wide = at.pivot(index="unique_id", columns="scenario", values="yhat")
    return wide.sub(wide[BASELINE], axis=0).drop(columns=BASELINE)


# ---- the check year -----------------------------------------------------------------------------

def backtest_check(study: AnnualStudyConfig, data: AnnualData, result: BacktestResult, selection: pd.DataFrame,
                   snapshot: Snapshot) -> tuple[pd.DataFrame, str]:
    """Every model refitted with data through ``check_year - 1`` (the backtest fold there), its
    ``check_year`` projection and 80% interval against the published figure and the H1 figure."""
    year, target = study.check_year, study.targets[0]
    if year is None:
        return pd.DataFrame(), ""
    cutoff, ds = pd.Timestamp(f"{year - 1}-01-01"), pd.Timestamp(f"{year}-01-01")
    frames = [result.forecasts.assign(exog_mode=PRIMARY_MODE)]
    if result.exog_views is not None:
        views = result.exog_views.copy()
        parsed = views["model"].str.extract(r"^(?P<model>.*)\[(?P<mode>[^\]]+)\]$")
        frames.append(views.assign(model=parsed["model"], exog_mode=parsed["mode"]))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[(rows["unique_id"] == target) & (rows["cutoff"] == cutoff) & (rows["ds"] == ds)].copy()
    rows["inside_80"] = (rows["lo_80"] <= rows["y"]) & (rows["y"] <= rows["hi_80"])
    rows["inside_95"] = (rows["lo_95"] <= rows["y"]) & (rows["y"] <= rows["hi_95"])
    rows["error"] = rows["mean"] - rows["y"]
    rows["upper_bound"] = rows["exog_mode"] == "oracle"
    table = rows[["model", "exog_mode", "upper_bound", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "y", "error",
                  "inside_80", "inside_95"]].sort_values(["upper_bound", "model"], ignore_index=True)
    return table, _check_note(study, data, table, selection, snapshot, year, target)


def _half_year(data: AnnualData, snapshot: Snapshot, target: str, year: int) -> tuple[float, str] | None:
    spec = data.catalog.spec(target)
    if not isinstance(spec, OfficialSeries):
        return None
    rows = snapshot.digital_annual
    rows = rows[(rows["frequency"] == "H") & (rows["period"] == f"{year}H1") & (rows["item"] == spec.item)
                & (rows["flow"] == spec.flow)]
    if rows.empty:
        return None
    best = data.catalog.choose(rows).iloc[0]
    return float(best["value"]), str(best["source_id"])


def _oku(v: float) -> str:
    return "—" if pd.isna(v) else f"{v:,.0f}"


def _check_note(study, data, table, selection, snapshot, year, target) -> str:
    prov = data.provenance[(data.provenance["unique_id"] == target)
                           & (data.provenance["ds"] == pd.Timestamp(f"{year}-01-01"))]
    source = prov["source_id"].iloc[0] if len(prov) else "?"
    published = table["y"].iloc[0] if len(table) else np.nan
    half = _half_year(data, snapshot, target, year)
    champion = selection.set_index("unique_id").loc[target, "model"]
    lines = [
        f"# {study.name}: refit with data through {year - 1}, projection of {year}",
        "",
        f"Target `{target}` (億円). Published {year}: {_oku(published)} ({source}; the source rounds to 0.1兆円, "
        f"so read it as {_oku(published)} ± 500).",
    ]
    if half is not None:
        h1, h1_source = half
        lines.append(f"Published {year} H1 (Jan-Jun): {_oku(h1)} ({h1_source}), {h1 / published:.0%} of the "
                     f"published year; 2 × H1 = {_oku(2 * h1)} (a run rate for comparison, not a published figure).")
    lines += [
        "",
        f"Each row is the backtest fold with cutoff {year - 1}: the model refitted on the figures through "
        f"{year - 1} (2014-2016, 2022-{year - 1}), drivers as known at the start of {year} (`forecast`: USD/JPY "
        f"random walk from {year - 1}; AI adoption not yet published, so adoption models have no forecast-mode "
        f"row) or realised (`oracle`, an upper bound no forecaster had). The registered model for this target "
        f"is `{champion}`.",
        "",
        "| model | exog mode | projection | 80% interval | 95% interval | error | published inside 80% |",
        "|---|---|---:|---|---|---:|:-:|",
    ]
    for r in table.itertuples(index=False):
        mode = f"{r.exog_mode} (upper bound)" if r.upper_bound else r.exog_mode
        lines.append(f"| {r.model} | {mode} | {_oku(r.mean)} | [{_oku(r.lo_80)}, {_oku(r.hi_80)}] | "
                     f"[{_oku(r.lo_95)}, {_oku(r.hi_95)}] | {_oku(r.error)} | {'yes' if r.inside_80 else 'no'} |")
    if half is not None and len(table):
        h2 = 2 * half[0]
        hits = table[(table["lo_80"] <= h2) & (h2 <= table["hi_80"])]
        inside = [f"{r.model} ({r.exog_mode})" for r in hits.itertuples(index=False)]
        lines += ["", f"2 × H1 ({_oku(h2)}) lies inside the 80% interval of: {', '.join(inside) or 'none'}."]
    lines += [
        "",
        "How thin this is: one origin and one year. The 3-item balance has published figures for "
        "2014-2016 and 2022-2025 only, so the whole annual backtest of this target is three one-year-ahead "
        f"origins ({', '.join(str(y) for y in range(year - 3, year))} → the next year), and receipts and payments "
        "have none (after 2016 only 2023 is published). A model that looks best here may be lucky; the "
        "supporting series (WDI IP charges 1996-2024, the monthly proxy 1996-2016) carry the longer evidence.",
    ]
    return "\n".join(lines) + "\n"


# ---- the study ----------------------------------------------------------------------------------

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
    check: pd.DataFrame | None = None
    note: str = ""
    skipped: pd.DataFrame | None = None
    version: str | None = None
    parent_run_id: str | None = None
    projections_path: Path | None = None
    charts: list[Path] = field(default_factory=list)
    metric: str = "mase"
    publication_lag_days: int = 0

    @property
    def champions(self) -> dict[str, str]:
        return {} if self.selection is None else dict(zip(self.selection["unique_id"], self.selection["model"]))

    def print_report(self, console) -> None:
        from experiments.report_annual import print_annual

        print_annual(console, self)


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
    done = registry.find_version(client, study.registered_model, {k: lineage[k] for k in IDEMPOTENCE_KEYS})
    if done is not None and not force_promote:
        return AnnualOutcome(study.name, study.registered_model, time.perf_counter() - started,
                             unchanged_version=str(done.version))

    bt = study.backtest
    # In this process: the tasks take milliseconds (worker round trips would cost more), and
    # _quiet_prophet can only silence Prophet's fallback notice here.
    result = backtest_annual(study, data, n_jobs=1, progress=progress)
    board = leaderboard(result, metric=bt.metric)
    exog_board = exog_mode_board(result, PRIMARY_MODE)
    evidence = evidence_table(study, data, result)
    selection = select_models(study, board, evidence)
    estimators = fit_final(study, data, selection)
    projections, stored = project_all(study, data, estimators)
    projections.insert(0, "role", "selected")
    projections.insert(3, "model", projections["unique_id"].map(dict(zip(selection["unique_id"], selection["model"]))))
    deltas = scenario_deltas(projections, study.projection_end)
    sensitivity = sensitivity_projections(study, data)
    check, note = backtest_check(study, data, result, selection, snapshot)
    adoption = _adoption_table(data, study)

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
    }
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    experiment_id = ensure_experiment(client, study.name, uri, config.mlruns_dir)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"refresh-{time.strftime('%Y%m%dT%H%M%S')}") as run:
        mlflow.set_tags({**lineage, "kind": "annual_refresh"})
        mlflow.log_params({
            "frequency": "annual", "targets": ",".join(study.targets),
            "supporting_targets": ",".join(study.supporting_targets),
            "models": ",".join(m.name for m in study.models), "horizon": bt.horizon,
            "supporting_horizon": bt.supporting_horizon, "metric": bt.metric, "exog_mode": PRIMARY_MODE,
            "compare_exog_modes": ",".join(bt.compare_exog_modes), "publication_lag_days": bt.publication_lag_days,
            "fallback_model": study.selection.fallback, "min_origins": study.selection.min_origins,
            "projection_end": study.projection_end, "scenarios": ",".join(sorted(data.scenarios)),
        })
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            charts = _charts(study, data, projections, tmp)
            for chart in charts:
                mlflow.log_artifact(str(chart), "fan_charts")
            tables = {"leaderboard.csv": board, "leaderboard_exog_modes.csv": exog_board, "evidence.csv": evidence,
                      "selection.csv": selection, "skipped.csv": result.skipped, "projections.csv": projections,
                      "provenance.csv": data.provenance, "adoption_index.csv": adoption,
                      f"backtest_check_{study.check_year}.csv": check,
                      "scenario_deltas.csv": deltas.reset_index(),
                      "projections_sensitivity.csv": sensitivity}
            for name, frame in tables.items():
                (tmp / name).write_text(frame.to_csv(index=False), encoding="utf-8")
                mlflow.log_artifact(str(tmp / name), "tables")
            mlflow.log_text(note, f"backtest_check_{study.check_year}.md")
            info = _log_model(estimators, stored, meta, tmp)
            # Copy the charts next to the projections file (written after the run, like the CSVs).
            saved_charts = []
            for chart in charts:
                target = out_dir / chart.name
                target.write_bytes(chart.read_bytes())
                saved_charts.append(target)
        version = registry.create_version(
            client, study.registered_model, info.model_uri, run.info.run_id, info.model_id,
            {**lineage, "selection": json.dumps(meta["targets"], sort_keys=True)},
            description="annual projection study (scenarios as pyfunc param 'scenario')",
        )
        reason = (f"annual study: at most {int(evidence['scored_origins'].max())} scored origins per series, too few "
                  f"for a champion/challenger test; the refreshed model replaces the champion")
        registry.promote(client, study.registered_model, str(version.version), reason)
        mlflow.set_tag("registered_model_version", str(version.version))

    out_path = out_dir / f"{study.name}.csv"
    write_text_atomic(out_path, projections.to_csv(index=False))
    if len(sensitivity):
        write_text_atomic(out_dir / f"{study.name}-sensitivity.csv", sensitivity.to_csv(index=False))
    write_text_atomic(out_dir / f"{study.name}-backtest-{study.check_year}.md", note)
    write_text_atomic(out_dir / f"{study.name}-leaderboard-exog-modes.csv", exog_board.to_csv(index=False))
    return AnnualOutcome(
        study=study.name, registered_model=study.registered_model, seconds=time.perf_counter() - started,
        leaderboard=board, exog_board=exog_board, evidence=evidence, selection=selection, projections=projections,
        deltas=deltas, sensitivity=sensitivity, check=check, note=note, skipped=result.skipped,
        version=str(version.version),
        parent_run_id=run.info.run_id, projections_path=out_path, charts=saved_charts, metric=bt.metric,
        publication_lag_days=bt.publication_lag_days,
    )


def _adoption_table(data: AnnualData, study: AnnualStudyConfig) -> pd.DataFrame:
    years = pd.date_range("2022-01-01", f"{study.projection_end}-01-01", freq=ANNUAL_FREQ)
    out = pd.DataFrame({"ds": years})
    for name in data.adoption_config.quantiles:
        out[name] = adoption_index(data.adoption, years, ANNUAL_FREQ, name).values.to_numpy()
    out["known_at"] = f"{data.adoption.known_at:%Y-%m-%d}"
    return out


def _charts(study: AnnualStudyConfig, data: AnnualData, projections: pd.DataFrame, tmp: Path) -> list[Path]:
    targets = study.fan_chart_targets or study.targets
    history = {uid: data.panel.loc[data.panel["unique_id"] == uid].set_index("ds")["y"] for uid in targets}
    labels = {uid: data.catalog.label(uid) for uid in targets}
    names = [BASELINE] + sorted(n for n in data.scenarios if n != BASELINE)
    first = targets[0]
    return [
        scenario_fan_grid(history, projections, names, labels, tmp / f"{study.name}-fan-charts.png",
                          f"{study.name}: projections by scenario (80% and 95% intervals, conditional on the scenario)"),
        scenario_comparison_chart(history[first], projections, first, tmp / f"{study.name}-scenarios-{first}.png",
                                  f"{labels[first]}: every scenario against the baseline fan"),
    ]


def _log_model(estimators: dict, stored: dict, meta: dict, tmp: Path):
    joblib.dump(estimators, tmp / "estimators.joblib")
    (tmp / "scenarios.json").write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")
    example = pd.DataFrame({"unique_id": list(estimators),
                            "ds": [pd.Timestamp(meta["targets"][uid]["first_forecast"]) for uid in estimators]})
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(PYFUNC_ANNUAL),
        artifacts={"estimators": str(tmp / "estimators.joblib"), "scenarios": str(tmp / "scenarios.json")},
        signature=ModelSignature(inputs=ANNUAL_INPUT_SCHEMA, outputs=ANNUAL_OUTPUT_SCHEMA, params=SCENARIO_PARAMS),
        input_example=example,
        pip_requirements=PIP_REQUIREMENTS,
        metadata=meta,
    )


# ---- hooks for experiments/refresh.py ----------------------------------------------------------

def prepare_annual_studies(config, snapshot: Snapshot, monthly_catalog: SeriesCatalog) -> dict[str, AnnualData]:
    """Validate and build the inputs of every annual study (before the refresh writes anything)."""
    names = [s.name for s in config.studies] + [a.name for a in config.annual_studies]
    models = [s.registered_model for s in config.studies] + [a.registered_model for a in config.annual_studies]
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
