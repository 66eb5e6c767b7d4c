"""Split-conformal interval half-widths, shared by the models that calibrate on their own errors."""

from __future__ import annotations

import numpy as np


def conformal_quantile(errors: np.ndarray, level: float) -> float:
    """The ceil((n + 1) * level)-th smallest of the n finite absolute errors, capped at the
    largest; NaN if there are none (the finite-sample conformal quantile)."""
    errors = np.sort(np.asarray(errors, dtype=float))
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        return np.nan
    rank = min(int(np.ceil((errors.size + 1) * level)), errors.size)
    return float(errors[rank - 1])
