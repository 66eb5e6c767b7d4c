"""Monthly paths made coherent: an accounting identity in every month, published totals kept.

Separately estimated paths of ``balance``, ``receipts`` and ``payments`` need not satisfy
``balance = receipts - payments`` month by month. The smallest change in the metric of each
month's variance (a month a model knows less about moves more) that makes the identity hold in
every month *and* keeps each path's sums over its own published windows (at the published
values) is the
projection ``d = W A' (A W A')^+ (b - A x)``, where ``A`` stacks the identity rows and the
window-sum rows. The pseudo-inverse copes with the rows that repeat each other (a year whose
three totals already satisfy the identity). Intervals move with their mean (widths unchanged),
as in :mod:`forecast.reconciliation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from forecast.reconciliation import Identity


def coherent_paths(
    means: Mapping[str, np.ndarray],
    variances: Mapping[str, np.ndarray],
    identity: Identity,
    keep: Mapping[str, Sequence[tuple]],
) -> dict[str, np.ndarray]:
    """Adjusted means (same keys, same lengths). ``keep[uid]``: (first, months) windows whose sums
    stay as they are, or (first, months, value) windows whose sums become ``value`` (a published
    total: totals that satisfy the identity among themselves leave no conflict with it). Every path
    must have the same length (the months to make coherent)."""
    order = identity.series
    n = len(means[order[0]])
    if any(len(means[u]) != n for u in order):
        raise ValueError("paths to reconcile must cover the same months")
    x = np.concatenate([np.asarray(means[u], dtype=float) for u in order])
    w = np.concatenate([np.maximum(np.asarray(variances[u], dtype=float), 1e-12) for u in order])
    signs = identity.row(order)
    rows, target = [], []
    for t in range(n):
        row = np.zeros(len(x))
        for k, sign in enumerate(signs):
            row[k * n + t] = sign
        rows.append(row)
        target.append(0.0)
    for k, uid in enumerate(order):
        for first, months, *value in keep.get(uid, ()):
            row = np.zeros(len(x))
            row[k * n + first : k * n + first + months] = 1.0
            rows.append(row)
            target.append(float(value[0]) if value else float(row @ x))
    A = np.vstack(rows)
    b = np.asarray(target)
    inverse = np.linalg.pinv((A * w) @ A.T, rcond=1e-10, hermitian=True)
    out = x
    # one refinement step: the pseudo-inverse of a near-singular system leaves ~1e-6 of the gap
    for _ in range(2):
        out = out + w * (A.T @ (inverse @ (b - A @ out)))
    return {uid: out[k * n : (k + 1) * n] for k, uid in enumerate(order)}
