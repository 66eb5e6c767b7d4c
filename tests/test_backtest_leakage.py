"""Nothing after a cutoff may reach fit/predict: perturb the future, the fold must not move."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import BacktestSettings, cross_validate
from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster
from forecast.models.registry import make_model

COMPARED = ["unique_id", "model", "cutoff", "ds", "h", *PREDICTION_COLUMNS, "train_scale"]


class PeekingDetector(BaseForecaster):
    """Forecast = sum of every y and X value it was ever given, plus the future X it is given.

    Any value from after the cutoff that reaches fit, update or predict changes the output.
    Logs (cutoff, X_future) at class level so the test can inspect the exogenous path.
    """

    handles_missing = True
    uses_exog = True
    predictions: list[tuple[pd.Timestamp, pd.DataFrame]] = []

    def _fit(self, y, X):
        self.total_ = float(np.nansum(y)) + (float(X.to_numpy().sum()) if X is not None else 0.0)

    def _update(self, y, X):
        self._fit(y, X)

    def _predict(self, horizon, X_future):
        type(self).predictions.append((self.cutoff_, X_future.copy()))
        value = self.total_ + float(X_future.to_numpy().sum()) + np.arange(horizon)
        return pd.DataFrame({col: value for col in PREDICTION_COLUMNS})


def _panel(n_a: int = 60, n_b: int = 48) -> pd.DataFrame:
    """Two series with two drivers; series b has no values for x2 (not one of its drivers)."""
    rng = np.random.default_rng(7)
    frames = []
    for uid, n in (("a", n_a), ("b", n_b)):
        t = np.arange(n)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2012-01-01", periods=n, freq="MS"),
                    "y": 100 + 0.4 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n),
                    "x1": 4.6 + np.cumsum(rng.normal(0, 0.02, n)),
                    "x2": rng.normal(0, 1, n) if uid == "a" else np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _perturb_after(panel: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Every y and exogenous value after the cutoff scaled by 10 plus noise."""
    rng = np.random.default_rng(99)
    out = panel.copy()
    later = out["ds"] > cutoff
    for col in out.columns.drop(["unique_id", "ds"]):
        out.loc[later, col] = out.loc[later, col] * 10 + rng.normal(0, 5, int(later.sum()))
    return out


def _fold(result, cutoff: pd.Timestamp) -> pd.DataFrame:
    fc = result.forecasts
    return fc.loc[fc["cutoff"] <= cutoff, COMPARED].reset_index(drop=True)


@pytest.mark.parametrize("refit_every", [1, 2])
def test_perturbing_the_future_leaves_earlier_folds_bit_identical(refit_every):
    panel = _panel()
    settings = BacktestSettings(horizon=6, n_origins=5, refit_every=refit_every, min_train=12)
    models = {"peek": PeekingDetector()}
    base = cross_validate(panel, models, settings)
    cutoffs = sorted(base.forecasts["cutoff"].unique())
    for cutoff in cutoffs[:-1]:
        rerun = cross_validate(_perturb_after(panel, cutoff), models, settings)
        pd.testing.assert_frame_equal(_fold(base, cutoff), _fold(rerun, cutoff), check_exact=True)
        # the detector is sensitive: folds after the perturbed date do move
        later = rerun.forecasts["cutoff"] > cutoff
        assert not np.allclose(rerun.forecasts.loc[later, "mean"], base.forecasts.loc[later, "mean"])


def test_future_exog_is_the_last_value_at_the_cutoff_carried_forward():
    PeekingDetector.predictions = []
    panel = _panel()
    settings = BacktestSettings(horizon=6, n_origins=3, min_train=12)
    cross_validate(panel, {"peek": PeekingDetector()}, settings)
    assert len(PeekingDetector.predictions) == 6  # 3 origins x 2 series
    for cutoff, X_future in PeekingDetector.predictions:
        uid = "a" if X_future.shape[1] == 2 else "b"
        at_cutoff = panel[(panel["unique_id"] == uid) & (panel["ds"] == cutoff)]
        columns = ["x1", "x2"] if uid == "a" else ["x1"]  # b's all-missing x2 is not its driver
        assert list(X_future.columns) == columns
        assert list(X_future.index) == list(pd.date_range(cutoff, periods=7, freq="MS")[1:])
        expected = np.tile(at_cutoff[columns].to_numpy(dtype=float), (6, 1))
        np.testing.assert_array_equal(X_future.to_numpy(), expected)


def test_real_models_do_not_see_the_future():
    """SARIMAX with exog, gradient boosting and Prophet through the same perturbation check."""
    panel = _panel(n_a=84, n_b=84).drop(columns="x2")
    panel = panel[panel["unique_id"] == "a"]
    models = {name: make_model(name, 12, {}) for name in ("sarimax", "gbm", "prophet")}
    settings = BacktestSettings(horizon=6, n_origins=3, refit_every=2, min_train=36)
    base = cross_validate(panel, models, settings)
    assert base.skipped.empty
    assert base.forecasts.groupby("model")["cutoff"].nunique().to_dict() == {"gbm": 3, "prophet": 3, "sarimax": 3}
    cutoff = sorted(base.forecasts["cutoff"].unique())[1]
    rerun = cross_validate(_perturb_after(panel, cutoff), models, settings)
    pd.testing.assert_frame_equal(_fold(base, cutoff), _fold(rerun, cutoff), check_exact=True)
