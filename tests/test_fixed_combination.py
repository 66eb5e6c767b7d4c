"""Pre-declared combinations of backtest forecasts (``add_fixed_combination``, ``--combine``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import BacktestSettings, add_fixed_combination, cross_validate
from forecast.models.registry import make_model


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frames = []
    for uid, n in (("a", 60), ("b", 48)):
        t = np.arange(n)
        y = 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2010-01-01", periods=n, freq="MS"), "y": y}))
    return pd.concat(frames, ignore_index=True)


def _result():
    models = {m: make_model(m, 12) for m in ("naive", "seasonal_naive", "drift")}
    return cross_validate(_panel(), models, BacktestSettings(horizon=6, n_origins=3))


@pytest.mark.parametrize("method", ["mean", "median"])
def test_combination_is_the_columnwise_mean_or_median_of_its_members(method):
    result = _result()
    combined = add_fixed_combination(result, ["naive", "seasonal_naive", "drift"], method, name="comb")
    keys = ["unique_id", "cutoff", "h"]
    got = combined.forecasts[combined.forecasts["model"] == "comb"].set_index(keys)["mean"].sort_index()
    members = result.forecasts.pivot_table(index=keys, columns="model", values="mean")
    expected = getattr(members[["naive", "seasonal_naive", "drift"]], method)(axis=1).sort_index()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    assert "comb" in combined.combined
    scored = combined.metrics().set_index(["unique_id", "model"])
    assert scored.loc[("a", "comb"), "n_origins"] == 3
    rows = combined.forecasts[combined.forecasts["model"] == "comb"]
    assert (rows["lo_95"] <= rows["lo_80"]).all() and (rows["lo_80"] <= rows["mean"]).all()
    assert (rows["mean"] <= rows["hi_80"]).all() and (rows["hi_80"] <= rows["hi_95"]).all()


def test_combination_exists_only_where_every_member_forecast():
    result = _result()
    forecasts = result.forecasts
    # drop drift's forecasts of series b: the combination must then skip b rather than average two
    result.forecasts = forecasts[~((forecasts["model"] == "drift") & (forecasts["unique_id"] == "b"))]
    combined = add_fixed_combination(result, ["naive", "drift"], "mean", name="comb")
    assert set(combined.forecasts.loc[combined.forecasts["model"] == "comb", "unique_id"]) == {"a"}


def test_bad_combinations_are_refused():
    result = _result()
    with pytest.raises(ValueError, match="no forecasts for member"):
        add_fixed_combination(result, ["naive", "prophet"])
    with pytest.raises(ValueError, match="at least two"):
        add_fixed_combination(result, ["naive", "naive"])
    with pytest.raises(ValueError, match="method"):
        add_fixed_combination(result, ["naive", "drift"], "max")
    with pytest.raises(ValueError, match="already has"):
        add_fixed_combination(result, ["naive", "drift"], name="naive")
