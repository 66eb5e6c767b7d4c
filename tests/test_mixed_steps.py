"""The mixed-frequency study's steps one at a time (experiments/studies/mixed/study.py), on the
shipped study with fewer indicators and origins and the bundled snapshot (no MLflow, no files).

``_evidence``, ``_select`` and ``_paths`` run once, in order, on one module-scoped context; each
test reads what one step put on it (a step re-run with other settings runs on a shallow copy).
``_publish`` (MLflow run, registered pyfunc model, CSV and report) is left to the end-to-end tests
(tests/test_mixed_e2e.py).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.config import load_config
from experiments.scenarios import BASELINE
from experiments.studies.mixed import study as mixed
from experiments.studies.mixed.data import KNOWN_AFTER_DAYS, prepare_mixed
from experiments.studies.mixed.variants import study_variants
from features.series import load_catalog
from features.snapshot import load_snapshot
from forecast.backtest.executors import JoblibExecutor
from forecast.temporal.base import Z80

pytestmark = pytest.mark.usefixtures("one_blas_thread")

ROOT = Path(__file__).resolve().parents[1]
BAL, REC, PAY = "digital_mof3.balance", "digital_mof3.receipts", "digital_mof3.payments"
ORIGINS = [2015, 2022, 2023, 2024]
BENCHMARKS = {"naive", "drift"}


def _study(config, **evidence):
    study = config.mixed_frequency_studies[0]
    return study.model_copy(
        update={
            "indicators": ["usdjpy"],  # the services total would add two variants (~2 s)
            "evidence": study.evidence.model_copy(update={"origins": ORIGINS, **evidence}),
        }
    )


def _run(config, snapshot, study) -> mixed.MixedRun:
    data = prepare_mixed(snapshot, load_catalog(config.series_catalog), study)
    return mixed.MixedRun(study, config, snapshot, None, "", {}, data=data, executor=JoblibExecutor(1))


@pytest.fixture(scope="module")
def inputs(one_blas_thread):
    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    return config, load_snapshot()


@pytest.fixture(scope="module")
def stepped(inputs):
    """``_evidence``, ``_select`` and ``_paths`` run once, in order, on one context."""
    config, snapshot = inputs
    study = _study(config)
    assert study.approaches == ["state_space", "chow_lin"] and study.identity is not None
    run = _run(config, snapshot, study)
    for step in mixed.STEPS:
        if step is mixed._publish:
            break
        step(run)
    return run


def _variants(study, uid) -> set[str]:
    return {v.name for v in study_variants(study, uid)}


def _window_end(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [s + pd.DateOffset(months=int(m) - 1) for s, m in zip(frame["start"], frame["months"])], index=frame.index
    )


# ---- _evidence -------------------------------------------------------------------------------------


def test_evidence_rebuilds_every_hidden_month_with_every_variant(stepped):
    run = stepped
    ev = run.study.evidence
    months = pd.date_range(f"{ev.hide_first}-01", f"{ev.hide_last}-01", freq="MS")
    hidden = run.hidden[run.hidden.index.isin(months)]
    for uid in run.study.targets:
        part = hidden[hidden["unique_id"] == uid]
        assert set(part["method"]) == _variants(run.study, uid), uid
        for method, rows in part.groupby("method"):
            assert list(rows.index) == list(months), (uid, method)
            # sd >= 0, not > 0: for payments, state_space gives 2014-07..2014-12 a negative smoothed
            # variance, which forecast/temporal/base.py clips to an sd of 0 (a numerical problem)
            assert np.isfinite(rows["mean"]).all() and (rows["sd"] >= 0).all(), (uid, method)
            assert (rows["sd"] > 0).mean() > 0.8, (uid, method)
    # the estimator is chosen on a validation block of the profile series: one score per variant
    validation = run.hidden.attrs["validation"]
    pairs = {(u, m) for u in run.study.targets for m in _variants(run.study, u)}
    assert set(zip(validation["unique_id"], validation["method"])) == pairs
    assert np.isfinite(validation["validation_mase"]).all()


def test_evidence_scores_each_origin_on_the_totals_of_the_next_year_only(stepped):
    run = stepped
    origins = run.origins
    assert set(origins["origin"]) <= set(ORIGINS)
    nxt = pd.to_datetime(origins["origin"].astype(str) + "-01-01") + pd.DateOffset(years=1)
    assert (origins["start"] >= nxt).all()
    assert (_window_end(origins) <= nxt + pd.DateOffset(months=11)).all()
    # each row is scored on a published total of that year, as published now
    for uid, rows in origins.groupby("unique_id"):
        totals = run.data.totals(uid).set_index(["start", "months"])["value"]
        expected = [totals[(s, int(m))] for s, m in zip(rows["start"], rows["months"])]
        np.testing.assert_array_equal(rows["y"].to_numpy(), expected)
        assert set(rows["method"]) == _variants(run.study, uid) | BENCHMARKS, uid
    np.testing.assert_allclose(origins["error"], origins["mean"] - origins["y"])
    assert (origins["scaled_error"] >= 0).all()
    # an origin is scored only when the next year has a published total: none for the flows in 2024/2025
    for uid in (REC, PAY):
        assert set(origins.loc[origins["unique_id"] == uid, "origin"]) == {2015, 2022}, uid
    assert set(origins.loc[origins["unique_id"] == BAL, "origin"]) == set(ORIGINS)


def test_evidence_benchmarks_use_the_figure_as_first_published(stepped):
    """2022's balance was first published as -47,000 (Feb 2023) and revised to -48,000 in 2024: the
    naive forecast from origin 2022 is the figure known then (and from 2024, -66,506 of Feb 2025)."""
    run = stepped
    origins = run.origins
    naive = origins[(origins["unique_id"] == BAL) & (origins["method"] == "naive") & (origins["kind"] == "A")]
    naive = naive.set_index("origin")["mean"]
    assert naive[2022] == -47000.0 and naive[2024] == -66506.0
    now = run.data.totals(BAL)
    now = now[now["kind"] == "A"].set_index("label")["value"]
    assert now["2022"] == -48000.0  # revised since: a naive forecast from today's figures would differ


def test_evidence_origins_do_not_see_what_was_published_after_them(inputs, stepped):
    """Every figure and indicator value published after origin 2023's cutoff (end of March 2024) is
    multiplied by 10: origin 2023's forecasts stay the same, only what they are scored on moves."""
    config, snapshot = inputs
    as_of = pd.Timestamp("2024-03-31")
    annual = snapshot.digital_annual
    late = pd.to_datetime(annual["vintage"]) > as_of
    fx, services = snapshot.usdjpy, snapshot.services_total
    fx_known = fx["ds"] + pd.offsets.MonthEnd(0) + pd.Timedelta(days=KNOWN_AFTER_DAYS["usdjpy"])
    services_known = services["ds"] + pd.offsets.MonthEnd(0) + pd.Timedelta(days=KNOWN_AFTER_DAYS["services_total"])
    changed = dataclasses.replace(
        snapshot,
        digital_annual=annual.assign(value=annual["value"].where(~late, annual["value"] * 10)),
        usdjpy=fx.assign(value=fx["value"].where(fx_known <= as_of, fx["value"] * 10)),
        services_total=services.assign(value=services["value"].where(services_known <= as_of, services["value"] * 10)),
    )
    study = _study(config, origins=[2023])
    run = _run(config, changed, study)
    mixed._evidence(run)
    key = ["unique_id", "method", "origin", "label"]
    before = stepped.origins[stepped.origins["origin"] == 2023].set_index(key).sort_index()
    after = run.origins.set_index(key).sort_index()
    assert list(after.index) == list(before.index) and len(after)
    np.testing.assert_allclose(after["mean"], before["mean"], rtol=1e-9)
    np.testing.assert_allclose(after["sd"].dropna(), before["sd"].dropna(), rtol=1e-9)
    np.testing.assert_allclose(after["y"], 10 * before["y"])  # the scored 2024 totals did move


