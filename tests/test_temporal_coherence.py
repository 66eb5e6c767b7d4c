"""Monthly paths made coherent with balance = receipts - payments, published totals kept
(forecast/temporal/coherence.py)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.reconciliation import Identity
from forecast.temporal.coherence import coherent_paths

IDENTITY = Identity("balance", plus=("receipts",), minus=("payments",))
N = 24


def _random_paths(seed: int):
    rng = np.random.default_rng(seed)
    receipts = 1000 + rng.normal(0, 50, N)
    payments = 3000 + rng.normal(0, 80, N)
    balance = receipts - payments + rng.normal(0, 40, N)  # incoherent by tens
    means = {"balance": balance, "receipts": receipts, "payments": payments}
    variances = {uid: rng.uniform(10, 5000, N) for uid in means}
    return means, variances


def _sums(path: np.ndarray, windows) -> np.ndarray:
    return np.array([path[first : first + months].sum() for first, months in windows])


@pytest.mark.parametrize("seed", range(5))
def test_identity_holds_and_kept_windows_are_unchanged(seed):
    means, variances = _random_paths(seed)
    keep = {"balance": [(0, 12), (12, 6)], "receipts": [(3, 12)], "payments": [(12, 12), (0, 1)]}
    before = {uid: m.copy() for uid, m in means.items()}
    out = coherent_paths(means, variances, IDENTITY, keep)

    assert set(out) == set(means)
    assert all(len(out[uid]) == N for uid in out)
    np.testing.assert_allclose(out["balance"], out["receipts"] - out["payments"], atol=1e-6)
    for uid, windows in keep.items():
        np.testing.assert_allclose(_sums(out[uid], windows), _sums(before[uid], windows), atol=1e-6)
    for uid in means:  # inputs untouched
        np.testing.assert_array_equal(means[uid], before[uid])
    # the inputs were incoherent, so something did move
    assert max(np.abs(out[uid] - before[uid]).max() for uid in out) > 1.0


def test_three_coherent_totals_of_one_year_are_kept():
    """A year whose three totals satisfy the identity repeats one constraint: the pseudo-inverse copes."""
    means, variances = _random_paths(11)
    # make the yearly sums coherent while the months are not
    gap = means["receipts"][:12].sum() - means["payments"][:12].sum() - means["balance"][:12].sum()
    means["balance"] = means["balance"].copy()
    means["balance"][:12] += gap / 12
    keep = {uid: [(0, 12)] for uid in means}
    assert np.abs(means["balance"] - (means["receipts"] - means["payments"])).max() > 1.0
    out = coherent_paths(means, variances, IDENTITY, keep)
    np.testing.assert_allclose(out["balance"], out["receipts"] - out["payments"], atol=1e-6)
    for uid in means:
        assert out[uid][:12].sum() == pytest.approx(means[uid][:12].sum(), abs=1e-6)


def test_the_series_with_larger_variance_moves_more():
    means, _ = _random_paths(3)
    variances = {"balance": np.full(N, 1.0), "receipts": np.full(N, 1.0), "payments": np.full(N, 100.0)}
    out = coherent_paths(means, variances, IDENTITY, {})
    np.testing.assert_allclose(out["balance"], out["receipts"] - out["payments"], atol=1e-6)
    moves = {uid: np.abs(out[uid] - means[uid]) for uid in means}
    incoherent = np.abs(means["balance"] - (means["receipts"] - means["payments"])) > 1e-3
    assert incoherent.all()
    assert (moves["payments"] > 50 * moves["receipts"]).all()
    assert (moves["payments"] > 50 * moves["balance"]).all()
    # with no kept windows each month's change is proportional to its variance
    np.testing.assert_allclose(moves["payments"], 100 * moves["receipts"], rtol=1e-8)
    # month by month: the month a model knows less about moves more
    variances = {uid: np.full(N, 1.0) for uid in means}
    variances["receipts"] = np.where(np.arange(N) % 2 == 0, 1.0, 50.0)
    out = coherent_paths(means, variances, IDENTITY, {})
    moved = np.abs(out["receipts"] - means["receipts"])
    odd_share = moved[1::2] / np.abs(means["balance"] - means["receipts"] + means["payments"])[1::2]
    even_share = moved[::2] / np.abs(means["balance"] - means["receipts"] + means["payments"])[::2]
    assert odd_share.min() > even_share.max()


def test_no_op_on_coherent_paths():
    means, variances = _random_paths(5)
    means["balance"] = means["receipts"] - means["payments"]
    keep = {"balance": [(0, 12)], "receipts": [(12, 12)], "payments": [(6, 6)]}
    out = coherent_paths(means, variances, IDENTITY, keep)
    for uid in means:
        np.testing.assert_allclose(out[uid], means[uid], rtol=0, atol=1e-9)


def test_paths_of_different_lengths_are_refused():
    means, variances = _random_paths(0)
    means["payments"] = means["payments"][:-1]
    with pytest.raises(ValueError, match="same months"):
        coherent_paths(means, variances, IDENTITY, {})
