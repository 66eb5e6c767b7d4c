"""Cutoffs, the backtest engine, honest ensembles and leaderboards (with small test doubles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import metrics
from forecast.backtest import (
    BacktestResult,
    BacktestSettings,
    add_automatic_choice,
    add_selected_ensemble,
    best_models,
    cross_validate,
    honest_members,
    leaderboard,
    make_cutoffs,
    select_members,
)
from forecast.backtest.engine import FORECAST_COLUMNS, SKIPPED_COLUMNS, metric_columns
from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster
from forecast.models.registry import make_model

# ---- test doubles ------------------------------------------------------------------------------


def _flat(value: np.ndarray, spread: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mean": value,
            "lo_80": value - spread,
            "hi_80": value + spread,
            "lo_95": value - 2 * spread,
            "hi_95": value + 2 * spread,
        }
    )


class MeanModel(BaseForecaster):
    """Forecast = mean of the training series (refuses gaps, like most models)."""

    def _fit(self, y, X):
        self.level_ = float(y.mean())

    def _predict(self, horizon, X_future):
        return _flat(np.full(horizon, self.level_))


class GapTolerantMean(MeanModel):
    """Mean of the observed values; records the series it was given."""

    handles_missing = True
    seen: list[pd.Series] = []

    def _fit(self, y, X):
        type(self).seen.append(y)
        self.level_ = float(np.nanmean(y))


class TrendModel(BaseForecaster):
    """Least-squares line through the observations (exercises BLAS in worker processes)."""

    def _fit(self, y, X):
        self.coef_ = np.polyfit(np.arange(len(y)), y.to_numpy(), 1)
        self.n_ = len(y)

    def _predict(self, horizon, X_future):
        return _flat(np.polyval(self.coef_, np.arange(self.n_, self.n_ + horizon)), spread=2.0)


class CallCounter(MeanModel):
    """Logs ("fit" | "update", last training period) at class level (clones share the log)."""

    calls: list[tuple[str, pd.Timestamp]] = []

    def _fit(self, y, X):
        type(self).calls.append(("fit", y.index[-1]))
        super()._fit(y, X)

    def _update(self, y, X):
        type(self).calls.append(("update", y.index[-1]))
        self.level_ = float(y.mean())


class Broken(MeanModel):
    def _fit(self, y, X):
        raise RuntimeError("a bug, not a property of the series")


def _panel(lengths: dict[str, int], start: str = "2010-01-01", freq: str = "MS", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for uid, n in lengths.items():
        t = np.arange(n)
        y = 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=n, freq=freq), "y": y}))
    return pd.concat(frames, ignore_index=True)


# ---- cutoffs -----------------------------------------------------------------------------------


def test_cutoffs_count_spacing_and_last_leaves_a_full_horizon():
    index = pd.date_range("2000-01-01", periods=100, freq="MS")
    cutoffs = make_cutoffs(index, horizon=12, n_origins=5, step=2, min_train=10)
    assert cutoffs == [index[p] for p in (79, 81, 83, 85, 87)]
    assert len(index[index > cutoffs[-1]]) == 12


def test_single_origin_is_the_last_horizon():
    index = pd.date_range("2000-01-01", periods=40, freq="QS")
    assert make_cutoffs(index, horizon=8, n_origins=1, step=1, min_train=4) == [index[31]]


def test_short_series_gets_fewer_origins_and_min_train_is_respected():
    index = pd.date_range("2000-01-01", periods=30, freq="MS")
    cutoffs = make_cutoffs(index, horizon=12, n_origins=24, step=1, min_train=10)
    assert cutoffs == list(index[9:18])  # position 9 is the first with 10 observations
    observed = np.arange(30) >= 5  # the first five periods are missing
    assert make_cutoffs(index, 12, 24, 1, 10, observed=observed) == list(index[14:18])
    assert make_cutoffs(index, horizon=30, n_origins=3, step=1, min_train=1) == []
    assert make_cutoffs(index, horizon=12, n_origins=3, step=1, min_train=19) == []


# ---- engine ------------------------------------------------------------------------------------


def test_forecast_frame_layout_and_realised_values():
    panel = _panel({"a": 60, "b": 40})
    settings = BacktestSettings(horizon=3, n_origins=4, min_train=12)
    result = cross_validate(panel, {"mean": MeanModel()}, settings)
    fc = result.forecasts
    assert list(fc.columns) == FORECAST_COLUMNS
    assert len(fc) == 2 * 4 * 3 and result.skipped.empty
    assert sorted(fc["h"].unique()) == [1, 2, 3]
    for uid, n in (("a", 60), ("b", 40)):
        dates = panel.loc[panel["unique_id"] == uid, "ds"].reset_index(drop=True)
        assert sorted(fc.loc[fc["unique_id"] == uid, "cutoff"].unique()) == list(dates[n - 3 - 4 : n - 3])
    assert fc["ds"].tolist() == [c + pd.DateOffset(months=h) for c, h in zip(fc["cutoff"], fc["h"])]
    realised = fc.merge(panel, on=["unique_id", "ds"], suffixes=("", "_panel"))
    np.testing.assert_array_equal(realised["y"], realised["y_panel"])


def test_metrics_average_per_fold_mase_with_each_fold_scale():
    panel = _panel({"a": 50})
    settings = BacktestSettings(horizon=4, n_origins=3, min_train=12)
    result = cross_validate(panel, {"mean": MeanModel()}, settings)
    y = panel.set_index("ds")["y"]
    expected = np.mean(
        [
            metrics.mase(fold["y"], fold["mean"], y.loc[:cutoff], 12)
            for cutoff, fold in result.forecasts.groupby("cutoff")
        ]
    )
    table = result.metrics()
    assert list(table.columns) == ["unique_id", "model", *metric_columns()]
    assert table.loc[0, "mase"] == pytest.approx(expected)
    assert table.loc[0, "n_forecasts"] == 12 and table.loc[0, "n_origins"] == 3
    by_h = result.metrics_by_horizon()
    assert list(by_h["h"]) == [1, 2, 3, 4] and (by_h["n_forecasts"] == 3).all()


def test_refit_every_3_fits_at_origins_0_3_6_and_updates_in_between():
    CallCounter.calls = []
    panel = _panel({"a": 40})
    settings = BacktestSettings(horizon=2, n_origins=7, refit_every=3, min_train=12)
    result = cross_validate(panel, {"counter": CallCounter()}, settings)
    cutoffs = sorted(result.forecasts["cutoff"].unique())
    kinds = ["fit", "update", "update", "fit", "update", "update", "fit"]
    assert CallCounter.calls == list(zip(kinds, cutoffs))


def test_model_that_cannot_handle_gaps_is_skipped_with_reason():
    GapTolerantMean.seen = []
    panel = _panel({"clean": 40, "gappy": 40})
    panel.loc[(panel["unique_id"] == "gappy") & (panel.index % 40 == 5), "y"] = np.nan
    settings = BacktestSettings(horizon=3, n_origins=3, min_train=12)
    result = cross_validate(panel, {"strict": MeanModel(), "tolerant": GapTolerantMean()}, settings)
    fc = result.forecasts
    assert fc.groupby(["unique_id", "model"]).size().to_dict() == {
        ("clean", "strict"): 9,
        ("clean", "tolerant"): 9,
        ("gappy", "tolerant"): 9,
    }
    assert list(result.skipped.columns) == SKIPPED_COLUMNS
    [skip] = result.skipped.to_dict("records")
    assert (skip["unique_id"], skip["model"]) == ("gappy", "strict")
    assert "gaps" in skip["reason"] and skip["origins_skipped"] == skip["origins_total"] == 3
    # the tolerant model saw the gap as NaN, not an invented value
    assert any(s.isna().sum() == 1 for s in GapTolerantMean.seen)


def test_gap_after_early_cutoffs_gives_partial_coverage():
    panel = _panel({"a": 40})
    panel.loc[35, "y"] = np.nan  # after the first cutoffs, before the last
    settings = BacktestSettings(horizon=3, n_origins=5, min_train=12)
    result = cross_validate(panel, {"strict": MeanModel()}, settings)
    assert result.forecasts["cutoff"].max() < panel.loc[35, "ds"]
    [skip] = result.skipped.to_dict("records")
    assert skip["origins_total"] == 5 and 0 < skip["origins_skipped"] < 5


def test_too_short_series_is_skipped_and_other_errors_propagate():
    panel = _panel({"long": 40, "short": 10, "unobserved": 20})
    panel.loc[panel["unique_id"] == "unobserved", "y"] = np.nan
    result = cross_validate(panel, {"mean": MeanModel()}, BacktestSettings(horizon=3, n_origins=2, min_train=12))
    assert set(result.forecasts["unique_id"]) == {"long"}
    assert list(result.skipped["unique_id"]) == ["short", "unobserved"]
    assert result.skipped["reason"].str.contains("too short").all()
    with pytest.raises(RuntimeError, match="a bug"):
        cross_validate(panel, {"broken": Broken()}, BacktestSettings(horizon=3, n_origins=2, min_train=12))


def test_n_jobs_1_and_2_give_identical_frames():
    panel = _panel({"a": 60, "b": 48, "c": 30})
    panel.loc[70, "y"] = np.nan
    models = {"trend": TrendModel(), "mean": MeanModel(), "tolerant": GapTolerantMean()}
    settings = BacktestSettings(horizon=4, n_origins=5, refit_every=2, min_train=12)
    serial = cross_validate(panel, models, settings, n_jobs=1)
    parallel = cross_validate(panel, models, settings, n_jobs=2)
    pd.testing.assert_frame_equal(serial.forecasts, parallel.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(serial.skipped, parallel.skipped)
    assert not serial.skipped.empty


def test_progress_callback_and_silence_without_it(capsys):
    panel = _panel({"a": 30, "b": 30})
    seen = []
    cross_validate(
        panel,
        {"m1": MeanModel(), "m2": MeanModel()},
        BacktestSettings(horizon=2, n_origins=2),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    cross_validate(panel, {"m1": MeanModel()}, BacktestSettings(horizon=2, n_origins=2))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_missing_rows_become_gaps_and_freq_can_be_given():
    panel = _panel({"a": 40}).drop(index=[20, 23])  # irregular dates: the frequency cannot be inferred
    with pytest.raises(ValueError, match="BacktestSettings.freq"):
        cross_validate(panel, {"mean": MeanModel()}, BacktestSettings(horizon=3, n_origins=2))
    GapTolerantMean.seen = []
    settings = BacktestSettings(horizon=3, n_origins=2, freq="MS")
    result = cross_validate(panel, {"tolerant": GapTolerantMean()}, settings)
    assert len(result.forecasts) == 6
    assert all(s.isna().sum() == 2 for s in GapTolerantMean.seen)


def test_quarterly_panel_and_unknown_exog_mode():
    panel = _panel({"q": 30}, freq="QS")
    result = cross_validate(panel, {"mean": MeanModel()}, BacktestSettings(horizon=4, n_origins=2, season_length=4))
    assert (result.forecasts["ds"].dt.month.isin([1, 4, 7, 10])).all()
    with pytest.raises(ValueError, match="clairvoyant"):
        BacktestSettings(exog_mode="clairvoyant")  # oracle/forecast/scenario exist: tests/test_exog_modes.py


# ---- honest ensemble ---------------------------------------------------------------------------


def _hand_result(errors: dict[str, list[float]], n_origins: dict[str, int] | None = None) -> BacktestResult:
    """One series, horizon 1, realised y = 0 and scale 1: a model's MASE is its mean |error|."""
    cutoffs = pd.date_range("2020-01-01", periods=len(next(iter(errors.values()))), freq="MS")
    rows = []
    for model, errs in errors.items():
        first = len(cutoffs) - (n_origins or {}).get(model, len(cutoffs))
        for cutoff, err in list(zip(cutoffs, errs))[first:]:
            rows.append(
                {
                    "unique_id": "s",
                    "model": model,
                    "cutoff": cutoff,
                    "ds": cutoff + pd.DateOffset(months=1),
                    "h": 1,
                    "y": 0.0,
                    "mean": err,
                    "lo_80": err - 1,
                    "hi_80": err + 1,
                    "lo_95": err - 2,
                    "hi_95": err + 2,
                    "train_scale": 1.0,
                }
            )
    forecasts = pd.DataFrame(rows, columns=FORECAST_COLUMNS)
    return BacktestResult(forecasts, pd.DataFrame(columns=SKIPPED_COLUMNS), BacktestSettings(horizon=1))


