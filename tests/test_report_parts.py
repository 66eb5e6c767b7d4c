"""The study report's parts on hand-made data: amounts in 億円/兆円, labels in every language,
the Diebold-Mariano matrix and the residual diagnostics (the whole report: test_refresh_e2e.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.reports.format import yen_html, yen_text
from experiments.reports.labels import LABELS, LANGS, labels
from forecast.comparison import dm_matrix
from forecast.diagnostics import ACF_LAGS, residual_diagnostics


@pytest.mark.parametrize(
    ("oku", "text"),
    [
        (-66_500.0, "▲6.65 兆円"),  # the 2024 digital deficit, about -6.65 trillion yen
        (104_300.0, "10.43 兆円"),
        (1_234.4, "1,234 億円"),
        (-950.0, "▲950 億円"),
        (9_999.6, "1.00 兆円"),  # rounds into the next unit, not "10,000 億円"
        (-0.3, "0 億円"),  # no ▲ on a figure that shows as zero
        (float("nan"), "—"),
        (None, "—"),
    ],
)
def test_amounts_read_as_japanese_statistics_print_them(oku, text):
    assert yen_text(oku) == text


def test_a_deficit_is_styled_and_named_not_only_signed():
    assert str(yen_html(-66_500.0, "赤字")) == '<span class="deficit" title="赤字">▲6.65 兆円</span>'
    assert str(yen_html(1_234.0)) == "1,234 億円"


def test_every_language_has_every_label_and_its_placeholders():
    keys = set(LABELS["en"])
    for lang in LANGS:
        assert set(LABELS[lang]) == keys, lang
        for key, text in LABELS[lang].items():
            placeholders = {part.split("}")[0] for part in text.split("{")[1:]}
            assert placeholders == {part.split("}")[0] for part in LABELS["en"][key].split("{")[1:]}, (lang, key)
    with pytest.raises(ValueError, match="known: en, ja"):
        labels("fr")


def _backtest(errors: dict[str, np.ndarray], horizon: int = 1) -> pd.DataFrame:
    """One series, y = 0, train_scale 1: a model's forecast is its error at each (origin, step)."""
    n = len(next(iter(errors.values())))
    cutoffs = pd.date_range("2015-01-01", periods=n, freq="MS")
    rows = []
    for model, errs in errors.items():
        for cutoff, err in zip(cutoffs, errs, strict=True):
            for h in range(1, horizon + 1):
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
    return pd.DataFrame(rows)


def test_dm_matrix_finds_the_better_model_and_is_antisymmetric():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, 40)
    forecasts = _backtest({"good": 0.5 * noise, "bad": 2.0 + noise, "twin": 0.5 * noise + rng.normal(0, 0.01, 40)})
    dm = dm_matrix(forecasts, "mase", horizon=1).set_index(["model", "versus"])
    assert len(dm) == 6 and (dm["n_origins"] == 40).all()
    assert dm.loc[("good", "bad"), "p_value"] < 0.001 and dm.loc[("bad", "good"), "p_value"] > 0.999
    assert 0.01 < dm.loc[("good", "twin"), "p_value"] < 0.99  # no evidence either way
    # one-sided p-values of the two directions add to 1 (same statistic, opposite sign)
    for a, b in (("good", "bad"), ("good", "twin"), ("bad", "twin")):
        assert dm.loc[(a, b), "p_value"] + dm.loc[(b, a), "p_value"] == pytest.approx(1.0)


def test_dm_matrix_counts_the_overlap_of_multi_step_folds():
    rng = np.random.default_rng(4)
    forecasts = _backtest({"a": rng.normal(0, 1, 30), "b": rng.normal(0, 1, 30)}, horizon=6)
    dm = dm_matrix(forecasts, "mase", horizon=6, step=2)
    assert (dm["n_origins"] == 30).all() and dm["p_value"].between(0, 1).all()
    # a pair with one shared origin has no test
    short = dm_matrix(_backtest({"a": np.array([1.0]), "b": np.array([2.0])}), "mase", horizon=1)
    assert short["p_value"].isna().all() and (short["n_origins"] == 1).all()


def test_residual_diagnostics_tell_white_noise_from_autocorrelated_errors():
    rng = np.random.default_rng(5)
    white = rng.normal(0, 1, 60)
    ar = np.zeros(60)
    for t in range(1, 60):
        ar[t] = 0.8 * ar[t - 1] + rng.normal(0, 1)
    forecasts = _backtest({"white": white, "ar": ar}, horizon=3)
    table, acf = residual_diagnostics(forecasts)
    table = table.set_index("model")
    assert (table["n"] == 60).all()  # one one-step error per origin, whatever the horizon
    assert table.loc["white", "lb_p_12"] > 0.05 and table.loc["ar", "lb_p_6"] < 0.001
    assert table.loc["white", "mean_error"] == pytest.approx(-white.mean())  # error = y - forecast
    ar_acf = acf[acf["model"] == "ar"].set_index("lag")["acf"]
    assert list(ar_acf.index) == list(range(1, ACF_LAGS + 1)) and ar_acf[1] > 0.6
    assert acf["bound"].eq(1.96 / np.sqrt(60)).all()
    # only the named model per series; too few errors for a lag leave its p-value empty
    champion, _ = residual_diagnostics(_backtest({"white": white[:8], "ar": ar[:8]}), {"s": "ar"})
    assert champion["model"].tolist() == ["ar"] and np.isnan(champion.loc[0, "lb_p_12"])
    assert not np.isnan(champion.loc[0, "lb_p_6"])
