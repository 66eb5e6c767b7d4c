"""The backtest's cheaper paths give the answers of the plain ones.

SARIMAX state updates filter only the new observations (``extend``) instead of re-filtering the
whole series (``append(refit=False)``); the engine makes unfitted model copies without
``sklearn.base.clone`` and caches forecast indexes; ``share_features`` builds each origin's view
once per series for all models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from forecast.backtest import BacktestSettings, cross_validate
from forecast.backtest.engine import _unfitted_copies
from forecast.backtest.exog_modes import ExogOptions
from forecast.models.base import future_index
from forecast.models.registry import make_model

# Small fits run as in the engine's tasks: one BLAS/OpenMP thread (see conftest.one_blas_thread).
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def test_sarimax_update_forecasts_match_append_without_refit(monthly_series, monthly_exog):
    y = monthly_series.copy()
    y.iloc[100] = np.nan  # a gap among the new observations: the filter skips it
    X = monthly_exog
    model = make_model("sarimax", 12).fit(y.iloc[:96], X.iloc[:96])
    reference = model.result_
    end = 96
    for new in (1, 3, 2, 6):  # several updates in a row, of different lengths
        end += new
        model.update(y.iloc[:end], X.iloc[:end])
        reference = reference.append(y.iloc[end - new : end], exog=X.iloc[end - new : end], refit=False)
        X_future = X.iloc[end : end + 12] if end + 12 <= len(X) else None
        if X_future is None:
            break
        ours = model.predict(12, X_future)
        forecast = reference.get_forecast(12, exog=X_future.to_numpy())
        np.testing.assert_allclose(ours["mean"], forecast.predicted_mean, rtol=1e-8)
        for level in (80, 95):
            bounds = forecast.conf_int(alpha=1 - level / 100).to_numpy()
            np.testing.assert_allclose(ours[[f"lo_{level}", f"hi_{level}"]], bounds, rtol=1e-8)
        assert model.cutoff_ == y.index[end - 1] and model.n_obs_ == int(y.iloc[:end].notna().sum())


def test_sarimax_update_on_revised_history_refits(monthly_series):
    model = make_model("sarimax", 12).fit(monthly_series.iloc[:96])
    revised = monthly_series.iloc[:100].copy()
    revised.iloc[50] += 5.0  # not an extension of the fitted series: a state update would be wrong
    cold = make_model("sarimax", 12).fit(revised)
    pd.testing.assert_frame_equal(model.update(revised).predict(12), cold.predict(12), check_exact=True)


def test_caller_changing_its_series_after_fit_leaves_the_model_alone(monthly_series):
    y = monthly_series.iloc[:96].copy()
    model = make_model("sarimax", 12).fit(y)
    y.iloc[:] = 0.0  # the model stored no copy; copy-on-write must keep its data apart
    assert model.y_.equals(monthly_series.iloc[:96])


@pytest.mark.parametrize("name", ["ets", "sarimax", "gbm", "ensemble"])
def test_unfitted_copies_are_what_clone_returns(name, monthly_series):
    model = make_model(name, 12)
    fresh = _unfitted_copies(model)
    copy, reference = fresh(), clone(model)
    assert type(copy) is type(model) and copy is not model
    assert repr(copy.get_params(deep=True)) == repr(reference.get_params(deep=True))
    copy.fit(monthly_series)  # fitting a copy leaves the template (and later copies) unfitted
    assert not hasattr(model, "cutoff_") and not hasattr(fresh(), "cutoff_")


def test_cached_forecast_index_is_not_shared_with_callers():
    cutoff = pd.Timestamp("2020-01-01")
    first = future_index(cutoff, 12, "MS")
    first.name = "renamed"
    second = future_index(cutoff, 12, "MS")
    assert second.name is None and second.freqstr == "MS"
    assert list(second) == list(pd.date_range("2020-02-01", periods=12, freq="MS"))


def _panel_with_driver(n: int = 84) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(n)
    frames = []
    for uid, scale in (("a", 1.0), ("b", -2.0)):
        y = scale * (50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, n)
        x = np.log(110 + np.cumsum(rng.normal(0, 1, n)))
        frames.append(
            pd.DataFrame(
                {"unique_id": uid, "ds": pd.date_range("2012-01-01", periods=n, freq="MS"), "y": y, "usdjpy_log": x}
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    # Series b's driver is missing from 2018-05: the oracle mode has no forecast at its earlier origins
    # and the regression models are skipped at the later ones.
    panel.loc[(panel["unique_id"] == "b") & (panel["ds"] >= "2018-05-01"), "usdjpy_log"] = np.nan
    return panel


@pytest.mark.parametrize(
    "settings",
    [
        dict(
            exog_mode="forecast", exog_options=ExogOptions(compare_modes=("oracle",), compare_every=2), warm_start=True
        ),
        dict(exog_mode="last_value", publication_lag_days=42, refit_every=2, origins_per_task=2),
    ],
)
def test_shared_features_give_the_same_forecasts(settings):
    models = {name: make_model(name, 12) for name in ("naive", "theta", "sarimax", "gbm")}
    runs = [
        cross_validate(
            _panel_with_driver(), models, BacktestSettings(horizon=6, n_origins=5, share_features=share, **settings)
        )
        for share in (False, True)
    ]
    pd.testing.assert_frame_equal(runs[0].forecasts, runs[1].forecasts, check_exact=True)
    pd.testing.assert_frame_equal(runs[0].skipped, runs[1].skipped, check_exact=True)
    if runs[0].exog_views is None:
        assert runs[1].exog_views is None
    else:
        pd.testing.assert_frame_equal(runs[0].exog_views, runs[1].exog_views, check_exact=True)
    assert runs[0].forecasts["model"].nunique() == len(models)


def test_share_features_is_a_study_setting():
    from experiments.config import BacktestConfig

    assert BacktestConfig().share_features is False
    assert BacktestConfig(share_features=True).share_features is True


def test_cli_share_features_writes_the_same_forecasts(tmp_path):
    from experiments.cli.backtest import backtest

    _panel_with_driver().to_csv(tmp_path / "panel.csv", index=False)
    for share in (False, True):
        backtest(
            data=tmp_path / "panel.csv",
            freq="MS",
            horizon=6,
            output=tmp_path / str(share),
            origins=3,
            step=1,
            models="naive,sarimax",
            n_jobs=1,
            refit_every=1,
            warm_start=False,
            origins_per_task=12,
            scheduler_address=None,
            local_cluster=False,
            select_k=None,
            share_features=share,
        )
    assert (tmp_path / "False" / "forecasts.csv").read_text() == (tmp_path / "True" / "forecasts.csv").read_text()