# "late" is poor in the first two folds and perfect afterwards: best on the whole backtest.
LATE_BLOOMER = {"early": [1.0] * 10, "late": [3.0, 3.0] + [0.0] * 8, "mid": [2.0] * 10}


def test_honest_selection_uses_only_errors_known_at_the_cutoff():
    result = _hand_result(LATE_BLOOMER)
    members = honest_members(result, k=1)
    assert members["fallback"].tolist() == [True] + [False] * 9
    assert members["members"].iloc[0] == ("early", "late", "mid")  # nothing known at the first origin
    # known mean |error| of "late" at cutoff i: 6/i for i >= 2; it wins only once below early's 1
    # (at i = 6 it ties and loses on name)
    assert [m[0] for m in members["members"].iloc[1:]] == ["early"] * 6 + ["late"] * 3
    assert select_members(result, "s", k=1) == ["late"]


def test_honest_selection_is_unchanged_by_anything_after_the_cutoff():
    result = _hand_result(LATE_BLOOMER)
    before = honest_members(result, k=2)
    for i, cutoff in enumerate(before["cutoff"]):
        tampered = result.forecasts.copy()
        future = tampered["ds"] > cutoff
        tampered.loc[future & (tampered["model"] == "mid"), PREDICTION_COLUMNS] = 0.0  # perfect, but unknown yet
        after = honest_members(BacktestResult(tampered, result.skipped, result.settings), k=2)
        assert after["members"].iloc[i] == before["members"].iloc[i]


