"""The monthly study's reconciliation: the leakage-free backtest comparison
(forecast/backtest/reconciled.py), the published projections and what the pyfunc model serves
(experiments/studies/monthly/reconcile.py), and the ``reconcile:`` config check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.config import StudyConfig, load_config
from experiments.scenarios import Scenario
from experiments.studies.monthly.projection import project
from experiments.studies.monthly.reconcile import (
    BASE_COLUMN,
    backtest_comparison,
    identities_of,
    reconcile_projections,
    reconciliation_plan,
    serve,
)
from features.errors import ConfigError
from features.exog import usdjpy_monthly
from features.series import build_panel, load_catalog
from features.snapshot import load_snapshot
from forecast.backtest.engine import BacktestSettings, cross_validate
from forecast.backtest.leaderboard import best_models
from forecast.backtest.reconciled import reconciled_forecasts
from forecast.models.registry import make_model
from forecast.reconciliation import Identity, max_violation

ROOT = Path(__file__).resolve().parents[1]
BAL, REC, PAY = "digital_proxy.balance", "digital_proxy.receipts", "digital_proxy.payments"
CR, TCI = "copyright_royalties.balance", "telecom_computer_information.balance"
IDENTITIES = [
    {"lhs": BAL, "plus": [REC], "minus": [PAY]},
    {"lhs": BAL, "plus": [CR, TCI]},
]
MODELS = ("naive", "seasonal_naive", "drift")


def backtest(panel: pd.DataFrame, horizon: int = 6, n_origins: int = 12):
    models = {name: make_model(name, 12) for name in MODELS}
    return cross_validate(panel, models, BacktestSettings(horizon=horizon, n_origins=n_origins), exog_columns=[])


@pytest.fixture(scope="module")
def monthly():
    """The five constrained series of the bundled snapshot, backtested with fast models."""
    snapshot = load_snapshot()
    panel = build_panel(snapshot, load_catalog(ROOT / "configs" / "series.yaml"), [BAL, REC, PAY, CR, TCI])
    study = StudyConfig(
        name="s",
        registered_model="s",
        targets=[BAL, REC, PAY, CR, TCI],
        exog=[],
        models=list(MODELS),
        reconcile={"method": "mint_shrink", "identities": IDENTITIES, "min_joint_errors": 3},
    )
    return study, panel, backtest(panel), usdjpy_monthly(snapshot)


def test_the_snapshot_obeys_the_identities_to_rounding(monthly):
    _, panel, _, _ = monthly
    wide = panel.pivot(index="ds", columns="unique_id", values="y").dropna()
    assert len(wide) > 200
    assert (wide[BAL] - (wide[REC] - wide[PAY])).abs().max() <= 2  # 億円 figures rounded per item
    assert (wide[BAL] - (wide[CR] + wide[TCI])).abs().max() <= 2


@pytest.mark.parametrize("method", ["wls_var", "mint_shrink"])
def test_reconciled_backtest_at_a_cutoff_ignores_everything_after_it(monthly, method):
    study, panel, result, _ = monthly
    champions = best_models(result)
    identities = identities_of(study)
    cutoffs = sorted(result.forecasts["cutoff"].unique())
    cutoff = cutoffs[8]  # seven one-step errors known: the weights are estimated, not OLS
    before = reconciled_forecasts(result.forecasts, champions, identities, method, min_joint_errors=3)
    rng = np.random.default_rng(0)
    perturbed = panel.copy()
    later = perturbed["ds"] > cutoff
    perturbed.loc[later, "y"] *= rng.uniform(0.3, 3.0, later.sum())
    after = reconciled_forecasts(backtest(perturbed).forecasts, champions, identities, method, min_joint_errors=3)

    def at(frame):
        return frame[frame["cutoff"] == cutoff].drop(columns="y").reset_index(drop=True)

    assert at(before)["weights"].iloc[0] == method
    pd.testing.assert_frame_equal(at(before), at(after))
    # ... while later cutoffs, whose weights use the perturbed outcomes, do change.
    last = before["cutoff"] == cutoffs[-1]
    assert not np.allclose(before.loc[last, "mean"], after.loc[after["cutoff"] == cutoffs[-1], "mean"])


def test_backtest_comparison_scores_base_and_every_method(monthly):
    study, _, result, _ = monthly
    table = backtest_comparison(study, result, best_models(result))
    assert list(table["unique_id"]) == [BAL, REC, PAY, CR, TCI]
    assert {"base", "ols", "wls_var", "mint_shrink"} <= set(table.columns)
    assert table[["base", "ols", "wls_var", "mint_shrink"]].notna().all().all()
    assert set(table["published"]) == {"mint_shrink"}


@pytest.fixture(scope="module")
def published(monthly):
    study, panel, result, known_fx = monthly
    champions = best_models(result)
    plan = reconciliation_plan(study, result, champions)
    estimators = {}
    for uid, name in champions.items():
        y = panel[panel["unique_id"] == uid].set_index("ds")["y"].asfreq("MS")
        estimators[uid] = make_model(name, 12).fit(y)
    request = pd.concat(
        [
            pd.DataFrame({"unique_id": uid, "ds": pd.date_range(e.cutoff_, periods=25, freq="MS")[1:]})
            for uid, e in estimators.items()
        ],
        ignore_index=True,
    )
    return plan, estimators, known_fx, reconcile_projections(project(estimators, request, known_fx), plan)


def test_published_projections_satisfy_both_identities(published):
    plan, _, _, projections = published
    assert plan["method_used"] == "mint_shrink"
    identities = [Identity(i["lhs"], tuple(i["plus"]), tuple(i["minus"])) for i in plan["identities"]]
    assert max_violation(projections.rename(columns={BASE_COLUMN: "mean"}), identities) > 1  # base did not add up
    for identity in identities:
        assert max_violation(projections.rename(columns={"yhat": "mean"}), [identity]) < 1e-6
    bounds = projections[["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]].to_numpy()
    assert (np.diff(bounds, axis=1) >= 0).all()


def test_served_forecasts_equal_the_published_ones_for_any_subset(published):
    plan, estimators, known_fx, projections = published
    months = projections["ds"].drop_duplicates().iloc[[0, 5, 23]]
    baseline = Scenario(name="baseline", description="no change")
    for request in [pd.DataFrame({"ds": months}), pd.DataFrame({"unique_id": REC, "ds": months})]:
        served = serve(estimators, request, known_fx, baseline, "MS", plan)
        expected = projections.drop(columns=BASE_COLUMN).merge(served[["unique_id", "ds"]])
        pd.testing.assert_frame_equal(served, expected[served.columns])
    assert len(serve(estimators, pd.DataFrame({"unique_id": REC, "ds": months}), known_fx, baseline, "MS", plan)) == 3


def test_identity_over_a_series_the_study_does_not_forecast_is_one_config_error(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent(f"""
        studies:
          - name: dd
            registered_model: dd
            targets: [{BAL}, {REC}]
            models: [naive]
            reconcile:
              identities:
                - {{lhs: {BAL}, plus: [{REC}], minus: [{PAY}]}}
        """),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message and PAY in message and "does not project" in message


def test_dependent_identities_are_a_config_error(tmp_path):
    path = tmp_path / "config.yaml"
    identity = f"{{lhs: {BAL}, plus: [{REC}], minus: [{PAY}]}}"
    path.write_text(
        textwrap.dedent(f"""
        studies:
          - name: dd
            registered_model: dd
            targets: [{BAL}, {REC}, {PAY}]
            models: [naive]
            reconcile: {{identities: [{identity}, {identity}]}}
        """),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="linearly dependent"):
        load_config(path)
