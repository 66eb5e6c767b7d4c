"""Leakage-free evidence for a mixed-frequency study.

* Disaggregation: the monthly figures of ``hide_first..hide_last`` are hidden (their published
  totals stay, and the profile series' months from ``hide_first`` on are hidden too), every
  variant rebuilds those months, and each is scored by MASE against the real months beside a flat
  split (total / 12) and a seasonal-profile split (total x the profile series' factors). The
  estimator is chosen beforehand on a validation block: the same exercise on the profile series
  in the years just before the hidden ones.
* Origins: for each year ``Y`` of ``origins``, each variant is fitted on the figures of periods
  through December ``Y`` that were published by the end of ``publication_month`` of ``Y + 1``,
  and forecasts every published total of ``Y + 1`` (calendar year, halves, fiscal halves,
  year-to-date sums), beside naive and drift benchmarks on the calendar-year totals.
* Coverage: the share of those totals inside each variant's 80/95% intervals, and a conformal
  factor (the 80% quantile of |error| / sd over origins before each one, divided by z_0.9) that
  widens the intervals when they were too narrow, scored on the origins after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import delayed
from threadpoolctl import threadpool_limits

from experiments.studies.mixed.config import MixedStudyConfig
from experiments.studies.mixed.data import MixedData
from experiments.studies.mixed.variants import Variant, fit_variant, study_variants
from forecast.backtest.executors import Executor, JoblibExecutor
from forecast.temporal.base import Z80, Z95
from forecast.temporal.profile import factors_on, seasonal_factors
from forecast.temporal.windows import check_windows, rounding_sd


def monthly_scale(data: MixedData, uid: str) -> float:
    """MASE denominator: mean absolute 12-month difference of the target's monthly figures."""
    months = data.windows[uid]
    months = months[months["months"] == 1]
    s = pd.Series(months["value"].to_numpy(), index=pd.DatetimeIndex(months["start"])).asfreq("MS")
    diff = (s - s.shift(12)).abs().dropna()
    return float(diff.mean()) if len(diff) else float(np.abs(s).mean())


# ---- disaggregation --------------------------------------------------------------------------------


def _hide_task(data: MixedData, study: MixedStudyConfig, uid: str, variant: Variant) -> pd.DataFrame:
    ev = study.evidence
    windows = data.hidden_windows(uid, ev.hide_first, ev.hide_last)
    first = pd.Timestamp(f"{ev.hide_first}-01")
    with threadpool_limits(1):
        model, X = fit_variant(data, study, uid, variant, windows, windows["end"].max(), profile_before=first)
        out = model.predict(windows["end"].max(), X)
    return out.assign(unique_id=uid, method=variant.name)


VALIDATION_YEARS = 8


