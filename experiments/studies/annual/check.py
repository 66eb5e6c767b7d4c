"""The check year: each model's backtest projection of ``check_year`` against the published figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.studies.annual.backtest import PRIMARY_MODE
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.data import AnnualData
from features.annual import OfficialSeries
from features.snapshot import Snapshot
from forecast.backtest.engine import BacktestResult


def backtest_check(
    study: AnnualStudyConfig, data: AnnualData, result: BacktestResult, selection: pd.DataFrame, snapshot: Snapshot
) -> tuple[pd.DataFrame, str]:
    """Every model refitted with data through ``check_year - 1`` (the backtest fold there), its
    ``check_year`` projection and 80% interval against the published figure and the H1 figure."""
    year, target = study.check_year, study.targets[0]
    if year is None:
        return pd.DataFrame(), ""
    cutoff, ds = pd.Timestamp(f"{year - 1}-01-01"), pd.Timestamp(f"{year}-01-01")
    frames = [result.forecasts.assign(exog_mode=PRIMARY_MODE)]
    if result.exog_views is not None:
        frames.append(result.exog_views)
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[(rows["unique_id"] == target) & (rows["cutoff"] == cutoff) & (rows["ds"] == ds)].copy()
    rows["inside_80"] = (rows["lo_80"] <= rows["y"]) & (rows["y"] <= rows["hi_80"])
    rows["inside_95"] = (rows["lo_95"] <= rows["y"]) & (rows["y"] <= rows["hi_95"])
    rows["error"] = rows["mean"] - rows["y"]
    rows["upper_bound"] = rows["exog_mode"] == "oracle"
    table = rows[
        [
            "model",
            "exog_mode",
            "upper_bound",
            "mean",
            "lo_80",
            "hi_80",
            "lo_95",
            "hi_95",
            "y",
            "error",
            "inside_80",
            "inside_95",
        ]
    ].sort_values(["upper_bound", "model"], ignore_index=True)
    return table, _check_note(study, data, table, selection, snapshot, year, target)


def _half_year(data: AnnualData, snapshot: Snapshot, target: str, year: int) -> tuple[float, str] | None:
    spec = data.catalog.spec(target)
    if not isinstance(spec, OfficialSeries):
        return None
    rows = snapshot.digital_annual
    rows = rows[
        (rows["frequency"] == "H")
        & (rows["period"] == f"{year}H1")
        & (rows["item"] == spec.item)
        & (rows["flow"] == spec.flow)
    ]
    if rows.empty:
        return None
    best = data.catalog.choose(rows).iloc[0]
    return float(best["value"]), str(best["source_id"])


def _oku(v: float) -> str:
    return "—" if pd.isna(v) else f"{v:,.0f}"


def _check_note(study, data, table, selection, snapshot, year, target) -> str:
    prov = data.provenance[
        (data.provenance["unique_id"] == target) & (data.provenance["ds"] == pd.Timestamp(f"{year}-01-01"))
    ]
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
        lines.append(
            f"Published {year} H1 (Jan-Jun): {_oku(h1)} ({h1_source}), {h1 / published:.0%} of the "
            f"published year; 2 × H1 = {_oku(2 * h1)} (a run rate for comparison, not a published figure)."
        )
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
        lines.append(
            f"| {r.model} | {mode} | {_oku(r.mean)} | [{_oku(r.lo_80)}, {_oku(r.hi_80)}] | "
            f"[{_oku(r.lo_95)}, {_oku(r.hi_95)}] | {_oku(r.error)} | {'yes' if r.inside_80 else 'no'} |"
        )
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