def test_evidence_adds_the_annual_studys_forecasts_at_the_same_origins(stepped, monkeypatch):
    run = copy.copy(stepped)
    own = stepped.origins
    monkeypatch.setattr(mixed, "run_evidence", lambda data, study, executor: (stepped.hidden, own))

    def row(model, cutoff, y, mean=-56000.0, half=2000.0):
        ds = pd.Timestamp(f"{cutoff + 1}-01-01")
        return {
            "unique_id": BAL,
            "model": model,
            "cutoff": pd.Timestamp(f"{cutoff}-01-01"),
            "ds": ds,
            "h": 1,
            "y": y,
            "mean": mean,
            "lo_80": mean - half,
            "hi_80": mean + half,
        }

    forecasts = pd.DataFrame(
        [
            row("usd_trend", 2022, -55360.0),
            row("usd_trend", 2023, np.nan),  # not published: not scored
            row("trend_fx", 2022, -55360.0),  # not the annual champion
            row("usd_trend", 2019, -30000.0),  # not an origin of this study
        ]
    )
    run.annual = (forecasts, {BAL: "usd_trend"})
    mixed._evidence(run)
    added = run.origins.iloc[len(own) :]
    pd.testing.assert_frame_equal(run.origins.iloc[: len(own)], own)
    assert len(added) == 1
    got = added.iloc[0]
    assert (got["method"], got["origin"], got["label"], got["kind"], got["months"]) == (
        "annual_study:usd_trend",
        2022,
        "2023",
        "A",
        12,
    )
    assert got["error"] == pytest.approx(-56000.0 + 55360.0)
    assert got["sd"] == pytest.approx(4000.0 / (2 * Z80)) and got["scaled_error"] > 0


