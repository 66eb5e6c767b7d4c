"""Backtest shortcuts against a cold full refit at every origin.

Identical where the shortcut cannot change the arithmetic (splitting origins into tasks, the
worker count); within a stated tolerance where it changes only the optimiser's starting point
(warm starts) or skips re-estimation between refits (refit every k origins with state updates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import BacktestSettings, cross_validate
from forecast.models.registry import make_model

# Tolerances, relative to the cold refit at every origin (see the targets: warm starts
# within 1% MASE of cold, refit-every-3 within 2% of refitting every origin).
WARM_MASE_RTOL = 0.01
WARM_FORECAST_RTOL = 0.01  # largest point-forecast change, relative to the mean |forecast|
REFIT_K_MASE_RTOL = 0.02


# Small fits run as in the engine's tasks: one BLAS/OpenMP thread (see conftest.one_blas_thread).
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _panel(n: int = 108, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)
    return pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2005-01-01", periods=n, freq="MS"), "y": y})


def _run(models: list[str], **settings) -> pd.DataFrame:
    base = {"horizon": 6, "n_origins": 9, "origins_per_task": None}
    result = cross_validate(_panel(), {m: make_model(m, 12) for m in models}, BacktestSettings(**{**base, **settings}))
    assert result.skipped.empty
    return result


def _mase(result) -> pd.Series:
    return result.metrics().set_index("model")["mase"]


def test_splitting_origins_into_tasks_changes_nothing():
    whole = _run(["ets", "sarimax"], refit_every=2, n_origins=6)
    # 3 origins per task round up to 4, whole refit cycles: tasks start at origins 0 and 4
    for per_task in (2, 3):
        split = _run(["ets", "sarimax"], refit_every=2, n_origins=6, origins_per_task=per_task)
        pd.testing.assert_frame_equal(whole.forecasts, split.forecasts, check_exact=True)


@pytest.mark.parametrize("model", ["ets", "sarimax", "prophet"])
def test_warm_started_refits_match_cold_refits_within_tolerance(model):
    cold = _run([model])
    warm = _run([model], warm_start=True)
    a, b = cold.forecasts["mean"].to_numpy(), warm.forecasts["mean"].to_numpy()
    assert np.max(np.abs(a - b)) / np.mean(np.abs(a)) <= WARM_FORECAST_RTOL
    assert _mase(warm)[model] == pytest.approx(_mase(cold)[model], rel=WARM_MASE_RTOL)


@pytest.mark.parametrize("model", ["ets", "sarimax"])
def test_refit_every_3_with_state_updates_stays_close_to_refitting_every_origin(model):
    every = _run([model], warm_start=True)
    every_3 = _run([model], warm_start=True, refit_every=3)
    assert _mase(every_3)[model] == pytest.approx(_mase(every)[model], rel=REFIT_K_MASE_RTOL)


def test_warm_fit_on_the_same_data_reaches_the_cold_optimum(monthly_series):
    cold = make_model("sarimax", 12).fit(monthly_series)
    warm = make_model("sarimax", 12).fit(monthly_series.iloc[:-12]).warm_fit(monthly_series)
    pd.testing.assert_frame_equal(cold.predict(12), warm.predict(12), rtol=1e-3)
    assert warm.cutoff_ == monthly_series.index[-1] and warm.n_obs_ == len(monthly_series)


def test_warm_fit_with_other_regressors_or_unfitted_is_a_cold_fit(monthly_series, monthly_exog):
    cold = make_model("sarimax", 12).fit(monthly_series, monthly_exog)
    unfitted = make_model("sarimax", 12).warm_fit(monthly_series, monthly_exog)
    no_exog_before = make_model("sarimax", 12).fit(monthly_series).warm_fit(monthly_series, monthly_exog)
    X_future = monthly_exog.iloc[-12:].set_axis(pd.date_range(monthly_series.index[-1], periods=13, freq="MS")[1:])
    for other in (unfitted, no_exog_before):
        pd.testing.assert_frame_equal(cold.predict(12, X_future), other.predict(12, X_future), check_exact=True)


def test_fast_ets_and_sarimax_paths_give_statsmodels_answers(monthly_series):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    ets = make_model("ets", 12).fit(monthly_series).predict(12)
    reference = (
        ETSModel(monthly_series, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12)
        .fit(disp=False)
        .get_prediction(120, 131)
    )
    sarimax = make_model("sarimax", 12).fit(monthly_series).predict(12)
    forecast = SARIMAX(monthly_series, order=(1, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False).get_forecast(12)
    for level in (80, 95):
        frame = reference.summary_frame(alpha=1 - level / 100)
        np.testing.assert_allclose(ets["mean"], frame["mean"], rtol=1e-12)
        np.testing.assert_allclose(ets[[f"lo_{level}", f"hi_{level}"]], frame[["pi_lower", "pi_upper"]], rtol=1e-12)
        np.testing.assert_allclose(sarimax["mean"], forecast.predicted_mean, rtol=1e-12)
        np.testing.assert_allclose(
            sarimax[[f"lo_{level}", f"hi_{level}"]], forecast.conf_int(alpha=1 - level / 100), rtol=1e-12
        )
