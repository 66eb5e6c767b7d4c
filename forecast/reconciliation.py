"""Forecast reconciliation under linear constraints ``C y = 0`` (accounting identities).

Identities such as ``balance = receipts - payments`` are written directly as rows of ``C``
(no summing matrix, so differences and several overlapping identities need no hierarchy). Base
forecasts ``y`` are projected onto the coherent subspace in the metric of ``W``::

    y_rec = y - W C' (C W C')^-1 C y

``W`` is the identity (``ols``), the diagonal of per-series error second moments (``wls_var``:
a series that forecasts worse absorbs more of the adjustment) or the Schäfer-Strimmer shrunk
error covariance (``mint_shrink``; it needs ``min_joint_errors`` dates with an error for every
constrained series, else the diagonal is used and :attr:`Weights.method` says so). Errors are
taken about zero (mean squared error, not variance about the error mean): with the handful of
backtest errors annual series have, the bias is part of what a series gets wrong.

Prediction intervals are not reconciled: each bound is moved by its series' mean adjustment, so
widths (and the nesting lo_95 <= lo_80 <= mean <= hi_80 <= hi_95) are kept. This is an
approximation: a reconciled forecast's exact uncertainty would be narrower than the base one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

METHODS = ("ols", "wls_var", "mint_shrink")
BOUNDS = ("lo_80", "hi_80", "lo_95", "hi_95")


@dataclass(frozen=True)
class Identity:
    """``lhs = sum(plus) - sum(minus)``; as a row of ``C``: +1 on lhs, -1 on plus, +1 on minus."""

    lhs: str
    plus: Sequence[str] = ()
    minus: Sequence[str] = ()

    def __post_init__(self) -> None:
        names = [self.lhs, *self.plus, *self.minus]
        if len(set(names)) != len(names):
            raise ValueError(f"identity for '{self.lhs}' names a series more than once: {names}")
        if not self.plus and not self.minus:
            raise ValueError(f"identity for '{self.lhs}' has no right-hand side")

    @property
    def series(self) -> list[str]:
        return [self.lhs, *self.plus, *self.minus]

    def row(self, order: Sequence[str]) -> np.ndarray:
        position = {uid: i for i, uid in enumerate(order)}
        row = np.zeros(len(order))
        for uid, sign in [(self.lhs, 1.0), *((p, -1.0) for p in self.plus), *((m, 1.0) for m in self.minus)]:
            if uid not in position:
                raise ValueError(f"identity for '{self.lhs}' names unknown series '{uid}'")
            row[position[uid]] = sign
        return row


@dataclass(frozen=True)
class Weights:
    """``W`` over ``series`` (in that order) and the method that produced it (after fallbacks)."""

    series: tuple[str, ...]
    matrix: np.ndarray
    method: str


def constrained_series(identities: Iterable[Identity]) -> list[str]:
    """Every series an identity names, in first-mention order."""
    return list(dict.fromkeys(uid for identity in identities for uid in identity.series))


def constraint_matrix(identities: Sequence[Identity], order: Sequence[str]) -> np.ndarray:
    if not identities:
        raise ValueError("no identities to reconcile")
    C = np.vstack([identity.row(order) for identity in identities])
    if np.linalg.matrix_rank(C) < len(C):
        raise ValueError("the identities are linearly dependent (one follows from the others); drop the redundant one")
    return C


def weights(
    method: str, series: Sequence[str], errors: pd.DataFrame | None = None, min_joint_errors: int = 8
) -> Weights:
    """``W`` for ``method`` from ``errors`` (long: ``unique_id, ds, error``; NaN errors ignored).

    ``wls_var`` and ``mint_shrink`` fall back to ``ols`` when a series has no error at all (error
    scales cannot be mixed with unit weights); ``mint_shrink`` falls back to ``wls_var`` with fewer
    than ``min_joint_errors`` dates at which every series has an error.
    """
    if method not in METHODS:
        raise ValueError(f"unknown reconciliation method '{method}'; known: {', '.join(METHODS)}")
    series = tuple(series)
    identity = Weights(series, np.eye(len(series)), "ols")
    if method == "ols":
        return identity
    errors = _error_table(errors, series)
    if errors[list(series)].notna().sum().min() == 0:
        return Weights(
            series,
            np.eye(len(series)),
            "ols (no backtest errors for " + ", ".join(uid for uid in series if errors[uid].notna().sum() == 0) + ")",
        )
    second_moment = (errors[list(series)] ** 2).mean().to_numpy()
    if np.any(second_moment <= 0):
        return Weights(series, np.eye(len(series)), "ols (a series has zero backtest error)")
    diagonal = Weights(series, np.diag(second_moment), "wls_var")
    if method == "wls_var":
        return diagonal
    joint = errors[list(series)].dropna().to_numpy()
    if len(joint) < max(min_joint_errors, 3):
        return Weights(
            series,
            diagonal.matrix,
            f"wls_var (mint_shrink needs {max(min_joint_errors, 3)} joint errors, has {len(joint)})",
        )
    return Weights(series, shrunk_covariance(joint), "mint_shrink")


def shrunk_covariance(errors: np.ndarray) -> np.ndarray:
    """Schäfer-Strimmer: the correlations shrunk towards zero with the estimated optimal intensity,
    scaled back by the per-series error second moments (errors about zero, as in MinT)."""
    n = len(errors)
    scale = np.sqrt((errors**2).mean(axis=0))
    standard = errors / scale
    sample = standard.T @ standard / n
    products = standard[:, :, None] * standard[:, None, :]
    var_r = n / (n - 1) ** 3 * ((products - products.mean(axis=0)) ** 2).sum(axis=0)
    off = ~np.eye(errors.shape[1], dtype=bool)
    denominator = (sample[off] ** 2).sum()
    intensity = 1.0 if denominator == 0 else float(np.clip(var_r[off].sum() / denominator, 0.0, 1.0))
    shrunk = (1 - intensity) * sample
    np.fill_diagonal(shrunk, 1.0)
    return shrunk * np.outer(scale, scale)


def reconcile_matrix(y: np.ndarray, C: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Rows of ``y`` (dates x series) projected so that ``C y_row = 0``."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    gain = W @ C.T @ np.linalg.solve(C @ W @ C.T, C)
    return y - y @ gain.T


def reconcile(forecasts: pd.DataFrame, identities: Sequence[Identity], w: Weights | None = None) -> pd.DataFrame:
    """Reconcile a long frame (``unique_id, ds, mean`` and optionally the 80/95% bounds).

    Only the series the identities name change; at every ``ds`` each of them must have a
    forecast. ``w`` defaults to OLS. Bounds move with their series' mean (widths kept).
    """
    series = constrained_series(identities)
    known = set(forecasts["unique_id"])
    unknown = [uid for uid in series if uid not in known]
    if unknown:
        raise ValueError(f"identities name series without forecasts: {', '.join(unknown)}")
    w = w or Weights(tuple(series), np.eye(len(series)), "ols")
    missing_w = [uid for uid in series if uid not in w.series]
    if missing_w:
        raise ValueError(f"weights do not cover {', '.join(missing_w)}")
    take = [w.series.index(uid) for uid in series]
    W = w.matrix[np.ix_(take, take)]
    C = constraint_matrix(identities, series)

    inside = forecasts["unique_id"].isin(series)
    if forecasts.loc[inside].duplicated(["unique_id", "ds"]).any():
        raise ValueError("more than one forecast per (unique_id, ds)")
    wide = forecasts.loc[inside].pivot(index="ds", columns="unique_id", values="mean").reindex(columns=series)
    incomplete = wide.isna().any(axis=1)
    if incomplete.any():
        ds = wide.index[incomplete][0]
        absent = [uid for uid in series if pd.isna(wide.at[ds, uid])]
        raise ValueError(f"at {ds}, no forecast for {', '.join(absent)} (every series of an identity needs one)")
    adjusted = pd.DataFrame(reconcile_matrix(wide.to_numpy(), C, W), index=wide.index, columns=series)
    shift = (adjusted - wide).stack().rename("_shift")
    out = forecasts.join(shift, on=["ds", "unique_id"])
    out["_shift"] = out["_shift"].fillna(0.0)
    for column in ["mean", *(b for b in BOUNDS if b in out.columns)]:
        out[column] = out[column] + out["_shift"]
    return out.drop(columns="_shift")


def max_violation(forecasts: pd.DataFrame, identities: Sequence[Identity]) -> float:
    """Largest ``|C y|`` over the dates at which every constrained series has a mean."""
    series = constrained_series(identities)
    wide = forecasts[forecasts["unique_id"].isin(series)].pivot(index="ds", columns="unique_id", values="mean")
    wide = wide.reindex(columns=series).dropna()
    if wide.empty:
        return 0.0
    return float(np.abs(wide.to_numpy() @ constraint_matrix(identities, series).T).max())


def _error_table(errors: pd.DataFrame | None, series: Sequence[str]) -> pd.DataFrame:
    if errors is None or errors.empty:
        return pd.DataFrame(columns=list(series), dtype=float)
    rows = errors[errors["unique_id"].isin(series)].dropna(subset=["error"])
    if rows.duplicated(["unique_id", "ds"]).any():
        raise ValueError("more than one error per (unique_id, ds)")
    return rows.pivot(index="ds", columns="unique_id", values="error").reindex(columns=list(series))