# ---- _select ---------------------------------------------------------------------------------------


def test_select_picks_per_target_the_variant_that_forecast_best_from_the_origins(stepped):
    out = stepped.outcome
    scores = out.scores
    assert set(out.selected) == set(stepped.study.targets)
    for uid, name in out.selected.items():
        assert name in _variants(stepped.study, uid) and name not in BENCHMARKS
        assert name in set(stepped.origins.loc[stepped.origins["unique_id"] == uid, "method"])
        mine = scores[(scores["unique_id"] == uid) & scores["method"].isin(_variants(stepped.study, uid))]
        best = mine.sort_values(["mean_scaled_error", "method"]).iloc[0]["method"]
        assert name == best, uid
    # the scores are the origins' own: every method of each target, every row counted
    counts = stepped.origins.groupby(["unique_id", "method"]).size()
    assert dict(zip(zip(scores["unique_id"], scores["method"]), scores["totals"])) == counts.to_dict()


def test_select_picks_the_estimator_on_the_validation_block_not_the_hidden_months(stepped):
    out = stepped.outcome
    table = out.disaggregation
    for uid, name in out.estimators.items():
        mine = table[(table["unique_id"] == uid) & table["method"].isin(_variants(stepped.study, uid))]
        assert set(mine["method"]) == _variants(stepped.study, uid)
        assert name == mine.sort_values(["validation_mase", "method"]).iloc[0]["method"], uid
        # the flat and profile splits are scored beside, on the same 36 hidden months
        assert {"flat_split", "profile_split"} <= set(table.loc[table["unique_id"] == uid, "method"])
    assert table["months"].eq(36).all() and (table["mase"] > 0).all()


def test_chosen_estimators_beat_the_flat_split_and_receipts_the_profile_split_too(stepped):
    """The bundled figures' evidence (docs/mixed-frequency.md, "Hidden months"): every chosen
    estimator rebuilds the hidden months better than a flat split, and receipts' better than the
    seasonal-profile split as well (the balance and payments do not: their profile series lacks
    consulting's season)."""
    out = stepped.outcome
    mase = out.disaggregation.set_index(["unique_id", "method"])["mase"]
    for uid, name in out.estimators.items():
        assert mase[(uid, name)] < mase[(uid, "flat_split")], uid
    assert mase[(REC, out.estimators[REC])] < mase[(REC, "profile_split")]


def test_select_calibrates_the_intervals_on_the_origins_errors(stepped):
    out = stepped.outcome
    assert np.isfinite(out.factor) and 1.0 <= out.factor < 20
    chosen = stepped.origins[
        [out.selected.get(u) == m for u, m in zip(stepped.origins["unique_id"], stepped.origins["method"])]
    ]
    ratio = chosen["error"].abs() / chosen["sd"]
    assert (ratio <= Z80 * out.factor + 1e-9).mean() >= 0.8  # the widened 80% intervals cover 80%
    # each origin is calibrated only on the origins before it: the first has nothing to go on
    coverage = out.coverage
    assert set(coverage["origin"]) == set(chosen["origin"])
    assert coverage.loc[coverage["origin"] == min(ORIGINS), "factor"].eq(1.0).all()
    assert (coverage["factor"] >= 1.0).all()
    assert set(out.estimate_factors) == set(stepped.study.targets)
    assert all(np.isfinite(f) and 1.0 <= f < 20 for f in out.estimate_factors.values())


