"""The monthly study's steps one at a time, on a small synthetic panel (no MLflow, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.config import StudyConfig
from experiments.studies.monthly import study as monthly
from features.errors import DeficitError
from features.snapshot import load_snapshot
from forecast.backtest.executors import JoblibExecutor

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _panel(n: int = 72) -> pd.DataFrame:
    index = pd.date_range("2010-01-01", periods=n, freq="MS")
    t = np.arange(n)
    season = np.sin(2 * np.pi * t / 12)
    rng = np.random.default_rng(4)
    seasonal = 100 + 20 * season + rng.normal(0, 1, n)  # seasonal naive wins here
    walk = 50 + np.cumsum(rng.normal(0, 3, n))  # naive wins here
    return pd.concat(
        [pd.DataFrame({"unique_id": uid, "ds": index, "y": y}) for uid, y in (("seasonal", seasonal), ("walk", walk))]
    )


def _run(panel: pd.DataFrame, **study) -> monthly.MonthlyRun:
    config = StudyConfig(
        name="s",
        registered_model="m",
        targets=sorted(panel["unique_id"].unique()),
        exog=[],
        models=["naive", "seasonal_naive"],
        backtest={"horizon": 6, "n_origins": 8},
        projection_horizon=6,
        **study,
    )
    data = monthly.StudyData(panel, {uid: "2026-01-01" for uid in config.targets})
    return monthly.MonthlyRun(config, None, load_snapshot(), None, "", {}, data=data, executor=JoblibExecutor(1))


def test_backtest_then_select_crowns_the_better_model_per_target():
    run = _run(_panel())
    monthly._backtest(run)
    monthly._select(run)
    assert run.champions == {"seasonal": "seasonal_naive", "walk": "naive"}
    assert run.recipe["walk"] == {"model": "naive", "params": {}}
    assert set(run.board["unique_id"]) == {"seasonal", "walk"} and run.board["n_origins"].eq(8).all()


def test_select_with_nothing_backtested_fails_in_one_line_naming_why():
    run = _run(_panel(n=5))  # too short for any origin (naive needs 3 months + the 6 of the horizon)
    monthly._backtest(run)
    with pytest.raises(DeficitError, match=r"^study s: no model could be backtested on any target \(series too short"):
        monthly._select(run)


def test_fit_and_project_start_after_each_targets_last_figure():
    panel = _panel()
    panel = panel[~((panel["unique_id"] == "walk") & (panel["ds"] > "2015-06-01"))]  # walk ends earlier
    run = _run(panel)
    for step in (monthly._backtest, monthly._select, monthly._fit, monthly._project):
        step(run)
    first = run.projections.groupby("unique_id")["ds"].min()
    assert first["seasonal"] == pd.Timestamp("2016-01-01") and first["walk"] == pd.Timestamp("2015-07-01")
    assert run.projections.groupby("unique_id").size().eq(6).all()
    assert set(run.projections["data_vintage"]) == {run.snapshot.vintage}
    assert dict(run.projections.groupby("unique_id")["model"].first()) == run.champions


def test_reconcile_is_a_no_op_without_a_reconcile_block():
    run = _run(_panel())
    for step in (monthly._backtest, monthly._select, monthly._fit, monthly._project):
        step(run)
    before = run.projections.copy()
    monthly._reconcile(run)
    assert run.plan is None and run.reconciliation is None
    pd.testing.assert_frame_equal(run.projections, before)


# ---- _gate and _describe ----------------------------------------------------------------------------


def test_gate_promotes_the_first_version_of_a_registered_model(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a real, empty store: nothing registered yet
    run = _run(_panel())
    run.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for step in (monthly._backtest, monthly._select, monthly._gate):
        step(run)
    assert run.previous is None
    assert (run.decision.promote, run.decision.forced) == (True, False)
    assert run.decision.reason == "first champion of this registered model"
    assert run.decision.tags()["gate_decision"] == "promoted"

    run.force_promote = True
    monthly._gate(run)
    assert (run.decision.promote, run.decision.forced, run.previous) == (True, True, None)
    assert run.decision.reason == "promotion forced with --force-promote"


def test_describe_gives_the_served_metadata_and_the_version_tags():
    import json
    from types import SimpleNamespace

    from experiments.scenarios import load_scenarios
    from experiments.tracking.promotion import RECIPE_TAG

    run = _run(_panel())
    run.config = SimpleNamespace(scenarios_dir=None)  # the scenarios shipped with the package
    run.lineage = {"data_vintage": "2026-01-01", "study_fingerprint": "abc"}
    for step in (monthly._backtest, monthly._select, monthly._fit, monthly._project, monthly._reconcile):
        step(run)
    monthly._describe(run)
    meta, tags = run.meta, run.version_tags
    assert (meta["study"], meta["metric"], meta["data_vintage"], meta["study_fingerprint"]) == (
        "s",
        "mase",
        "2026-01-01",
        "abc",
    )
    assert meta["recipe"] == run.recipe and "reconciliation" not in meta  # no reconcile block
    assert set(meta["scenarios"]) == set(load_scenarios(None))
    first = run.projections.groupby("unique_id")["ds"].min()
    for uid, target in meta["targets"].items():
        assert target["model"] == run.champions[uid] and target["source_vintage"] == "2026-01-01"
        assert target["first_forecast"] == f"{first[uid]:%Y-%m-%d}"
        assert target["last_observed"] == f"{run.estimators[uid].cutoff_:%Y-%m-%d}"
    assert set(meta["targets"]) == set(run.champions)
    # the version's tags: lineage, the recipe to re-score it by, each champion's backtest score
    assert json.loads(tags[RECIPE_TAG]) == run.recipe and tags["data_vintage"] == "2026-01-01"
    best = run.board[run.board["rank"] == 1].set_index("unique_id")["mase"]
    for uid in run.champions:
        assert float(tags[f"backtest_mase.{uid}"]) == pytest.approx(best[uid], rel=1e-5)
    assert float(tags["backtest_mase_mean"]) == pytest.approx(best.mean(), rel=1e-5)