def test_ensemble_combines_members_and_first_origin_uses_all():
    result = add_selected_ensemble(_hand_result(LATE_BLOOMER), k=1, method="median")
    ens = result.forecasts[result.forecasts["model"] == "ensemble"].reset_index(drop=True)
    assert list(ens.columns) == FORECAST_COLUMNS and len(ens) == 10
    assert ens.loc[0, "mean"] == 2.0  # median of 1, 3, 2
    assert ens.loc[1, "mean"] == 1.0 and ens.loc[9, "mean"] == 0.0  # early, then late
    assert result.combined == ("ensemble",)
    mean2 = add_selected_ensemble(_hand_result(LATE_BLOOMER), k=2, method="mean", name="mean2")
    assert mean2.forecasts.loc[mean2.forecasts["model"] == "mean2", "mean"].iloc[1] == 1.5  # early and mid
    with pytest.raises(ValueError):
        add_selected_ensemble(result, name="ensemble")
    # the production ranking ignores ensembles
    assert "ensemble" not in select_members(result, "s", k=5)


# ---- leaderboard -------------------------------------------------------------------------------


def test_leaderboard_ranks_by_metric_with_ties_by_name_and_partial_coverage_last():
    errors = {"b_model": [1.0] * 6, "a_model": [1.0] * 6, "worse": [2.0] * 6, "partial": [0.0] * 6}
    result = _hand_result(errors, n_origins={"partial": 3})
    board = leaderboard(result, "mase")
    assert board["model"].tolist() == ["a_model", "b_model", "worse", "partial"]
    assert board["rank"].tolist() == [1, 2, 3, 4]
    assert board["comparable"].tolist() == [True, True, True, False]
    assert best_models(result, "mase") == {"s": "a_model"}
    assert best_models(_hand_result({"only": [1.0] * 3}), "rmse") == {"s": "only"}
    with pytest.raises(ValueError):
        leaderboard(result, "coverage_80")


