"""FX regressors: alignment with BoP periods, complete periods only, no look-ahead, no filling."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pandas as pd
import pytest

from features.exog import FX_REGRESSOR, attach_exog, fx_at_freq, fx_features, fx_regressors, usdjpy_monthly
from features.series import DEFAULT_CATALOG_PATH, build_panel, load_catalog
from features.snapshot import DEFAULT_SNAPSHOT_DIR, load_snapshot

CUT = pd.Timestamp("2014-05-01")  # mid-quarter on purpose


@pytest.fixture(scope="module")
def snap():
    return load_snapshot()


@pytest.fixture(scope="module")
def fx(snap) -> pd.Series:
    return usdjpy_monthly(snap)


@pytest.fixture(scope="module")
def source_fx() -> dict[str, float]:
    """Monthly averages read straight from the snapshot file, without the loader."""
    with open(DEFAULT_SNAPSHOT_DIR / "usdjpy_monthly.csv", newline="", encoding="utf-8") as fh:
        return {row["period"]: float(row["value"]) for row in csv.DictReader(fh)}


def _perturb_after(s: pd.Series, cut: pd.Timestamp) -> pd.Series:
    out = s.copy()
    out[out.index > cut] = out[out.index > cut] * 3.0 + 17.0
    return out


def test_usdjpy_monthly_is_the_source_average(fx, source_fx) -> None:
    assert fx.index.freqstr == "MS" and fx.name == "usdjpy"
    assert len(fx) == len(source_fx) == 664
    for period, value in source_fx.items():
        assert fx[pd.Timestamp(period + "-01")] == value


def test_fx_regressors_is_log_level(fx) -> None:
    reg = fx_regressors(fx)
    assert list(reg.columns) == [FX_REGRESSOR]
    np.testing.assert_allclose(reg[FX_REGRESSOR].to_numpy(), np.log(fx.to_numpy()))


def test_attach_exog_monthly_alignment(snap, source_fx) -> None:
    catalog = load_catalog(DEFAULT_CATALOG_PATH)
    panel = build_panel(snap, catalog, ["digital_mof3.balance", "digital_proxy.balance"])
    out = attach_exog(panel, snap, "MS")
    assert list(out.columns) == ["unique_id", "ds", "y", FX_REGRESSOR]
    assert len(out) == len(panel) and out[["unique_id", "ds", "y"]].equals(panel)
    for ds, value in zip(out["ds"], out[FX_REGRESSOR], strict=True):
        assert value == np.log(source_fx[ds.strftime("%Y-%m")])  # BoP month t <-> FX average of month t


@pytest.mark.parametrize(("freq", "months"), [("QS", 3), ("YS", 12)])
def test_period_average_of_complete_periods(fx, source_fx, freq: str, months: int) -> None:
    agg = fx_at_freq(fx, freq)
    start = pd.Timestamp("2015-01-01")
    expected = np.mean([source_fx[(start + pd.DateOffset(months=k)).strftime("%Y-%m")] for k in range(months)])
    assert agg[start] == pytest.approx(expected, rel=1e-12)
    # FX ends 2026-04: the quarter/year in progress has no value (no partial periods)
    assert agg.index[-1] == (pd.Timestamp("2026-01-01") if freq == "QS" else pd.Timestamp("2025-01-01"))


def test_missing_month_makes_period_missing_and_is_not_filled(snap) -> None:
    usd = snap.usdjpy
    gappy = dataclasses.replace(snap, usdjpy=usd[usd["period"] != "2015-05"].reset_index(drop=True))
    fx = usdjpy_monthly(gappy)
    assert np.isnan(fx[pd.Timestamp("2015-05-01")])  # a NaN row, not a dropped or filled month
    assert np.isnan(fx_at_freq(fx, "QS")[pd.Timestamp("2015-04-01")])
    assert np.isnan(fx_at_freq(fx, "YS")[pd.Timestamp("2015-01-01")])
    catalog = load_catalog(DEFAULT_CATALOG_PATH)
    panel = build_panel(gappy, catalog, ["digital_mof3.balance"])
    out = attach_exog(panel, gappy, "MS")
    missing = out[out[FX_REGRESSOR].isna()]
    assert missing["ds"].tolist() == [pd.Timestamp("2015-05-01")]
    quarterly = attach_exog(build_panel(gappy, catalog, ["digital_mof3.balance"], "QS"), gappy, "QS")
    assert quarterly.loc[quarterly[FX_REGRESSOR].isna(), "ds"].tolist() == [pd.Timestamp("2015-04-01")]


def test_fx_features_columns_and_values(fx) -> None:
    feats = fx_features(fx, lags=(1, 2))
    assert list(feats.columns) == [
        "usdjpy",
        "usdjpy_log",
        "usdjpy_dlog",
        "usdjpy_log_lag1",
        "usdjpy_dlog_lag1",
        "usdjpy_log_lag2",
        "usdjpy_dlog_lag2",
    ]
    t = pd.Timestamp("2016-06-01")
    prev, prev2 = pd.Timestamp("2016-05-01"), pd.Timestamp("2016-04-01")
    assert feats.at[t, "usdjpy"] == fx[t]
    assert feats.at[t, "usdjpy_dlog"] == pytest.approx(np.log(fx[t]) - np.log(fx[prev]))
    assert feats.at[t, "usdjpy_log_lag2"] == pytest.approx(np.log(fx[prev2]))
    assert np.isnan(feats["usdjpy_dlog"].iloc[0])  # no value before the first month: left NaN
    with pytest.raises(ValueError, match="lags must be >= 1"):
        fx_features(fx, lags=(0,))


def test_regular_index_without_freq_is_accepted(fx) -> None:
    bare = pd.Series(fx.to_numpy(), index=pd.DatetimeIndex(list(fx.index)))
    assert bare.index.freq is None
    np.testing.assert_array_equal(fx_features(bare).to_numpy(), fx_features(fx).to_numpy())


def test_irregular_index_is_refused(fx) -> None:
    holes = fx.drop(fx.index[[5, 9, 30]])
    holes.index.freq = None
    with pytest.raises(ValueError, match="regular DatetimeIndex"):
        fx_features(holes)


# --- no look-ahead: perturbing rows after the cut never changes output at or before it ----------


def test_fx_features_use_no_later_rows(fx) -> None:
    full = fx_features(fx)
    truncated = fx_features(fx.loc[:CUT])
    perturbed = fx_features(_perturb_after(fx, CUT))
    pd.testing.assert_frame_equal(truncated, full.loc[:CUT])
    pd.testing.assert_frame_equal(perturbed.loc[:CUT], full.loc[:CUT])
    pd.testing.assert_frame_equal(fx_regressors(_perturb_after(fx, CUT)).loc[:CUT], fx_regressors(fx).loc[:CUT])


@pytest.mark.parametrize("freq", ["QS", "YS"])
def test_period_average_uses_no_later_rows(fx, freq: str) -> None:
    truncated = fx_at_freq(fx.loc[:CUT], freq)
    full = fx_at_freq(fx, freq)
    perturbed = fx_at_freq(_perturb_after(fx, CUT), freq)
    # the period containing CUT is incomplete in the truncated input: it is absent, not estimated
    assert truncated.index[-1] < CUT - pd.DateOffset(months=2)
    pd.testing.assert_series_equal(truncated, full.loc[: truncated.index[-1]])
    pd.testing.assert_series_equal(perturbed.loc[: truncated.index[-1]], full.loc[: truncated.index[-1]])
    pd.testing.assert_frame_equal(fx_features(truncated), fx_features(full).loc[: truncated.index[-1]])


@pytest.mark.parametrize("freq", ["MS", "QS", "YS"])
def test_attach_exog_uses_no_later_rows(snap, freq: str) -> None:
    catalog = load_catalog(DEFAULT_CATALOG_PATH)
    panel = build_panel(snap, catalog, ["digital_proxy.balance"], freq)
    last = panel["ds"].max()
    usd = snap.usdjpy.copy()
    later = usd["ds"] >= last + pd.DateOffset(months={"MS": 1, "QS": 3, "YS": 12}[freq])
    usd.loc[later, "value"] = usd.loc[later, "value"] * 5.0
    shifted = dataclasses.replace(snap, usdjpy=usd)
    pd.testing.assert_frame_equal(attach_exog(panel, shifted, freq), attach_exog(panel, snap, freq))
