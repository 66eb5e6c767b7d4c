"""The gate's decision on backtest forecasts built by hand: worse, equal and clearly better."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.tracking.gate import decide

H = 3


def forecasts(errors: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Backtest rows for 20 origins x H steps, realised y = 100, scale 1; ``errors`` per origin."""
    rows = []
    cutoffs = pd.date_range("2010-01-01", periods=len(errors), freq="MS")
    rng = np.random.default_rng(seed)
    for cutoff, err in zip(cutoffs, errors, strict=True):
        for h in range(1, H + 1):
            e = err + rng.normal(0, 0.05)
            rows.append(
                {
                    "unique_id": "s",
                    "model": "m",
                    "cutoff": cutoff,
                    "ds": cutoff + pd.DateOffset(months=h),
                    "h": h,
                    "y": 100.0,
                    "mean": 100.0 + e,
                    "lo_80": 90 + e,
                    "hi_80": 110 + e,
                    "lo_95": 80 + e,
                    "hi_95": 120 + e,
                    "train_scale": 1.0,
                }
            )
    return pd.DataFrame(rows)


rng = np.random.default_rng(42)
BASE = np.abs(rng.normal(2.0, 0.5, 20))


def test_worse_candidate_is_not_promoted():
    d = decide(forecasts(BASE), forecasts(BASE * 1.5, seed=1), "mase", margin=0.02, alpha=0.05, horizon=H, step=1)
    assert not d.promote and d.alias == "challenger"
    assert "below the margin" in d.reason and d.improvement < 0


def test_clearly_better_candidate_is_promoted():
    d = decide(forecasts(BASE), forecasts(BASE * 0.4, seed=1), "mase", margin=0.02, alpha=0.05, horizon=H, step=1)
    assert d.promote and d.alias == "champion"
    assert d.p_value < 0.05 and d.improvement > 0.5


def test_equal_accuracy_is_not_promoted_even_past_the_margin():
    # Same accuracy on average, differences that flip sign from origin to origin: a 3% edge by luck.
    flip = np.where(np.arange(20) % 2 == 0, 0.75, 1.19)
    d = decide(forecasts(BASE), forecasts(BASE * flip, seed=1), "mase", margin=0.02, alpha=0.05, horizon=H, step=1)
    assert d.improvement > 0.02  # past the margin, so only the test can stop it
    assert not d.promote and "equal accuracy not rejected" in d.reason
    assert d.p_value > 0.05


def test_identical_candidate_is_not_promoted():
    f = forecasts(BASE)
    d = decide(f, f.copy(), "mase", margin=0.0, alpha=0.05, horizon=H, step=1)
    assert not d.promote and d.p_value == 1.0


def test_tags_record_the_decision():
    d = decide(forecasts(BASE), forecasts(BASE * 0.4, seed=1), "rmse", margin=0.02, alpha=0.05, horizon=H, step=1)
    tags = d.tags()
    assert tags["gate_decision"] == "promoted" and float(tags["gate_p_value"]) < 0.05
    assert float(tags["gate_candidate_score"]) < float(tags["gate_champion_score"])