def test_select_without_calibration_keeps_the_models_intervals(stepped):
    run = copy.copy(stepped)
    run.study = stepped.study.model_copy(
        update={"evidence": stepped.study.evidence.model_copy(update={"calibrate": False})}
    )
    mixed._select(run)
    assert run.outcome.factor == 1.0 and run.outcome.estimate_factors == {}
    assert run.outcome.selected == stepped.outcome.selected  # the choice does not depend on it
    assert stepped.outcome.factor > 1.0  # the shipped setting did widen them


# ---- _paths ----------------------------------------------------------------------------------------


def test_paths_reproduce_every_published_total(stepped):
    """Recomputed from the study's figures, independently of its own totals check."""
    out, data = stepped.outcome, stepped.data
    assert out.totals_check["within_rounding"].all() and len(out.totals_check)
    base = out.paths[out.paths["scenario"] == BASELINE]
    checked = 0
    for uid in stepped.study.targets:
        path = base[base["unique_id"] == uid].set_index("ds")["yhat"]
        windows = data.windows[uid]
        for _, w in windows[windows["months"] > 1].iterrows():
            months = pd.date_range(w["start"], periods=int(w["months"]), freq="MS")
            assert path.reindex(months).notna().all()
            half_step = w["sd"] * np.sqrt(12) / 2
            assert abs(path.reindex(months).sum() - w["value"]) <= max(half_step, 0.5), (uid, w["label"])
            checked += 1
    assert checked == len(out.totals_check) == 10  # 2022-2025 balance (A, H, FY, FH, YTD), 2023 flows


def test_paths_satisfy_the_identity_in_every_scenario(stepped):
    paths = stepped.outcome.paths
    assert set(paths["scenario"]) == set(stepped.data.scenarios)
    for scenario, rows in paths.groupby("scenario"):
        wide = rows[rows["kind"] != "published"].pivot(index="ds", columns="unique_id", values="yhat")
        gap = wide[BAL] - (wide[REC] - wide[PAY])
        assert len(gap) and gap.abs().max() < 1e-6, scenario


def test_paths_run_from_the_figures_through_estimates_to_forecasts(stepped):
    out, study = stepped.outcome, stepped.study
    assert out.last_figure == pd.Timestamp("2025-12-01")
    base = out.paths[out.paths["scenario"] == BASELINE]
    for uid in study.targets:
        rows = base[base["unique_id"] == uid].set_index("ds")
        assert rows.index.is_monotonic_increasing and rows.index.max() == study.end
        kinds = rows["kind"]
        assert kinds[kinds == "forecast"].index.min() == out.last_figure + pd.DateOffset(months=1)
        assert (kinds[: out.last_figure] != "forecast").all() and (
            kinds[out.last_figure :].iloc[1:] == "forecast"
        ).all()
        # who made each month: the figure, the estimator (hidden months) or the forecaster (origins)
        assert set(rows.loc[kinds == "published", "model"]) == {""}
        assert set(rows.loc[kinds == "estimate", "model"]) == {out.estimators[uid]}
        assert set(rows.loc[kinds == "forecast", "model"]) == {out.selected[uid]}
        free = rows[kinds != "published"]
        assert (free["yhat_lo_95"] < free["yhat_lo_80"]).all() and (free["yhat_hi_80"] < free["yhat_hi_95"]).all()


def test_paths_scenarios_change_forecast_months_only(stepped):
    paths = stepped.outcome.paths.set_index(["scenario", "unique_id", "ds"])
    base = paths.xs(BASELINE)
    past = base["kind"] != "forecast"
    for scenario in stepped.data.scenarios:
        other = paths.xs(scenario)
        np.testing.assert_array_equal(other.loc[past, "yhat"], base.loc[past, "yhat"])
    weak = paths.xs("yen_weak")
    np.testing.assert_allclose(weak.loc[~past, "yhat"], 1.15 * base.loc[~past, "yhat"])
    assert len(stepped.outcome.levers)