# ---- real models -------------------------------------------------------------------------------


def test_real_models_run_through_the_engine(monthly_series):
    panel = pd.DataFrame({"unique_id": "jp", "ds": monthly_series.index, "y": monthly_series.to_numpy()})
    models = {name: make_model(name, 12, {}) for name in ("seasonal_naive", "ets")}
    result = cross_validate(panel, models, BacktestSettings(horizon=12, n_origins=4, refit_every=2))
    assert result.skipped.empty
    table = result.metrics()
    assert set(table["model"]) == {"seasonal_naive", "ets"} and (table["n_origins"] == 4).all()
    assert (table["mase"] < 3).all()


def test_models_with_different_coverage_are_compared_on_shared_folds():
    # "long" covers 10 origins, poor on the first four (short histories) and 1.0 after;
    # "short" covers the last 6 with 1.5 everywhere. Over its own folds "long" averages 2.2 and
    # would lose; on the six folds both have, it wins with 1.0.
    errors = {"long": [4.0] * 4 + [1.0] * 6, "short": [0.0] * 4 + [1.5] * 6}
    result = _hand_result(errors, n_origins={"short": 6})
    board = leaderboard(result, "mase")
    assert board["model"].tolist() == ["long", "short"]
    assert board["comparable"].tolist() == [True, True]
    assert board["n_origins"].tolist() == [6, 6]
    assert board["mase"].tolist() == [1.0, 1.5]
    assert best_models(result, "mase") == {"s": "long"}


# ---- automatic choice --------------------------------------------------------------------------


# Errors per origin: "p" and "q" (the prior) miss on opposite sides, so their mean is perfect
# wherever both miss by the same; "solo" is good only from the fifth origin on.
def _signed_result(forecast_values: dict[str, list[float]]) -> BacktestResult:
    """_hand_result with y = 0: a forecast value is its signed error."""
    return _hand_result(forecast_values)


