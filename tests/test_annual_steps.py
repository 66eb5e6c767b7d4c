"""The annual study's steps one at a time (experiments/studies/annual/study.py), on the shipped
annual study with fewer candidate models and the bundled snapshot (no MLflow, no files).

The steps run once, in order, on one module-scoped context; each test reads what one step put on
it (a step re-run with other settings runs on a shallow copy of the context). ``_publish`` (MLflow
run, registered pyfunc model, CSV and report) is left to the end-to-end tests
(tests/test_annual_e2e.py, tests/test_annual_report.py).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.config import load_config
from experiments.scenarios import BASELINE
from experiments.studies.annual import study as annual
from experiments.studies.annual.data import COLUMN, prepare_annual
from features.series import load_catalog
from features.snapshot import load_snapshot

pytestmark = pytest.mark.usefixtures("one_blas_thread")

ROOT = Path(__file__).resolve().parents[1]
BAL, REC, PAY = "digital_mof3.balance", "digital_mof3.receipts", "digital_mof3.payments"
# A benchmark that is not a candidate, two FX models and the adoption model (oracle-only evidence);
# prophet_fx and the rest are left out to keep the backtest at ~2 s.
MODELS = ("random_walk", "trend_fx", "usd_trend", "usd_trend_ai")
CANDIDATES = ["usd_trend", "trend_fx", "usd_trend_ai"]


@pytest.fixture(scope="module")
def study_inputs(one_blas_thread):
    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    study = config.annual_studies[0]
    study = study.model_copy(
        update={
            "models": [m for m in study.models if m.name in MODELS],
            "selection": study.selection.model_copy(update={"candidates": CANDIDATES}),
        }
    )
    assert study.selection.fallback in CANDIDATES and set(study.selection.sensitivity) <= set(MODELS)
    assert study.reconcile is not None and study.check_year == 2025
    snapshot = load_snapshot()
    data = prepare_annual(snapshot, load_catalog(config.series_catalog), study)
    return config, snapshot, study, data


@pytest.fixture(scope="module")
def stepped(study_inputs):
    """Every step but ``_publish`` run once, in order; with the projections before ``_reconcile``
    and the progress calls of ``_backtest``."""
    config, snapshot, study, data = study_inputs
    calls = []
    run = annual.AnnualRun(study, config, snapshot, None, "", {}, data=data, progress=lambda *a: calls.append(a))
    seen = {"progress": calls}
    for step in annual.STEPS:
        if step is annual._publish:
            break
        if step is annual._reconcile:
            seen["unreconciled"] = run.projections.copy()
        step(run)
    return run, seen


def _observed(data) -> pd.DataFrame:
    rows = data.panel.loc[data.panel["y"].notna(), ["unique_id", "ds"]]
    return rows.rename(columns={"ds": "cutoff"}).astype({"cutoff": "datetime64[us]"})


def _years(frame: pd.DataFrame, column: str = "ds") -> set[int]:
    return set(frame[column].dt.year)


# ---- _backtest -------------------------------------------------------------------------------------


def test_backtest_cuts_only_at_years_with_a_figure(stepped):
    run, _ = stepped
    observed = _observed(run.data)
    for frame in (run.result.forecasts, run.result.exog_views):
        assert len(frame)
        cut = frame[["unique_id", "cutoff"]].drop_duplicates()
        found = cut.merge(observed, on=["unique_id", "cutoff"], how="left", indicator=True)
        assert found["_merge"].eq("both").all(), found[found["_merge"] != "both"]
    # the 3-item balance is not held for 2017-2021: no fold is cut there, the published years are
    balance = run.result.forecasts[run.result.forecasts["unique_id"] == BAL]
    assert not _years(balance, "cutoff") & set(range(2017, 2022))
    assert {2022, 2023, 2024} <= _years(balance, "cutoff")


def test_backtest_scores_each_fold_at_its_horizon_and_within_the_origin_budget(stepped):
    run, _ = stepped
    bt = run.study.backtest
    f = run.result.forecasts
    assert (f["ds"].dt.year == f["cutoff"].dt.year + f["h"]).all() and f["ds"].dt.day_of_year.eq(1).all()
    main = f["unique_id"].isin(run.study.targets)
    assert f.loc[main, "h"].max() == bt.horizon and f.loc[~main, "h"].max() == bt.supporting_horizon
    origins = f.groupby(["unique_id", "model"])["cutoff"].nunique()
    assert origins[list(run.study.targets)].max() <= bt.n_origins
    assert origins[list(run.study.supporting_targets)].max() <= bt.supporting_n_origins
    assert origins[list(run.study.supporting_targets)].eq(bt.supporting_n_origins).all()


def test_backtest_keeps_the_oracle_rows_apart_from_the_forecast_mode_rows(stepped):
    run, _ = stepped
    forecasts, views = run.result.forecasts, run.result.exog_views
    assert "exog_mode" not in forecasts.columns or forecasts["exog_mode"].eq(annual.PRIMARY_MODE).all()
    assert set(views["exog_mode"]) == {"oracle"}
    with_drivers = {m.name for m in run.study.models if m.drivers}
    assert set(views["model"]) == with_drivers  # a model without drivers has no oracle variant
    # AI adoption was first published after every origin: its model has oracle evidence only
    assert "usd_trend_ai" not in set(forecasts["model"]) and "usd_trend_ai" in set(views["model"])
    # the same folds with realised rather than forecast USD/JPY: other projections
    key = ["unique_id", "model", "cutoff", "h"]
    both = forecasts.merge(views, on=key, suffixes=("", "_oracle"))
    assert len(both) and set(both["model"]) == {"trend_fx", "usd_trend"}
    np.testing.assert_array_equal(both["y"], both["y_oracle"])
    assert (both["mean"] - both["mean_oracle"]).abs().max() > 1.0


def test_backtest_reports_progress_per_group_of_models(stepped):
    run, seen = stepped
    groups = {tuple(m.drivers) for m in run.study.models}
    total = 2 * len(groups)  # main targets and supporting series
    assert seen["progress"] == [(run.study.name, done, total) for done in range(1, total + 1)]


# ---- _select ---------------------------------------------------------------------------------------


def test_select_counts_the_scored_origins_of_every_series(stepped):
    run, _ = stepped
    study = run.study
    ev = run.evidence.set_index("unique_id")
    assert list(ev.index) == [*study.targets, *study.supporting_targets]
    assert set(ev.loc[list(study.targets), "role"]) == {"target"}
    assert set(ev.loc[list(study.supporting_targets), "role"]) == {"supporting"}
    scored = run.result.forecasts.dropna(subset=["y"])
    expected = scored.groupby(["unique_id", "model"])["cutoff"].nunique().groupby("unique_id").max()
    for uid in ev.index:
        assert ev.loc[uid, "scored_origins"] == expected.get(uid, 0), uid
    # receipts and payments have no published year after a cutoff year with a figure
    assert ev.loc[REC, "scored_origins"] == ev.loc[PAY, "scored_origins"] == 0
    assert ev.loc[BAL, "first_year"] == 2014 and ev.loc[BAL, "missing_years"] == 5


def test_select_takes_the_best_candidate_with_enough_origins_else_the_fallback(stepped):
    run, _ = stepped
    sel = run.study.selection
    chosen = run.selection.set_index("unique_id")
    ev = run.evidence.set_index("unique_id")
    assert list(chosen.index) == list(ev.index)
    for uid, row in chosen.iterrows():
        if ev.loc[uid, "scored_origins"] >= sel.min_origins:
            board = run.board[
                (run.board["unique_id"] == uid) & run.board["model"].isin(sel.candidates) & run.board["comparable"]
            ]
            best = board.sort_values("rank").iloc[0]
            assert (row["model"], row["basis"]) == (best["model"], "backtest"), uid
            assert row["reason"] == f"best candidate by mase on {int(best['n_origins'])} origins"
        else:
            assert (row["model"], row["basis"]) == (sel.fallback, "fallback"), uid
            assert row["reason"].startswith(f"{ev.loc[uid, 'scored_origins']} scored origin(s) < {sel.min_origins}:")
    assert set(chosen["basis"]) == {"backtest", "fallback"}  # both branches are exercised here
    # a benchmark that ranks first is still never selected: it is not a candidate
    first = run.board[run.board["rank"] == 1].set_index("unique_id")["model"]
    assert (first == "random_walk").any() and set(chosen["model"]) <= set(sel.candidates)


def test_select_chooses_by_backtest_once_a_target_has_min_origins(stepped):
    run, _ = stepped
    relaxed = copy.copy(run)
    relaxed.study = run.study.model_copy(
        update={"selection": run.study.selection.model_copy(update={"min_origins": 3})}
    )
    annual._select(relaxed)
    chosen = relaxed.selection.set_index("unique_id")
    assert chosen.loc[BAL, "basis"] == "backtest" and chosen.loc[BAL, "reason"].endswith("on 3 origins")
    assert chosen.loc[REC, "basis"] == "fallback"  # still no scored origin
    assert run.selection.set_index("unique_id").loc[BAL, "basis"] == "fallback"  # the original is untouched


# ---- _fit and _project -----------------------------------------------------------------------------


def test_fit_refits_each_selected_model_through_its_series_last_figure(stepped):
    run, _ = stepped
    assert list(run.estimators) == list(run.selection["unique_id"])
    last = run.data.panel.dropna(subset=["y"]).groupby("unique_id")["ds"].max()
    for row in run.selection.itertuples(index=False):
        est = run.estimators[row.unique_id]
        assert est.cutoff_ == last[row.unique_id], row.unique_id
        drivers = [COLUMN[d] for d in run.study.spec(row.model).drivers]
        assert list(est.exog_columns_ or []) == drivers, row.unique_id


def test_project_runs_every_series_to_projection_end_under_every_scenario(stepped):
    run, seen = stepped
    projections = seen["unreconciled"]
    assert set(projections["scenario"]) == set(run.data.scenarios) and BASELINE in run.data.scenarios
    end = pd.Timestamp(f"{run.study.projection_end}-01-01")
    for (scenario, uid), rows in projections.groupby(["scenario", "unique_id"]):
        first = run.estimators[uid].cutoff_ + pd.DateOffset(years=1)
        expected = pd.date_range(first, end, freq="YS")
        assert list(rows["ds"]) == list(expected), (scenario, uid)
        assert rows["yhat"].notna().all()
        assert (rows["yhat_lo_95"] <= rows["yhat_lo_80"]).all() and (rows["yhat_lo_80"] <= rows["yhat"]).all()
        assert (rows["yhat"] <= rows["yhat_hi_80"]).all() and (rows["yhat_hi_80"] <= rows["yhat_hi_95"]).all()
    assert projections.groupby("scenario")["unique_id"].nunique().eq(len(run.estimators)).all()
    # what share levers act on: the baseline scenario's own projection
    base = projections[projections["scenario"] == BASELINE]
    assert set(run.baseline) == set(run.estimators)
    for uid, series in run.baseline.items():
        np.testing.assert_allclose(series.to_numpy(), base.loc[base["unique_id"] == uid, "yhat"].to_numpy())
    # the stored scenario paths (served as published) cover every projected year
    assert set(run.stored) == set(run.data.scenarios)
    years = {f"{ds:%Y-%m-%d}" for ds in projections["ds"]}
    assert years <= set(run.stored[BASELINE]["paths"]["usdjpy"])


def test_project_applies_each_scenarios_drivers(stepped):
    _, seen = stepped
    p = seen["unreconciled"].set_index(["scenario", "unique_id", "ds"])
    base, weak = p.xs(BASELINE), p.xs("yen_weak")
    np.testing.assert_allclose(weak["usdjpy_assumed"], 1.15 * base["usdjpy_assumed"])
    assert (weak["yhat"] != base["yhat"]).any()  # the FX models respond to the yen


# ---- _reconcile ------------------------------------------------------------------------------------


def _gap(projections: pd.DataFrame) -> pd.Series:
    wide = projections.pivot_table(index=["scenario", "ds"], columns="unique_id", values="yhat")
    return (wide[BAL] - (wide[REC] - wide[PAY])).dropna()


def test_reconcile_makes_balance_receipts_minus_payments_in_every_scenario(stepped):
    run, seen = stepped
    before, after = seen["unreconciled"], run.projections
    assert run.plan is not None and run.plan["series"] == [BAL, REC, PAY]
    assert _gap(before).abs().max() > 100  # the models' own projections do not add up
    gap = _gap(after)
    assert gap.abs().max() < 1e-6
    assert set(gap.index.get_level_values("scenario")) == set(run.data.scenarios)
    # every year all three are projected: from the year after the balance's last figure to the end
    assert set(gap.index.get_level_values("ds").year) == set(range(2026, run.study.projection_end + 1))
    # the models' own figures kept beside; years where only the flows are projected left alone
    np.testing.assert_array_equal(after["yhat_base"].to_numpy(), before["yhat"].to_numpy())
    early = (after["ds"] < pd.Timestamp("2026-01-01")).to_numpy()
    assert early.any()
    np.testing.assert_array_equal(after.loc[early, "yhat"].to_numpy(), before.loc[early, "yhat"].to_numpy())
    outside = ~after["unique_id"].isin([BAL, REC, PAY]).to_numpy()
    np.testing.assert_array_equal(after.loc[outside, "yhat"].to_numpy(), before.loc[outside, "yhat"].to_numpy())


def test_reconcile_labels_each_row_with_its_role_and_selected_model(stepped):
    run, _ = stepped
    p = run.projections
    assert list(p.columns[:5]) == ["role", "scenario", "unique_id", "model", "ds"]
    assert set(p["role"]) == {"selected"}
    chosen = dict(zip(run.selection["unique_id"], run.selection["model"]))
    assert (p["model"] == p["unique_id"].map(chosen)).all()


def test_reconcile_without_a_reconcile_block_keeps_the_models_figures(stepped):
    run, seen = stepped
    off = copy.copy(run)
    off.study = run.study.model_copy(update={"reconcile": None})
    off.projections = seen["unreconciled"].copy()
    annual._reconcile(off)
    assert off.plan is None and "yhat_base" not in off.projections.columns
    pd.testing.assert_frame_equal(off.projections.drop(columns=["role", "model"]), seen["unreconciled"])


# ---- _assess ---------------------------------------------------------------------------------------


def test_assess_checks_the_check_year_from_the_fold_before_it(stepped):
    run, _ = stepped
    out, year = run.outcome, run.study.check_year
    published = run.data.panel.set_index(["unique_id", "ds"]).loc[(BAL, pd.Timestamp(f"{year}-01-01")), "y"]
    check = out.check
    assert len(check) and check["y"].eq(published).all()
    np.testing.assert_allclose(check["error"], check["mean"] - check["y"])
    assert (check["upper_bound"] == (check["exog_mode"] == "oracle")).all()
    # one row per model and mode of the fold cut at check_year - 1
    fold = run.result.forecasts
    fold = fold[(fold["unique_id"] == BAL) & (fold["cutoff"] == pd.Timestamp(f"{year - 1}-01-01"))]
    assert set(check.loc[check["exog_mode"] == "forecast", "model"]) == set(fold["model"])
    assert set(check.loc[check["upper_bound"], "model"]) == {m.name for m in run.study.models if m.drivers}
    assert out.note.startswith(f"# {run.study.name}: refit with data through {year - 1}, projection of {year}\n")
    champion = run.selection.set_index("unique_id").loc[BAL, "model"]
    assert f"The registered model for this target is `{champion}`." in out.note
    for row in check.itertuples(index=False):
        assert f"| {row.model} | {row.exog_mode}" in out.note


def test_assess_gathers_the_scenario_effects_sensitivities_and_levers(stepped):
    run, _ = stepped
    out = run.outcome
    assert out.projections is run.projections and out.selection is run.selection and out.leaderboard is run.board
    assert out.forecasts is run.result.forecasts and out.seconds == 0.0 and out.version is None
    # each scenario's 2030 mean against the baseline's
    assert set(out.deltas.columns) == set(run.data.scenarios) - {BASELINE}
    end = run.projections[run.projections["ds"].dt.year == run.study.projection_end].set_index(
        ["scenario", "unique_id"]
    )
    expected = end.loc[("yen_weak", BAL), "yhat"] - end.loc[(BASELINE, BAL), "yhat"]
    assert out.deltas.loc[BAL, "yen_weak"] == pytest.approx(expected) and abs(expected) > 100
    # the sensitivity model projected for the main targets only, under every scenario
    sens = out.sensitivity
    assert set(sens["role"]) == {"sensitivity"} and set(sens["model"]) == set(run.study.selection.sensitivity)
    assert set(sens["unique_id"]) == set(run.study.targets) and set(sens["scenario"]) == set(run.data.scenarios)
    assert len(out.levers) and set(out.exog_board["exog_mode"]) == {"forecast", "oracle"}


def test_assess_without_a_check_year_leaves_the_check_empty(stepped):
    run, _ = stepped
    unchecked = copy.copy(run)
    unchecked.study = run.study.model_copy(
        update={"check_year": None, "selection": run.study.selection.model_copy(update={"sensitivity": []})}
    )
    annual._assess(unchecked)
    assert unchecked.outcome.check.empty and unchecked.outcome.note == ""
    assert unchecked.outcome.sensitivity.empty
    assert run.outcome.note  # the original context is untouched
