"""The annual study's reconciliation (experiments/studies/annual/reconcile.py): config, weights from the
selected models' backtest errors, the published projections and what the pyfunc model serves."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from experiments.config import load_config
from experiments.scenarios import load_scenarios
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.projection import paths_from_json
from experiments.studies.annual.reconcile import BASE_COLUMN, reconcile_projections, reconciliation_plan, serve
from forecast.backtest.engine import FORECAST_COLUMNS, BacktestResult, BacktestSettings

ROOT = Path(__file__).resolve().parents[1]
BAL, REC, PAY = "digital_mof3.balance", "digital_mof3.receipts", "digital_mof3.payments"
IDENTITY = {"lhs": BAL, "plus": [REC], "minus": [PAY]}


@pytest.fixture(scope="module")
def annual():
    """The default annual study's selected fallback models fitted on all data, and their projections."""
    from experiments.studies.annual.study import fit_final, prepare_annual, project_all
    from features.series import load_catalog
    from features.snapshot import load_snapshot

    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    study = config.annual_studies[0]
    data = prepare_annual(load_snapshot(), load_catalog(config.series_catalog), study)
    chosen = pd.DataFrame({"unique_id": [*study.targets, "wdi_ip_charges.payments"], "model": study.selection.fallback})
    estimators = fit_final(study, data, chosen)
    projections, stored, _ = project_all(study, data, estimators)
    return study, estimators, projections, stored


def plan(method: str = "ols", weights=None) -> dict:
    return {
        "method": method,
        "method_used": method,
        "series": [BAL, REC, PAY],
        "weights": (weights if weights is not None else np.eye(3)).tolist(),
        "identities": [IDENTITY],
    }


def gap(frame: pd.DataFrame, column: str = "yhat") -> pd.Series:
    wide = frame.pivot_table(index=["scenario", "ds"], columns="unique_id", values=column)
    return (wide[BAL] - wide[REC] + wide[PAY]).dropna()


def result_with_errors(errors: dict[tuple[str, str], list[float]]) -> BacktestResult:
    rows = []
    for (uid, model), values in errors.items():
        for i, e in enumerate(values):
            ds = pd.Timestamp(f"{2015 + i}-01-01")
            rows.append(
                {
                    "unique_id": uid,
                    "model": model,
                    "cutoff": ds - pd.DateOffset(years=1),
                    "ds": ds,
                    "h": 1,
                    "y": 100.0 + e,
                    "mean": 100.0,
                    "lo_80": 90.0,
                    "hi_80": 110.0,
                    "lo_95": 80.0,
                    "hi_95": 120.0,
                    "train_scale": 1.0,
                }
            )
    return BacktestResult(
        forecasts=pd.DataFrame(rows, columns=FORECAST_COLUMNS),
        skipped=pd.DataFrame(),
        settings=BacktestSettings(horizon=1, n_origins=3, season_length=1, freq="YS"),
    )


def test_default_config_reconciles_the_balance_identity():
    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    rec = config.annual_studies[0].reconcile
    assert rec.method == "wls_var"
    assert [i.model_dump() for i in rec.identities] == [IDENTITY]


def test_config_rejects_an_identity_over_a_series_the_study_does_not_project(annual):
    raw = annual[0].model_dump()
    raw["reconcile"] = {"identities": [{"lhs": BAL, "plus": [REC], "minus": ["digital_mof3.other"]}]}
    with pytest.raises(ValidationError, match="names 'digital_mof3.other', which the study does not project"):
        AnnualStudyConfig.model_validate(raw)
    raw["reconcile"] = {"identities": [IDENTITY, IDENTITY]}
    with pytest.raises(ValidationError, match="linearly dependent"):
        AnnualStudyConfig.model_validate(raw)


def test_projections_add_up_in_every_scenario_and_keep_the_base(annual):
    _, _, projections, _ = annual
    out = reconcile_projections(projections, plan())
    assert gap(projections).abs().max() > 100  # the models' own projections do not add up
    assert gap(out).abs().max() < 1e-6
    assert set(gap(out).index.get_level_values("scenario")) == set(projections["scenario"])
    assert np.array_equal(out[BASE_COLUMN].to_numpy(), projections["yhat"].to_numpy())
    # Receipts and payments are projected from 2024, the balance (published) from 2026: 2024-2025 untouched.
    early = out["ds"] < pd.Timestamp("2026-01-01")
    assert early.any() and np.array_equal(out.loc[early, "yhat"], out.loc[early, BASE_COLUMN])
    other = out["unique_id"] == "wdi_ip_charges.payments"
    pd.testing.assert_frame_equal(out.loc[other, projections.columns], projections.loc[other])
    assert reconcile_projections(projections, None) is projections


def test_served_subset_is_the_published_figure(annual):
    study, estimators, projections, stored = annual
    study_plan = plan("wls_var", np.diag([1.0, 4.0, 9.0]))
    published = reconcile_projections(projections, study_plan)
    scenarios = load_scenarios(study.scenarios_dir)
    request = pd.DataFrame({"unique_id": PAY, "ds": pd.date_range("2024-01-01", "2030-01-01", freq="YS")})

    def answer(name: str, with_plan: dict | None) -> pd.DataFrame:
        return serve(estimators, request, paths_from_json(stored[name]["paths"]), scenarios[name], with_plan)

    served = answer("yen_weak", study_plan)
    expected = published[(published["scenario"] == "yen_weak") & (published["unique_id"] == PAY)]
    assert list(served["unique_id"]) == [PAY] * 7 and BASE_COLUMN not in served.columns
    for column in ("yhat", "yhat_lo_80", "yhat_hi_95"):
        np.testing.assert_allclose(served[column], expected[column], rtol=0, atol=1e-9)
    # Without a plan (versions logged before reconciliation): the model's own figures.
    np.testing.assert_allclose(answer("yen_weak", None)["yhat"], expected[BASE_COLUMN], rtol=0, atol=1e-9)


def test_weights_come_from_the_selected_models_errors(annual, caplog):
    study = annual[0]
    selection = pd.DataFrame({"unique_id": [BAL, REC, PAY], "model": ["usd_trend", "usd_trend", "trend_fx"]})
    errors = {
        (BAL, "usd_trend"): [1.0, -1.0, 1.0],
        (REC, "usd_trend"): [2.0, 2.0, -2.0],
        (PAY, "trend_fx"): [3.0, -3.0, 3.0],
        (PAY, "usd_trend"): [100.0, 100.0, 100.0],
    }
    got = reconciliation_plan(study, result_with_errors(errors), selection)
    assert got["method_used"] == "wls_var"
    np.testing.assert_allclose(np.diag(got["weights"]), [1.0, 4.0, 9.0])

    del errors[(REC, "usd_trend")]
    with caplog.at_level(logging.WARNING, logger="experiments.studies.annual.reconcile"):
        got = reconciliation_plan(study, result_with_errors(errors), selection)
    assert got["method_used"].startswith("ols") and REC in got["method_used"]
    assert "reconciliation asked for wls_var, uses ols" in caplog.text
