"""The published monthly paths of a mixed-frequency study.

Per target, the variants selected by the evidence are fitted on every figure; the months are

* ``published`` where a monthly figure exists (the figure itself, no interval),
* ``estimate`` up to the last month any figure of the study covers (the months between and
  under the published totals; never written into the history or the snapshot),
* ``forecast`` after it, to ``projection_end``.

Estimates and forecasts then satisfy the study's identity (balance = receipts - payments) in
every month while each target's sums over its own published totals equal those totals
(forecast/temporal/coherence.py). Estimates come from the variant that rebuilt hidden months
best, forecasts from the one that forecast best from the origins; their intervals are widened
by the conformal factor of that same evidence (experiments/studies/mixed/evidence.py). Scenarios act on forecast months only: USD/JPY
scales every flow by the scenario's factor (the study takes the digital flows to be invoiced in
dollars, as the annual study's currency decomposition does) and overlays add their amounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.scenarios import BASELINE, Scenario, resolve_levers
from experiments.studies.mixed.config import MixedStudyConfig
from experiments.studies.mixed.data import MixedData
from experiments.studies.mixed.variants import Variant, fit_variant
from forecast.temporal.base import Z80, Z95
from forecast.temporal.coherence import coherent_paths

PATH_COLUMNS = [
    "scenario",
    "unique_id",
    "ds",
    "kind",
    "yhat",
    "yhat_lo_80",
    "yhat_hi_80",
    "yhat_lo_95",
    "yhat_hi_95",
    "yhat_base",
    "overlay",
    "model",
    "source",
]
TOTALS_CHECK_COLUMNS = [
    "unique_id",
    "label",
    "kind",
    "value",
    "sum_of_months",
    "difference",
    "rounding_half_step",
    "source_id",
    "within_rounding",
]
BOUNDS = {"yhat_lo_80": -Z80, "yhat_hi_80": Z80, "yhat_lo_95": -Z95, "yhat_hi_95": Z95}


@dataclass
class FittedPaths:
    baseline: pd.DataFrame  # PATH_COLUMNS less scenario/overlay, plus sd
    last_figure: pd.Timestamp
    totals_check: pd.DataFrame  # every published total against the sum of its published/estimated months


def _smoothed(data: MixedData, study: MixedStudyConfig, uid: str, name: str) -> pd.DataFrame:
    model, X = fit_variant(data, study, uid, Variant.parse(name), data.windows[uid], study.end)
    return model.predict(study.end, X)[["mean", "sd"]]


def fit_paths(
    data: MixedData,
    study: MixedStudyConfig,
    selected: dict[str, str],
    estimators: dict[str, str],
    factor: float,
    estimate_factors: dict[str, float],
) -> FittedPaths:
    """``selected``: the variant per target whose months after the last figure are the forecast
    (chosen on the origins); ``estimators``: the one whose months under the totals are the
    estimates (chosen on the hidden months). Both reproduce every total; the forecast variant
    continues from the same figures. ``factor`` widens forecast sds, ``estimate_factors`` the
    estimates' (each from its own evidence)."""
    last_figure = max(pd.Timestamp(w["end"].max()) for w in data.windows.values())
    frames = {}
    for uid in study.targets:
        forecast = _smoothed(data, study, uid, selected[uid])
        estimate = forecast if estimators[uid] == selected[uid] else _smoothed(data, study, uid, estimators[uid])
        ahead = forecast.index > last_figure
        frame = pd.DataFrame(
            {
                "ds": forecast.index,
                "mean": np.where(ahead, forecast["mean"], estimate["mean"].reindex(forecast.index)),
                "sd": np.where(
                    ahead,
                    forecast["sd"] * factor,
                    estimate["sd"].reindex(forecast.index) * estimate_factors.get(uid, 1.0),
                ),
                "model": np.where(ahead, selected[uid], estimators[uid]),
            }
        )
        months = data.windows[uid][data.windows[uid]["months"] == 1]
        frame["figure"] = frame["ds"].map(dict(zip(months["start"], months["value"])))
        frame["source"] = frame["ds"].map(dict(zip(months["start"], months["source_id"]))).fillna("")
        frame["kind"] = np.where(frame["figure"].notna(), "published", np.where(ahead, "forecast", "estimate"))
        frame["yhat_base"] = frame["mean"]
        frames[uid] = frame.assign(unique_id=uid)
    if study.identity is not None:
        _make_coherent(data, study, frames)
    rows = []
    for frame in frames.values():
        published = frame["kind"] == "published"
        yhat = np.where(published, frame["figure"], frame["mean"])
        sd = np.where(published, 0.0, frame["sd"])
        out = frame[["unique_id", "ds", "kind"]].assign(yhat=yhat, sd=sd)
        for column, z in BOUNDS.items():
            out[column] = yhat + z * sd
        out["yhat_base"] = np.where(published, frame["figure"], frame["yhat_base"])
        rows.append(out.assign(model=np.where(published, "", frame["model"]), source=frame["source"]))
    baseline = pd.concat(rows, ignore_index=True)
    return FittedPaths(baseline, last_figure, totals_check(data, study, baseline))