def validation_block(study: MixedStudyConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    """As many years as the hidden block, just before it: where the estimator is chosen."""
    ev = study.evidence
    first, last = pd.Period(ev.hide_first, "M"), pd.Period(ev.hide_last, "M")
    start = first - ((last - first).n + 1)
    return start.to_timestamp(), (first - 1).to_timestamp()


def _validation_task(data: MixedData, study: MixedStudyConfig, uid: str, variant: Variant) -> pd.DataFrame:
    """The variant rebuilds the months of the validation block of the target's profile series from
    its earlier months and the block's calendar-year sums: the estimator is chosen here, so the
    hidden-months score of the chosen one is not the score it was chosen on."""
    first, last = validation_block(study)
    series = data.catalog.monthly.build(data.snapshot, study.profile_series[uid]).loc[:last].dropna()
    start = data.indicator_start(variant.indicators)
    if start is not None:
        series = series[series.index >= start]
    before = series[series.index < first]
    # seasonal factors from the whole history before the block (as the profile split's); the
    # fit itself sees the last VALIDATION_YEARS of months (a Chow-Lin fit is cubic in the figures)
    factors = seasonal_factors(before)
    before = before[before.index >= first - pd.DateOffset(years=VALIDATION_YEARS)]
    rows = [{"start": ds, "months": 1, "value": float(v), "sd": rounding_sd(1.0)} for ds, v in before.items()]
    block = series[series.index >= first]
    for year, part in block.groupby(block.index.year):
        if len(part) == 12:
            rows.append(
                {
                    "start": pd.Timestamp(f"{year}-01-01"),
                    "months": 12,
                    "value": float(part.sum()),
                    "sd": rounding_sd(1.0),
                }
            )
    windows = check_windows(pd.DataFrame(rows))
    with threadpool_limits(1):
        model, X = fit_variant(
            data,
            study,
            uid,
            variant,
            windows,
            last,
            profile_before=first,
            factors=None if factors is None else tuple(factors),
        )
        out = model.predict(last, X).loc[first:last]
    err = (out["mean"] - block.reindex(out.index)).abs()
    scale = float((series - series.shift(12)).abs().mean())
    return pd.DataFrame([{"unique_id": uid, "method": variant.name, "validation_mase": float(err.mean() / scale)}])


def _split_rows(data: MixedData, study: MixedStudyConfig, uid: str) -> pd.DataFrame:
    """Flat and seasonal-profile splits of the published calendar-year totals of the hidden years."""
    ev = study.evidence
    first = pd.Timestamp(f"{ev.hide_first}-01")
    factors = data.profile(study, uid, before=first)
    totals = data.totals(uid)
    totals = totals[
        (totals["kind"] == "A") & (totals["start"] >= first) & (totals["end"] <= pd.Timestamp(f"{ev.hide_last}-01"))
    ]
    rows = []
    for start, value in zip(totals["start"], totals["value"]):
        grid = pd.date_range(start, periods=12, freq="MS", name="ds")
        p = factors_on(grid, None if factors is None else np.asarray(factors))
        rows.append(pd.DataFrame({"mean": value / 12.0, "method": "flat_split"}, index=grid))
        rows.append(pd.DataFrame({"mean": value * p / p.sum(), "method": "profile_split"}, index=grid))
    return pd.concat(rows).assign(unique_id=uid) if rows else pd.DataFrame()


def disaggregation_table(data: MixedData, study: MixedStudyConfig, hidden: pd.DataFrame) -> pd.DataFrame:
    """MASE of the rebuilt months per target and method (models and splits)."""
    ev = study.evidence
    frames = [hidden] + [_split_rows(data, study, uid) for uid in study.targets]
    rows = pd.concat([f for f in frames if len(f)]).rename_axis("ds").reset_index()
    rows = rows[
        (rows["ds"] >= pd.Timestamp(f"{ev.hide_first}-01")) & (rows["ds"] <= pd.Timestamp(f"{ev.hide_last}-01"))
    ]
    out = []
    for uid, group in rows.groupby("unique_id"):
        months = data.windows[uid]
        real = pd.Series(
            months.loc[months["months"] == 1, "value"].to_numpy(),
            index=pd.DatetimeIndex(months.loc[months["months"] == 1, "start"]),
        )
        scale = monthly_scale(data, uid)
        for method, part in group.groupby("method"):
            y = part["ds"].map(real)
            err = (part["mean"] - y).abs()
            inside = (
                (part["lo_80"] <= y) & (y <= part["hi_80"]) if "lo_80" in part and part["lo_80"].notna().all() else None
            )
            out.append(
                {
                    "unique_id": uid,
                    "method": method,
                    "months": int(y.notna().sum()),
                    "mase": float(err.mean() / scale),
                    "mae": float(err.mean()),
                    "coverage_80": float(inside.mean()) if inside is not None else np.nan,
                }
            )
    table = pd.DataFrame(out).merge(
        hidden.attrs.get("validation", pd.DataFrame(columns=["unique_id", "method", "validation_mase"])),
        on=["unique_id", "method"],
        how="left",
    )
    return table.sort_values(["unique_id", "mase"], ignore_index=True)


# ---- origins ----------------------------------------------------------------------------------------


def _origin_task(
    data: MixedData, study: MixedStudyConfig, uid: str, variant: Variant, year: int, targets: pd.DataFrame
) -> pd.DataFrame:
    ev = study.evidence
    windows = data.windows_at(uid, year, ev.publication_month)
    as_of = pd.Timestamp(f"{year + 1}-{ev.publication_month:02d}-01") + pd.offsets.MonthEnd(0)
    with threadpool_limits(1):
        model, X = fit_variant(
            data,
            study,
            uid,
            variant,
            windows,
            targets["end"].max(),
            as_of=as_of,
            profile_before=pd.Timestamp(f"{year + 1}-01-01"),
        )
        pred = model.predict_windows(targets[["start", "months"]], X)
    out = targets[["label", "kind", "start", "months", "value"]].rename(columns={"value": "y"}).reset_index(drop=True)
    return pd.concat([out, pred.reset_index(drop=True)], axis=1).assign(unique_id=uid, method=variant.name, origin=year)


def _targets_after(totals: pd.DataFrame, year: int) -> pd.DataFrame:
    nxt = pd.Timestamp(f"{year + 1}-01-01")
    return totals[(totals["start"] >= nxt) & (totals["end"] <= pd.Timestamp(f"{year + 1}-12-01"))]


def _benchmarks(data: MixedData, study: MixedStudyConfig, uid: str, totals: pd.DataFrame) -> pd.DataFrame:
    """Naive (last known calendar-year total) and drift (its average change per year) on every
    total of the next year, pro rata for windows shorter than a year."""
    ev = study.evidence
    rows = []
    for year in ev.origins:
        targets = _targets_after(totals, year)
        if targets.empty:
            continue
        known = data.windows_at(uid, year, ev.publication_month)
        known = known[known["kind"] == "A"]
        # calendar-year sums of the monthly figures of complete years (pseudo-real-time)
        months = data.windows[uid]
        months = months[(months["months"] == 1) & (months["start"] <= pd.Timestamp(f"{year}-12-01"))]
        by_year = months.groupby(months["start"].dt.year)["value"].agg(["sum", "count"])
        annual = {int(y): float(r["sum"]) for y, r in by_year.iterrows() if r["count"] == 12}
        annual.update({int(s.year): float(v) for s, v in zip(known["start"], known["value"])})
        if not annual:
            continue
        years = sorted(annual)
        last, first = years[-1], years[0]
        slope = (annual[last] - annual[first]) / (last - first) if last > first else 0.0
        for _, t in targets.iterrows():
            horizon = t["start"].year - last
            share = t["months"] / 12.0
            for method, value in (("naive", annual[last]), ("drift", annual[last] + slope * horizon)):
                rows.append(
                    {
                        "label": t["label"],
                        "kind": t["kind"],
                        "start": t["start"],
                        "months": t["months"],
                        "y": t["value"],
                        "mean": value * share,
                        "unique_id": uid,
                        "method": method,
                        "origin": year,
                    }
                )
    return pd.DataFrame(rows)


def run_evidence(
    data: MixedData,
    study: MixedStudyConfig,
    executor: Executor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rebuilt hidden months of every variant, origin forecasts of every variant and benchmark);
    the fits run on ``executor`` (the refresh's: joblib workers or a Dask cluster; default here)."""
    tasks, kinds = [], []
    totals_of = {uid: data.totals(uid) for uid in study.targets}
    for uid in study.targets:
        totals = totals_of[uid]
        for variant in study_variants(study, uid):
            tasks.append(delayed(_hide_task)(data, study, uid, variant))
            kinds.append("hide")
            if uid in study.profile_series:
                tasks.append(delayed(_validation_task)(data, study, uid, variant))
                kinds.append("validation")
            for year in study.evidence.origins:
                targets = _targets_after(totals, year)
                if len(targets):
                    tasks.append(delayed(_origin_task)(data, study, uid, variant, year, targets))
                    kinds.append("origin")
    results = (executor or JoblibExecutor(1)).run(tasks)
    hidden = pd.concat([r for r, k in zip(results, kinds) if k == "hide"])
    validation = [r for r, k in zip(results, kinds) if k == "validation"]
    hidden.attrs["validation"] = (
        pd.concat(validation, ignore_index=True)
        if validation
        else pd.DataFrame(columns=["unique_id", "method", "validation_mase"])
    )
    origins = pd.concat(
        [r for r, k in zip(results, kinds) if k == "origin"]
        + [_benchmarks(data, study, uid, totals_of[uid]) for uid in study.targets],
        ignore_index=True,
    )
    return hidden, with_errors(data, origins)


def with_errors(data: MixedData, rows: pd.DataFrame) -> pd.DataFrame:
    """Origin rows (forecasts of totals) with their ``error`` and ``scaled_error``: |error| per
    month of the total over the target's MASE scale, so totals of any length compare."""
    scales = {uid: monthly_scale(data, uid) for uid in rows["unique_id"].unique()}
    error = rows["mean"] - rows["y"]
    return rows.assign(error=error, scaled_error=error.abs() / (rows["months"] * rows["unique_id"].map(scales)))


# ---- selection, coverage and calibration ------------------------------------------------------------


def origin_scores(origins: pd.DataFrame) -> pd.DataFrame:
    """Per target and method: totals scored, mean scaled error, coverage of the intervals."""
    g = origins.groupby(["unique_id", "method"])
    out = pd.DataFrame(
        {
            "totals": g.size(),
            "mean_scaled_error": g["scaled_error"].mean(),
            "mean_abs_error": g["error"].apply(lambda e: e.abs().mean()),
        }
    )
    has_sd = origins["sd"].notna() if "sd" in origins else pd.Series(False, index=origins.index)
    inside80 = (origins["y"] - origins["mean"]).abs() <= Z80 * origins["sd"]
    inside95 = (origins["y"] - origins["mean"]).abs() <= Z95 * origins["sd"]
    cov = origins.assign(i80=inside80.where(has_sd), i95=inside95.where(has_sd)).groupby(["unique_id", "method"])
    out["coverage_80"] = cov["i80"].mean()
    out["coverage_95"] = cov["i95"].mean()
    return out.reset_index()


def select_variants(study: MixedStudyConfig, scores: pd.DataFrame, min_totals: int = 2) -> dict[str, str]:
    """Per target: the variant with the lowest mean scaled error on the origins, the default
    approach when fewer than ``min_totals`` totals were scored."""
    chosen = {}
    for uid in study.targets:
        names = {v.name for v in study_variants(study, uid)}
        rows = scores[(scores["unique_id"] == uid) & scores["method"].isin(names) & (scores["totals"] >= min_totals)]
        chosen[uid] = (
            rows.sort_values(["mean_scaled_error", "method"]).iloc[0]["method"] if len(rows) else study.default_approach
        )
    return chosen


def select_estimators(study: MixedStudyConfig, disaggregation: pd.DataFrame) -> dict[str, str]:
    """Per target: the variant that rebuilt the validation block of its profile series best (the
    hidden months are only scored, never chosen on), which then makes the ``estimate`` months; the
    default approach when no variant was validated."""
    chosen = {}
    for uid in study.targets:
        names = {v.name for v in study_variants(study, uid)}
        rows = disaggregation[
            (disaggregation["unique_id"] == uid)
            & disaggregation["method"].isin(names)
            & disaggregation["validation_mase"].notna()
        ]
        chosen[uid] = (
            rows.sort_values(["validation_mase", "method"]).iloc[0]["method"] if len(rows) else study.default_approach
        )
    return chosen


def hidden_factors(
    data: MixedData, study: MixedStudyConfig, hidden: pd.DataFrame, estimators: dict[str, str]
) -> dict[str, float]:
    """Per target: the conformal factor of the estimator's rebuilt hidden months (|error| / sd)."""
    ev = study.evidence
    out = {}
    for uid, name in estimators.items():
        part = hidden[(hidden["unique_id"] == uid) & (hidden["method"] == name)]
        part = part[
            (part.index >= pd.Timestamp(f"{ev.hide_first}-01")) & (part.index <= pd.Timestamp(f"{ev.hide_last}-01"))
        ]
        months = data.windows[uid]
        real = pd.Series(
            months.loc[months["months"] == 1, "value"].to_numpy(),
            index=pd.DatetimeIndex(months.loc[months["months"] == 1, "start"]),
        )
        ratios = ((part["mean"] - real.reindex(part.index)).abs() / part["sd"]).to_numpy()
        out[uid] = conformal_factor(ratios)
    return out


def conformal_factor(ratios: np.ndarray, min_points: int = 3) -> float:
    """Factor on the sd that would have put 80% of the errors inside the 80% interval (>= 1)."""
    ratios = np.asarray(ratios, dtype=float)
    ratios = ratios[np.isfinite(ratios)]
    if len(ratios) < min_points:
        return 1.0
    n = len(ratios)
    # finite-sample conformal rank: ceil((n + 1) * 0.8)-th smallest, capped at the largest
    k = min(int(np.ceil((n + 1) * 0.8)), n)
    return max(1.0, float(np.sort(ratios)[k - 1]) / Z80)


def calibration(origins: pd.DataFrame, selected: dict[str, str]) -> tuple[pd.DataFrame, float]:
    """Coverage of the selected variants' intervals per origin, raw and with the conformal factor
    of the origins before it (so no origin is calibrated on its own errors); and the factor from
    every origin, for the published intervals."""
    rows = origins[[selected.get(u) == m for u, m in zip(origins["unique_id"], origins["method"])]].copy()
    rows["ratio"] = rows["error"].abs() / rows["sd"]
    table = []
    for year in sorted(rows["origin"].unique()):
        part = rows[rows["origin"] == year]
        factor = conformal_factor(rows.loc[rows["origin"] < year, "ratio"].to_numpy())
        for _, r in part.iterrows():
            table.append(
                {
                    "origin": int(year),
                    "unique_id": r["unique_id"],
                    "label": r["label"],
                    "y": r["y"],
                    "mean": r["mean"],
                    "sd": r["sd"],
                    "factor": factor,
                    "inside_80": r["ratio"] <= Z80,
                    "inside_95": r["ratio"] <= Z95,
                    "inside_80_calibrated": r["ratio"] <= Z80 * factor,
                    "inside_95_calibrated": r["ratio"] <= Z95 * factor,
                }
            )
    return pd.DataFrame(table), conformal_factor(rows["ratio"].to_numpy())