def test_automatic_choice_starts_from_the_prior_then_takes_the_best_known_candidate():
    values = {
        "p": [2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
        "q": [-2.0, -2.0, -2.0, -2.0, -2.0, -2.0],
        "solo": [5.0, 5.0, 5.0, 5.0, 0.0, 0.0],
    }
    result = add_automatic_choice(_signed_result(values), prior=("p", "q", "absent"))
    rows = result.forecasts.pivot_table(index="cutoff", columns="model", values="mean")
    assert result.combined == ("auto_mean", "auto")
    np.testing.assert_allclose(rows["auto_mean"], 0.0)  # the mean of p and q; "absent" never ran
    # first origin: nothing known, the prior; later: auto_mean is the best candidate (error 0 < 2 < 5)
    np.testing.assert_allclose(rows["auto"], 0.0)
    # without a prior combination the fallback is every model, and the choice ranks the base models only
    plain = add_automatic_choice(_signed_result(values), prior=("nothing",))
    auto = plain.forecasts[plain.forecasts["model"] == "auto"].set_index("cutoff")["mean"]
    assert auto.iloc[0] == pytest.approx(np.mean([2.0, -2.0, 5.0]))  # equal-weight prior of all three
    assert auto.iloc[1] == 2.0  # p and q tie on |error| 2; p wins on name; solo's known error is 5


def test_automatic_choice_ranks_known_points_pooled_not_by_fold():
    """At a cutoff, the latest folds are known only at their first steps. Averaging per fold would
    let one known step weigh as much as a whole fold; the choice pools the known points."""
    cutoffs = pd.date_range("2020-01-01", periods=4, freq="MS")
    rows = []
    # "short" is exact at step 1 and far off at steps 2-3; "long" is off by 1 everywhere
    for model, errs in {"short": [0.0, 3.0, 3.0], "long": [1.0, 1.0, 1.0]}.items():
        for cutoff in cutoffs:
            for h, err in enumerate(errs, start=1):
                rows.append(
                    {
                        "unique_id": "s",
                        "model": model,
                        "cutoff": cutoff,
                        "ds": cutoff + pd.DateOffset(months=h),
                        "h": h,
                        "y": 0.0,
                        "mean": err,
                        "lo_80": err - 1,
                        "hi_80": err + 1,
                        "lo_95": err - 2,
                        "hi_95": err + 2,
                        "train_scale": 1.0,
                    }
                )
    result = BacktestResult(
        pd.DataFrame(rows, columns=FORECAST_COLUMNS), pd.DataFrame(columns=SKIPPED_COLUMNS), BacktestSettings(horizon=3)
    )
    members = honest_members(result, k=1)
    # at the last cutoff the known points are fold 1 (3 steps), fold 2 (2 steps), fold 3 (1 step):
    # pooled |error| short = (0+3+3 + 0+3 + 0)/6 = 1.5 > long = 1; per fold short would be (2+1.5+0)/3 < 1
    assert members["members"].iloc[-1] == ("long",)


def test_automatic_choice_never_reads_what_was_unknown_at_the_cutoff():
    values = {
        "p": [2.0, 1.0, 3.0, 0.5, 2.0, 1.0],
        "q": [-1.0, -2.0, 0.0, -3.0, 1.0, -1.0],
        "solo": [5.0, 0.0, 5.0, 0.0, 5.0, 0.0],
    }
    before = add_automatic_choice(_signed_result(values), prior=("p", "q"))
    auto_before = before.forecasts[before.forecasts["model"] == "auto"]["mean"].to_numpy()
    base = _signed_result(values)
    for i, cutoff in enumerate(sorted(base.forecasts["cutoff"].unique())):
        tampered = base.forecasts.copy()
        tampered.loc[(tampered["ds"] > cutoff) & (tampered["model"] == "solo"), PREDICTION_COLUMNS] = 0.0
        after = add_automatic_choice(BacktestResult(tampered, base.skipped, base.settings), prior=("p", "q"))
        auto_after = after.forecasts[after.forecasts["model"] == "auto"]["mean"].to_numpy()
        # the choice at origin i (and its forecast, unless it is solo's own tampered value) is unchanged
        chosen_before = auto_before[i]
        assert auto_after[i] == chosen_before or (chosen_before == values["solo"][i] and auto_after[i] == 0.0)
