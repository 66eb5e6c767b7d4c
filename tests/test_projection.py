"""Projection requests: month grid, series selection, and the USD/JPY path used for the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.studies.monthly.projection import OUTPUT_COLUMNS, ProjectionRequestError, project, usdjpy_path
from forecast.models.base import BaseForecaster, normal_intervals


class EchoExog(BaseForecaster):
    """mean = 1000 * usdjpy_log of each future month, so tests can read back the exog used."""

    uses_exog = True

    def _fit(self, y, X):
        self.level_ = float(y.iloc[-1])

    def _predict(self, horizon, X_future):
        mean = 1000 * X_future["usdjpy_log"].to_numpy() if X_future is not None else np.full(horizon, self.level_)
        return pd.DataFrame(normal_intervals(mean, np.ones(horizon)))


@pytest.fixture
def fitted():
    idx = pd.date_range("2015-01-01", periods=27, freq="MS")
    y = pd.Series(np.arange(27.0), index=idx)
    X = pd.DataFrame({"usdjpy_log": np.log(np.full(27, 110.0))}, index=idx)
    return {"a": EchoExog().fit(y, X), "b": EchoExog().fit(y, X)}


@pytest.fixture
def known_fx():
    idx = pd.date_range("2015-01-01", "2017-06-01", freq="MS")
    return pd.Series(np.linspace(100, 129, len(idx)), index=idx)


def test_usdjpy_path_prefers_input_then_published_then_carried(known_fx):
    idx = pd.date_range("2017-04-01", periods=5, freq="MS")
    override = pd.Series([150.0], index=[pd.Timestamp("2017-05-01")])
    level, source = usdjpy_path(idx, known_fx, override)
    assert list(source) == ["published", "input", "published", "carried_forward", "carried_forward"]
    assert level.iloc[1] == 150.0
    assert level.iloc[3] == level.iloc[4] == known_fx.iloc[-1]


def test_project_without_unique_id_answers_every_series(fitted, known_fx):
    request = pd.DataFrame({"ds": pd.date_range("2017-04-01", periods=3, freq="MS")})
    out = project(fitted, request, known_fx)
    assert list(out.columns) == OUTPUT_COLUMNS
    assert out["unique_id"].tolist() == ["a"] * 3 + ["b"] * 3
    expected = 1000 * np.log(known_fx.loc["2017-04-01":"2017-06-01"].to_numpy())
    np.testing.assert_allclose(out["yhat"].to_numpy()[:3], expected)


def test_project_uses_given_usdjpy_for_scenarios(fitted, known_fx):
    request = pd.DataFrame(
        {"unique_id": "a", "ds": pd.date_range("2017-05-01", periods=2, freq="MS"), "usdjpy": [200.0, 210.0]}
    )
    out = project(fitted, request, known_fx)
    np.testing.assert_allclose(out["yhat"], 1000 * np.log([200.0, 210.0]))


@pytest.mark.parametrize(
    "request_frame, message",
    [
        (pd.DataFrame({"unique_id": ["zzz"], "ds": [pd.Timestamp("2017-04-01")]}), "unknown series 'zzz'"),
        (pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2017-03-01")]}), "not after the last observation"),
        (pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2017-04-15")]}), "not on the model's"),
        (pd.DataFrame({"unique_id": ["a"]}), "needs a 'ds' column"),
    ],
)
def test_bad_requests_are_refused(fitted, known_fx, request_frame, message):
    with pytest.raises(ProjectionRequestError, match=message):
        project(fitted, request_frame, known_fx)
