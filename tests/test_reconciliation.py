"""Reconciliation under linear identities (forecast/reconciliation.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.reconciliation import (
    Identity,
    Weights,
    constraint_matrix,
    max_violation,
    reconcile,
    shrunk_covariance,
    weights,
)

BALANCE = Identity(lhs="balance", plus=["receipts"], minus=["payments"])
YEARS = pd.date_range("2026-01-01", periods=3, freq="YS")


def frame(values: dict[str, list[float]], width: float = 10.0) -> pd.DataFrame:
    rows = []
    for uid, means in values.items():
        for ds, mean in zip(YEARS, means):
            rows.append(
                {
                    "unique_id": uid,
                    "ds": ds,
                    "mean": mean,
                    "lo_80": mean - width,
                    "hi_80": mean + width,
                    "lo_95": mean - 2 * width,
                    "hi_95": mean + 2 * width,
                }
            )
    return pd.DataFrame(rows)


def errors(spread: dict[str, float], n: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2010-01-01", periods=n, freq="YS")
    return pd.DataFrame(
        [
            {"unique_id": uid, "ds": d, "error": s * e}
            for uid, s in spread.items()
            for d, e in zip(ds, rng.standard_normal(n))
        ]
    )


def means(out: pd.DataFrame, uid: str) -> np.ndarray:
    return out.loc[out["unique_id"] == uid].sort_values("ds")["mean"].to_numpy()


def test_coherent_forecasts_are_unchanged():
    base = frame({"balance": [-5.0, -6.0, -7.0], "receipts": [10.0, 11.0, 12.0], "payments": [15.0, 17.0, 19.0]})
    out = reconcile(
        base,
        [BALANCE],
        weights(
            "wls_var", ["balance", "receipts", "payments"], errors({"balance": 3.0, "receipts": 1.0, "payments": 2.0})
        ),
    )
    pd.testing.assert_frame_equal(out, base, check_exact=False, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["ols", "wls_var", "mint_shrink"])
def test_every_identity_holds_after_reconciliation(method):
    # Two overlapping identities (a balance and its split into two items), untouched series beside them.
    identities = [BALANCE, Identity(lhs="balance", plus=["item_a", "item_b"])]
    base = frame(
        {
            "balance": [-80.0, -90.0, -100.0],
            "receipts": [60.0, 61.0, 64.0],
            "payments": [150.0, 149.0, 170.0],
            "item_a": [-20.0, -25.0, -30.0],
            "item_b": [-55.0, -70.0, -60.0],
            "other": [1.0, 2.0, 3.0],
        }
    )
    names = ["balance", "receipts", "payments", "item_a", "item_b"]
    w = weights(method, names, errors(dict(zip(names, [5.0, 1.0, 3.0, 2.0, 2.0])), n=12), min_joint_errors=10)
    out = reconcile(base, identities, w)
    assert max_violation(base, identities) > 1
    assert max_violation(out, identities) < 1e-9
    assert w.method == method
    pd.testing.assert_frame_equal(out[out["unique_id"] == "other"], base[base["unique_id"] == "other"])


def test_ols_matches_the_closed_form_for_a_balance_identity():
    # min ||y_rec - y||^2 s.t. b = r - p: the discrepancy d = b - r + p is split in thirds.
    b, r, p = -90.0, 60.0, 140.0
    d = b - r + p
    out = reconcile(frame({"balance": [b] * 3, "receipts": [r] * 3, "payments": [p] * 3}), [BALANCE])
    assert np.allclose(means(out, "balance"), b - d / 3, rtol=0, atol=1e-12)
    assert np.allclose(means(out, "receipts"), r + d / 3, rtol=0, atol=1e-12)
    assert np.allclose(means(out, "payments"), p - d / 3, rtol=0, atol=1e-12)


def test_bounds_move_with_the_mean_and_stay_nested():
    base = frame({"balance": [-90.0] * 3, "receipts": [60.0] * 3, "payments": [140.0] * 3})
    out = reconcile(base, [BALANCE])
    for column in ["lo_80", "hi_80", "lo_95", "hi_95"]:
        assert np.allclose(out[column] - out["mean"], base[column] - base["mean"], rtol=0, atol=1e-12)
    assert (out["lo_95"] <= out["lo_80"]).all() and (out["lo_80"] <= out["mean"]).all()
    assert (out["mean"] <= out["hi_80"]).all() and (out["hi_80"] <= out["hi_95"]).all()


def test_with_wls_the_noisier_series_absorbs_more_of_the_adjustment():
    base = frame({"balance": [-90.0] * 3, "receipts": [60.0] * 3, "payments": [140.0] * 3})
    w = weights(
        "wls_var", ["balance", "receipts", "payments"], errors({"balance": 1.0, "receipts": 1.0, "payments": 10.0})
    )
    assert w.method == "wls_var"
    moved = {
        uid: abs(means(reconcile(base, [BALANCE], w), uid) - means(base, uid))[0]
        for uid in ["balance", "receipts", "payments"]
    }
    assert moved["payments"] > 10 * max(moved["balance"], moved["receipts"])


def test_mint_with_too_few_joint_errors_falls_back_to_the_diagonal():
    names = ["balance", "receipts", "payments"]
    few = errors({"balance": 3.0, "receipts": 1.0, "payments": 2.0}, n=4)
    w = weights("mint_shrink", names, few, min_joint_errors=8)
    assert w.method.startswith("wls_var") and "has 4" in w.method
    assert np.array_equal(w.matrix, weights("wls_var", names, few).matrix)


def test_weighted_methods_fall_back_to_ols_without_errors():
    w = weights("wls_var", ["balance", "receipts"], errors({"balance": 1.0}))
    assert w.method.startswith("ols") and "receipts" in w.method and np.array_equal(w.matrix, np.eye(2))


def test_shrunk_covariance_is_positive_definite_and_keeps_the_diagonal():
    e = np.random.default_rng(1).standard_normal((10, 4)) * [1.0, 2.0, 3.0, 4.0]
    cov = shrunk_covariance(e)
    assert np.allclose(np.diag(cov), (e**2).mean(axis=0))
    assert np.linalg.eigvalsh(cov).min() > 0


def test_unknown_series_is_a_clear_error():
    base = frame({"balance": [-90.0] * 3, "receipts": [60.0] * 3})
    with pytest.raises(ValueError, match="without forecasts: payments"):
        reconcile(base, [BALANCE])


def test_a_date_missing_one_series_is_a_clear_error():
    base = frame({"balance": [-90.0] * 3, "receipts": [60.0] * 3, "payments": [140.0] * 3})
    base = base.drop(index=base.index[(base["unique_id"] == "balance") & (base["ds"] == YEARS[0])])
    with pytest.raises(ValueError, match="2026-01-01.*no forecast for balance"):
        reconcile(base, [BALANCE])


def test_bad_specs_are_clear_errors():
    with pytest.raises(ValueError, match="more than once"):
        Identity(lhs="balance", plus=["balance"])
    with pytest.raises(ValueError, match="no right-hand side"):
        Identity(lhs="balance")
    with pytest.raises(ValueError, match="linearly dependent"):
        constraint_matrix([BALANCE, BALANCE], ["balance", "receipts", "payments"])
    with pytest.raises(ValueError, match="unknown reconciliation method"):
        weights("mint", ["balance"])
    with pytest.raises(ValueError, match="do not cover payments"):
        reconcile(
            frame({"balance": [1.0] * 3, "receipts": [1.0] * 3, "payments": [1.0] * 3}),
            [BALANCE],
            Weights(("balance", "receipts"), np.eye(2), "ols"),
        )
