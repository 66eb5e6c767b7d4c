"""Exogenous modes of the backtest: forecast never reads a driver after the origin, oracle is the
labelled upper bound, scenario shifts the forecast part, and the publication lag hides months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.ai_adoption import AdoptionDriver, load_adoption_config
from forecast.backtest import BacktestSettings, cross_validate
from forecast.backtest.exog_modes import DriverSpec, ExogOptions, origin_view
from forecast.backtest.exog_report import exog_mode_board, exog_mode_summary
from forecast.backtest.leaderboard import best_models, leaderboard
from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster

COMPARED = ["unique_id", "model", "cutoff", "ds", "h", *PREDICTION_COLUMNS, "train_scale"]


class DriverEcho(BaseForecaster):
    """mean = sum of everything seen in fit + 1000 * each future driver value: any value the model
    receives moves its forecast. Records (cutoff, y_hist end, X_future) for inspection."""

    handles_missing = True
    uses_exog = True
    seen: list[tuple[pd.Timestamp, pd.Timestamp, pd.DataFrame | None]] = []

    def min_train_length(self) -> int:
        return 3

    def _fit(self, y, X):
        self.total_ = float(np.nansum(y)) + (float(np.nansum(X.to_numpy())) if X is not None else 0.0)

    def _predict(self, horizon, X_future):
        type(self).seen.append((self.cutoff_, X_future.copy() if X_future is not None else None))
        drive = 1000 * X_future.to_numpy().sum(axis=1) if X_future is not None else 0.0
        value = self.total_ + drive + np.arange(horizon)
        return pd.DataFrame({col: value for col in PREDICTION_COLUMNS})


def _panel(n: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    t = np.arange(n)
    return pd.DataFrame(
        {
            "unique_id": "a",
            "ds": pd.date_range("2013-01-01", periods=n, freq="MS"),
            "y": 100 + t + rng.normal(0, 1, n),
            "usdjpy_log": np.log(100 + np.cumsum(rng.normal(0, 1, n))),
        }
    )


def _perturb_after(panel: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    out = panel.copy()
    later = out["ds"] > cutoff
    out.loc[later, ["y", "usdjpy_log"]] = out.loc[later, ["y", "usdjpy_log"]] * 7 + 3
    return out


FX = DriverSpec("usdjpy_log", known_lag_days=1)


def _settings(**kw) -> BacktestSettings:
    options = ExogOptions(drivers=(FX,), compare_modes=("oracle",))
    defaults = {"horizon": 6, "n_origins": 5, "min_train": 12, "exog_mode": "forecast", "exog_options": options}
    return BacktestSettings(**{**defaults, **kw})


@pytest.mark.parametrize("lag", [0, 42])
def test_forecast_mode_never_reads_a_driver_after_the_origin(lag):
    panel = _panel()
    settings = _settings(publication_lag_days=lag)
    base = cross_validate(panel, {"echo": DriverEcho()}, settings)
    cutoffs = sorted(base.forecasts["cutoff"].unique())
    for cutoff in cutoffs[:-1]:
        rerun = cross_validate(_perturb_after(panel, cutoff), {"echo": DriverEcho()}, settings)
        f, g = base.forecasts, rerun.forecasts
        pd.testing.assert_frame_equal(
            f.loc[f["cutoff"] <= cutoff, COMPARED].reset_index(drop=True),
            g.loc[g["cutoff"] <= cutoff, COMPARED].reset_index(drop=True),
            check_exact=True,
        )
        # the oracle view of the same origins does read the future: it moves
        v, w = base.exog_views, rerun.exog_views
        assert not np.allclose(v.loc[v["cutoff"] == cutoff, "mean"], w.loc[w["cutoff"] == cutoff, "mean"])


def test_forecast_mode_with_a_realtime_driver_reads_only_published_surveys():
    """AI adoption built from survey points: changing a point published after an origin changes
    nothing at that origin, and origins before two points were out are skipped with a reason."""
    config = load_adoption_config()
    idx = pd.date_range("2020-01-01", periods=8, freq="YS")
    panel = pd.DataFrame({"unique_id": "a", "ds": idx, "y": np.arange(8.0) * 3 + 1, "ai_adoption": 0.0})
    points = pd.DataFrame(
        {
            "period": ["FY2023", "FY2024", "FY2025"],
            "value": [9.1, 26.7, 45.0],
            "survey_date": pd.to_datetime(["2024-02-15", "2025-02-15", "2026-02-15"]),
            "vintage": pd.to_datetime(["2024-07-31", "2025-07-08", "2026-07-08"]),
        }
    )
    late = points.assign(value=[9.1, 26.7, 55.0])  # the point published 2026-07-08 differs
    results = []
    for pts in (points, late):
        options = ExogOptions(drivers=(DriverSpec("ai_adoption", realtime=AdoptionDriver(pts, config, "YS")),))
        settings = BacktestSettings(
            horizon=1, n_origins=4, min_train=3, freq="YS", season_length=1, exog_mode="forecast", exog_options=options
        )
        results.append(cross_validate(panel, {"echo": DriverEcho()}, settings))
    first, second = results
    # origins 2024-01-01 and 2025-01-01 (cutoffs 2023, 2024): fewer than two surveys out -> skipped
    assert sorted(first.forecasts["cutoff"].dt.year) == [2025, 2026]
    assert first.skipped["origins_skipped"].iloc[0] == 2
    assert "not yet known at the origin" in first.skipped["reason"].iloc[0]
    at = lambda r, year: r.forecasts.loc[r.forecasts["cutoff"].dt.year == year, "mean"].to_numpy()  # noqa: E731
    np.testing.assert_array_equal(at(first, 2025), at(second, 2025))  # origin 2026-01-01: third point unseen
    assert not np.allclose(at(first, 2026), at(second, 2026))  # origin 2027-01-01: it is published


def test_oracle_uses_realised_future_values_and_is_labelled():
    DriverEcho.seen = []
    panel = _panel()
    result = cross_validate(panel, {"echo": DriverEcho()}, _settings(n_origins=2))
    realised = panel.set_index("ds")["usdjpy_log"]
    oracle = [X for _, X in DriverEcho.seen if not np.allclose(X["usdjpy_log"], X["usdjpy_log"].iloc[0])]
    assert oracle, "the oracle view receives the realised (varying) path"
    for X in oracle:
        np.testing.assert_array_equal(X["usdjpy_log"].to_numpy(), realised.loc[X.index].to_numpy())
    assert set(zip(result.exog_views["model"], result.exog_views["exog_mode"])) == {("echo", "oracle")}
    assert set(result.forecasts["model"]) == {"echo"}  # never mixed into what ranks and selects
    assert best_models(result) == {"a": "echo"} and set(leaderboard(result)["model"]) == {"echo"}
    board = exog_mode_board(result)
    assert set(board["exog_mode"]) == {"forecast", "oracle"}
    assert board.loc[board["exog_mode"] == "oracle", "upper_bound"].all()
    assert not board.loc[board["exog_mode"] == "forecast", "upper_bound"].any()
    assert {"mase_forecast", "mase_oracle", "oracle_ratio"} <= set(exog_mode_summary(board).columns)


def test_forecast_mode_with_random_walk_equals_last_value():
    panel = _panel()
    last = cross_validate(panel, {"echo": DriverEcho()}, BacktestSettings(horizon=6, n_origins=4, min_train=12))
    fcst = cross_validate(panel, {"echo": DriverEcho()}, _settings(n_origins=4))
    pd.testing.assert_frame_equal(last.forecasts[COMPARED], fcst.forecasts[COMPARED], check_exact=True)


def test_scenario_shifts_only_the_forecast_part_and_drift_extrapolates():
    y = pd.Series(np.arange(30.0), index=pd.date_range("2015-01-01", periods=30, freq="MS"))
    X = pd.DataFrame({"usdjpy_log": np.arange(30.0) / 100}, index=y.index)
    cutoff = y.index[20]
    shift = np.log(1.15)
    options = ExogOptions(drivers=(FX,), scenario=(("usdjpy_log", shift),))
    base = origin_view(y, X, cutoff, 3, exog_mode="forecast", options=options)
    scen = origin_view(y, X, cutoff, 3, exog_mode="scenario", options=options)
    np.testing.assert_allclose(scen.X_future["usdjpy_log"] - base.X_future["usdjpy_log"], shift)
    assert (base.X_future["usdjpy_log"] == X.loc[cutoff, "usdjpy_log"]).all()  # random walk
    drift = DriverSpec("usdjpy_log", known_lag_days=1, model="drift")
    view = origin_view(y, X, cutoff, 3, exog_mode="forecast", options=ExogOptions(drivers=(drift,)))
    np.testing.assert_allclose(view.X_future["usdjpy_log"], [0.21, 0.22, 0.23])
    # with a publication lag the months between the last published target and the cutoff are known
    # driver values: only the part after the cutoff is a forecast and gets the shift
    lagged = origin_view(y, X, cutoff, 3, publication_lag_days=42, exog_mode="scenario", options=options)
    assert lagged.y_hist.index[-1] == y.index[18] and lagged.steps == 5
    np.testing.assert_allclose(lagged.X_future["usdjpy_log"].iloc[:2], X["usdjpy_log"].iloc[19:21])
    np.testing.assert_allclose(lagged.X_future["usdjpy_log"].iloc[2:], X.loc[cutoff, "usdjpy_log"] + shift)


def test_publication_lag_hides_unpublished_months_and_keeps_scored_periods():
    panel = _panel()
    no_lag = cross_validate(panel, {"echo": DriverEcho()}, _settings(n_origins=3))
    lag = cross_validate(panel, {"echo": DriverEcho()}, _settings(n_origins=3, publication_lag_days=42))
    keys = ["cutoff", "ds", "h"]
    pd.testing.assert_frame_equal(no_lag.forecasts[keys], lag.forecasts[keys])  # same periods scored
    assert not np.allclose(no_lag.forecasts["mean"], lag.forecasts["mean"])
    # an origin at the start of 2016-09 sees BoP through 2016-07 only (July is published mid-September)
    y = panel.set_index("ds")["y"].asfreq("MS")
    view = origin_view(y, None, pd.Timestamp("2016-08-01"), 6, publication_lag_days=42)
    assert view.y_hist.index[-1] == pd.Timestamp("2016-06-01") and view.steps == 8


def test_compare_every_keeps_the_newest_origin_and_every_kth():
    panel = _panel()
    options = ExogOptions(drivers=(FX,), compare_modes=("oracle",), compare_every=2)
    settings = BacktestSettings(horizon=6, n_origins=5, min_train=12, exog_mode="forecast", exog_options=options)
    result = cross_validate(panel, {"echo": DriverEcho()}, settings)
    cutoffs = sorted(result.forecasts["cutoff"].unique())
    assert sorted(result.exog_views["cutoff"].unique()) == cutoffs[::-2][::-1]


def test_unknown_modes_are_refused():
    with pytest.raises(ValueError, match="exog mode 'psychic'"):
        ExogOptions(compare_modes=("psychic",))
    with pytest.raises(ValueError, match="driver model"):
        DriverSpec("x", model="arima")