def _make_coherent(data: MixedData, study: MixedStudyConfig, frames: dict[str, pd.DataFrame]) -> None:
    """The identity in every month after the last month all targets publish; totals kept."""
    assert study.identity is not None  # only called for a study with an identity
    identity = study.identity.identity()
    published_all = set.intersection(*(set(f.loc[f["kind"] == "published", "ds"]) for f in frames.values()))
    first = (
        (max(published_all) + pd.DateOffset(months=1)) if published_all else max(f["ds"].min() for f in frames.values())
    )
    last = min(f["ds"].max() for f in frames.values())
    span = pd.date_range(first, last, freq="MS")
    position = {ts: i for i, ts in enumerate(span)}
    means, variances, keep = {}, {}, {}
    for uid in identity.series:
        part = frames[uid].set_index("ds").reindex(span)
        means[uid] = part["mean"].to_numpy()
        variances[uid] = part["sd"].to_numpy() ** 2
        w = data.windows[uid]
        w = w[(w["months"] > 1) & (w["start"] >= first) & (w["end"] <= last)]
        keep[uid] = [
            (position[pd.Timestamp(s)], int(m), float(v)) for s, m, v in zip(w["start"], w["months"], w["value"])
        ]
    adjusted = coherent_paths(means, variances, identity, keep)
    for uid, values in adjusted.items():
        frame = frames[uid]
        rows = frame["ds"].isin(span).to_numpy()
        frame.loc[rows, "mean"] = values


def totals_check(data: MixedData, study: MixedStudyConfig, baseline: pd.DataFrame) -> pd.DataFrame:
    """Every published total beside the sum of its months in the published paths."""
    out = []
    for uid in study.targets:
        path = baseline[baseline["unique_id"] == uid].set_index("ds")["yhat"]
        for _, w in data.windows[uid].iterrows():
            if int(w["months"]) == 1:
                continue
            span = pd.date_range(w["start"], periods=int(w["months"]), freq="MS")
            total = float(path.reindex(span).sum())
            # the figure's rounding step: sd = step / sqrt(12)
            half_step = float(w["sd"]) * np.sqrt(12.0) / 2.0
            out.append(
                {
                    "unique_id": uid,
                    "label": w["label"],
                    "kind": w["kind"],
                    "value": float(w["value"]),
                    "sum_of_months": total,
                    "difference": total - float(w["value"]),
                    "rounding_half_step": half_step,
                    "source_id": w["source_id"],
                    "within_rounding": abs(total - float(w["value"])) <= max(half_step, 0.5) + 1e-6,
                }
            )
    return pd.DataFrame(out, columns=TOTALS_CHECK_COLUMNS)


def forecast_baseline(baseline: pd.DataFrame) -> tuple[pd.DatetimeIndex, dict[str, pd.Series]]:
    """The forecast months and each target's baseline forecast there (what share levers act on)."""
    future = baseline[baseline["kind"] == "forecast"]
    index = pd.DatetimeIndex(sorted(future["ds"].unique()))
    return index, {uid: rows.set_index("ds")["yhat"] for uid, rows in future.groupby("unique_id")}


def scenario_paths(baseline: pd.DataFrame, scenarios: dict[str, Scenario], levers: dict | None = None) -> pd.DataFrame:
    """Every scenario's paths (baseline first); scenarios change forecast months only. Levers act
    on the baseline forecast (experiments/levers.py) and add to the FX-scaled paths."""
    index, base = forecast_baseline(baseline)
    frames = []
    for name in [BASELINE] + sorted(n for n in scenarios if n != BASELINE):
        scenario = resolve_levers(scenarios[name], levers or {}, index, "MS", base)
        frame = baseline.drop(columns="sd").copy()
        future = (frame["kind"] == "forecast").to_numpy()
        overlay = np.zeros(len(frame))
        for uid, rows in frame[future].groupby("unique_id"):
            amounts = scenario.overlay_amounts(pd.DatetimeIndex(rows["ds"]), "MS", str(uid)).to_numpy()
            overlay[frame.index.get_indexer(rows.index)] = amounts
        for column in ["yhat", *BOUNDS]:
            frame[column] = np.where(future, frame[column] * scenario.fx_multiplier + overlay, frame[column])
        frames.append(frame.assign(scenario=name, overlay=overlay))
    return pd.concat(frames, ignore_index=True)[PATH_COLUMNS]
