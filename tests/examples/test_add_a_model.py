"""Worked example: a new model is one file (its class) plus this test.

``SeasonalMean`` below is the whole model: the mean of the same calendar month over the last
``years`` years, with normal intervals from the in-sample errors. Put the class in
``forecast/models/seasonal_mean.py`` and its name in ``MODEL_REGISTRY`` (one line), or, from your
own code, call ``register_model`` as below. The shipped contract checks (``forecast/checks.py``)
then vouch for it, and every command that takes a model name can use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.models.base import BaseForecaster, future_index, normal_intervals


class SeasonalMean(BaseForecaster):
    def __init__(self, season_length: int = 12, years: int = 3):
        self.season_length = season_length
        self.years = years

    def min_train_length(self) -> int:
        return self.season_length * self.years

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        m, values = self.season_length, y.to_numpy(dtype=float)
        window = values[-m * self.years :].reshape(self.years, m)
        self.profile_ = window.mean(axis=0)  # by position in the last cycle
        self.sigma_ = float(np.std(window - self.profile_, ddof=1)) or 1e-9

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        mean = np.resize(self.profile_, horizon)
        return normal_intervals(mean, np.full(horizon, self.sigma_))


@pytest.fixture
def registered():
    from forecast.models.registry import register_model, unregister_model

    register_model("seasonal_mean", SeasonalMean)
    yield "seasonal_mean"
    unregister_model("seasonal_mean")


def test_the_new_model_passes_the_shipped_contract_checks():
    from forecast.checks import check_forecaster

    check_forecaster(lambda season_length: SeasonalMean(season_length=season_length))


def test_the_registered_name_backtests_beside_the_shipped_models(registered, monthly_series):
    from forecast.backtest import BacktestSettings, cross_validate, leaderboard
    from forecast.models.registry import make_model

    panel = pd.DataFrame({"unique_id": "s", "ds": monthly_series.index, "y": monthly_series.to_numpy()})
    models = {name: make_model(name, 12) for name in (registered, "seasonal_naive")}
    result = cross_validate(panel, models, BacktestSettings(horizon=12, n_origins=6, season_length=12))
    board = leaderboard(result)
    assert set(board["model"]) == {"seasonal_mean", "seasonal_naive"}
    assert board["n_origins"].eq(6).all()
    first = result.forecasts.query("model == 'seasonal_mean'").iloc[0]
    assert first["ds"] == future_index(first["cutoff"], 1, "MS")[0]


def test_configs_accept_the_registered_name(registered, tmp_path):
    from experiments.config import load_config

    (tmp_path / "c.yaml").write_text(
        "studies:\n  - name: s\n    registered_model: m\n    targets: [digital_proxy.balance]\n"
        "    models: [naive, seasonal_mean]\n    model_params: {seasonal_mean: {years: 2}}\n"
    )
    config, _ = load_config(tmp_path / "c.yaml", base=tmp_path)
    assert config.studies[0].model_params["seasonal_mean"] == {"years": 2}
