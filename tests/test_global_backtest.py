"""Global (cross-series) models in the backtest: same rows and cutoffs as local models, and no
value after an origin's cutoff reaches the fit, under both alignments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import BacktestSettings, add_selected_ensemble, cross_validate, leaderboard
from forecast.backtest.engine import FORECAST_COLUMNS, SKIPPED_COLUMNS
from forecast.models.base import PREDICTION_COLUMNS
from forecast.models.global_base import GlobalForecaster
from forecast.models.registry import make_model

COMPARED = ["unique_id", "model", "cutoff", "ds", "h", *PREDICTION_COLUMNS, "train_scale"]


class GlobalPeekingDetector(GlobalForecaster):
    """Forecast of every series = sum of every value of every history it was given (+ step).

    Any value from after a cutoff that reaches fit changes every forecast of that origin. Logs the
    last date of each history per fit at class level, so tests can inspect what each fit saw.
    """

    fits: list[dict] = []

    def min_train_length(self) -> int:
        return 12

    def _fit(self, histories, horizon):
        type(self).fits.append(dict(self.cutoffs_))
        self.total_ = float(sum(values.sum() for values in histories.values()))

    def _predict(self, horizon):
        value = self.total_ + np.arange(horizon, dtype=float)
        return {uid: {c: value for c in PREDICTION_COLUMNS} for uid in self.cutoffs_}


def _panel() -> pd.DataFrame:
    """Series of different lengths and start/end dates, plus one too short for any origin."""
    rng = np.random.default_rng(3)
    frames = []
    for i, (start, n) in enumerate(
        (("2010-01-01", 60), ("2011-04-01", 50), ("2009-07-01", 72), ("2012-01-01", 40), ("2015-01-01", 10))
    ):
        t = np.arange(n)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range(start, periods=n, freq="MS"),
                    "y": 80 + 20 * i + 0.4 * t + 6 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _settings(alignment: str, **overrides) -> BacktestSettings:
    return BacktestSettings(
        **{"horizon": 6, "n_origins": 4, "step": 3, "min_train": 24, "global_alignment": alignment, **overrides}
    )


def _perturb(panel: pd.DataFrame, after: pd.Series) -> pd.DataFrame:
    """Every y with ds after ``after[unique_id]`` scaled by 10 plus noise (series not in ``after``
    are left alone)."""
    rng = np.random.default_rng(99)
    out = panel.copy()
    later = out["ds"] > out["unique_id"].map(after)
    out.loc[later, "y"] = out.loc[later, "y"] * 10 + rng.normal(0, 5, int(later.sum()))
    return out


@pytest.mark.parametrize("alignment", ["date", "position"])
def test_rows_cutoffs_and_scales_match_a_local_model(alignment):
    panel = _panel()
    settings = _settings(alignment)
    result = cross_validate(
        panel, {"pooled_ridge": make_model("pooled_ridge", 12), "naive": make_model("naive", 12)}, settings
    )
    fc = result.forecasts
    assert list(fc.columns) == FORECAST_COLUMNS and list(result.skipped.columns) == SKIPPED_COLUMNS
    folds = fc.groupby("model")[["unique_id", "cutoff", "h", "ds", "train_scale", "y"]]
    local, pooled = (folds.get_group(m).reset_index(drop=True) for m in ("naive", "pooled_ridge"))
    pd.testing.assert_frame_equal(local, pooled)  # same folds, same MASE scales, same realised values
    folds_per_model = fc.drop_duplicates(["model", "unique_id", "cutoff"]).groupby("model").size()
    assert folds_per_model.to_dict() == {"naive": 16, "pooled_ridge": 16}  # 4 series x 4 origins
    skipped = result.skipped.set_index("model")
    assert set(result.skipped["unique_id"]) == {"s4"} and "too short" in skipped.loc["pooled_ridge", "reason"]


def test_leaderboards_and_selected_ensembles_take_global_models():
    panel = _panel()
    models = {name: make_model(name, 12) for name in ("pooled_ridge", "naive", "seasonal_naive")}
    result = add_selected_ensemble(cross_validate(panel, models, _settings("date")), k=2, name="select_2")
    assert {"pooled_ridge", "select_2"} <= set(result.forecasts["model"])
    assert {"pooled_ridge", "select_2"} <= set(leaderboard(result)["model"])


def test_date_alignment_fits_each_cutoff_on_every_series_up_to_that_date():
    GlobalPeekingDetector.fits = []
    panel = _panel()
    result = cross_validate(panel, {"peek": GlobalPeekingDetector()}, _settings("date"))
    cutoffs = sorted(result.forecasts["cutoff"].unique())
    assert len(GlobalPeekingDetector.fits) == len(cutoffs)  # one fit per distinct cutoff date
    for seen, cutoff in zip(GlobalPeekingDetector.fits, cutoffs):
        assert max(seen.values()) == cutoff  # no history reaches past the cutoff date
        # every series with enough values by then teaches the fit, whether forecast at it or not
        enough = panel[panel["ds"] <= cutoff].groupby("unique_id").size() >= GlobalPeekingDetector().min_train_length()
        assert set(seen) == set(enough.index[enough])


def test_position_alignment_groups_each_series_kth_last_origin():
    GlobalPeekingDetector.fits = []
    panel = _panel()
    settings = _settings("position")
    result = cross_validate(panel, {"peek": GlobalPeekingDetector()}, settings)
    assert len(GlobalPeekingDetector.fits) == settings.n_origins
    last = panel.groupby("unique_id")["ds"].max()
    for k, seen in enumerate(GlobalPeekingDetector.fits):  # newest origin group first
        for uid, end in seen.items():
            assert end == last[uid] - pd.DateOffset(months=settings.horizon + k * settings.step)
    assert result.forecasts.groupby("unique_id")["cutoff"].nunique().to_dict() == {f"s{i}": 4 for i in range(4)}


@pytest.mark.parametrize("alignment", ["date", "position"])
@pytest.mark.parametrize("model", ["peek", "pooled_ridge"])
def test_perturbing_everything_after_the_cutoffs_leaves_the_forecasts_bit_identical(alignment, model):
    """For each origin group: perturb every value after that group's cutoffs (the cutoff date,
    or each series' own cutoff by position); the group's forecasts must not move."""
    panel = _panel()
    settings = _settings(alignment)
    models = {"m": GlobalPeekingDetector() if model == "peek" else make_model(model, 12)}
    base = cross_validate(panel, models, settings).forecasts
    # Position groups as minus the rank from the newest origin, so that they sort oldest first.
    base = base.assign(
        group=-base.groupby("unique_id")["cutoff"].rank(method="dense", ascending=False).astype(int)
        if alignment == "position"
        else base["cutoff"]
    )
    groups = sorted(base["group"].unique())
    # The oldest, a middle and the second newest group (the newest has no later origin to move).
    for group in (groups[0], groups[len(groups) // 2], groups[-2]):
        rows = base[base["group"] == group]
        if alignment == "date":
            after = pd.Series(group, index=panel["unique_id"].unique())
        else:
            # Each series' own cutoff in this group; a series without one keeps all its values.
            after = rows.groupby("unique_id")["cutoff"].first()
        rerun = cross_validate(_perturb(panel, after), models, settings).forecasts
        keys = rows[["unique_id", "cutoff"]].drop_duplicates()
        moved = rerun.merge(keys, on=["unique_id", "cutoff"])[COMPARED]
        pd.testing.assert_frame_equal(rows[COMPARED].reset_index(drop=True), moved, check_exact=True)
        if model == "peek":
            # the detector is sensitive: some other origin does see perturbed values
            assert not base[COMPARED].reset_index(drop=True).equals(rerun[COMPARED])


def test_position_alignment_is_not_calendar_safe():
    """Why "date" is the default: by position, a series ending later feeds its later months into
    the fit that forecasts an earlier-ending series."""
    panel = _panel()
    base = cross_validate(panel, {"peek": GlobalPeekingDetector()}, _settings("position")).forecasts
    last_cutoffs = base.groupby("unique_id")["cutoff"].max()
    early, cutoff = last_cutoffs.idxmin(), last_cutoffs.min()
    perturbed = _perturb(panel, pd.Series(cutoff, index=panel["unique_id"].unique()))
    rerun = cross_validate(perturbed, {"peek": GlobalPeekingDetector()}, _settings("position")).forecasts
    fold = ((base["unique_id"] == early) & (base["cutoff"] == cutoff)).to_numpy()
    assert not np.array_equal(base.loc[fold, "mean"], rerun.loc[fold, "mean"])


def test_unknown_alignment_and_exog_global_models_are_refused():
    with pytest.raises(ValueError, match="global_alignment"):
        BacktestSettings(global_alignment="calendar")

    class ExogGlobal(GlobalPeekingDetector):
        uses_exog = True

    with pytest.raises(ValueError, match="exogenous"):
        cross_validate(_panel(), {"x": ExogGlobal()}, _settings("date"))
