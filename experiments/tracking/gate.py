"""Champion/challenger gate: promote a candidate only on evidence, not on noise.

Both models are scored on the same backtest folds of the same data (the candidate's recipe and
the champion's recipe re-run by the same engine). The candidate replaces the champion only when
it is better by the configured relative margin AND a one-sided Diebold-Mariano test rejects
equal accuracy at the configured level. Otherwise it is registered as ``challenger``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.comparison import diebold_mariano, pointwise_loss

KEYS = ["unique_id", "cutoff", "ds"]


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    p_value: float | None = None
    champion_score: float | None = None
    candidate_score: float | None = None
    improvement: float | None = None  # relative: (champion - candidate) / champion
    forced: bool = False

    @property
    def alias(self) -> str:
        return "champion" if self.promote else "challenger"

    def tags(self) -> dict[str, str]:
        fmt = lambda v: "n/a" if v is None else f"{v:.6g}"  # noqa: E731  (no test was run)
        return {
            "gate_decision": "forced" if self.forced else ("promoted" if self.promote else "challenger"),
            "gate_reason": self.reason,
            "gate_p_value": fmt(self.p_value),
            "gate_champion_score": fmt(self.champion_score),
            "gate_candidate_score": fmt(self.candidate_score),
        }


def _score(losses: np.ndarray, metric: str) -> float:
    mean = float(np.mean(losses))
    return math.sqrt(mean) if metric == "rmse" else mean


def decide(
    champion: pd.DataFrame,
    candidate: pd.DataFrame,
    metric: str,
    margin: float,
    alpha: float,
    horizon: int,
    step: int,
) -> GateDecision:
    """Compare two sets of backtest forecasts (same columns as the engine's) on their shared points."""
    paired = champion.merge(candidate, on=KEYS, suffixes=("_champion", "_candidate"))
    if paired.empty:
        return GateDecision(True, "the champion shares no backtest point with the candidate (different targets)")

    def side(suffix: str) -> pd.DataFrame:
        cols = [c for c in paired.columns if c.endswith(suffix)]
        return paired[cols].rename(columns=lambda c: c[: -len(suffix)])

    loss_champion = pointwise_loss(side("_champion"), metric)
    loss_candidate = pointwise_loss(side("_candidate"), metric)
    ok = np.isfinite(loss_champion) & np.isfinite(loss_candidate)
    champion_score = _score(loss_champion[ok], metric)
    candidate_score = _score(loss_candidate[ok], metric)
    improvement = (champion_score - candidate_score) / champion_score if champion_score > 0 else 0.0

    per_origin = pd.Series(loss_candidate[ok] - loss_champion[ok]).groupby(paired.loc[ok, "cutoff"].to_numpy()).mean()
    # Origins `step` apart share target periods for ceil(h/step)-1 lags.
    overlap = max(math.ceil(horizon / step) - 1, 0)
    if len(per_origin) < 2:
        return GateDecision(
            False, "too few shared backtest origins to test", None, champion_score, candidate_score, improvement
        )
    dm = diebold_mariano(per_origin.to_numpy(), max_lag=overlap)
    common: dict[str, Any] = dict(
        p_value=dm.p_value, champion_score=champion_score, candidate_score=candidate_score, improvement=improvement
    )
    if improvement < margin:
        return GateDecision(False, f"{metric} improvement {improvement:.1%} is below the margin {margin:.1%}", **common)
    if dm.p_value >= alpha:
        return GateDecision(
            False, f"Diebold-Mariano p={dm.p_value:.3f} >= {alpha}: equal accuracy not rejected", **common
        )
    return GateDecision(True, f"{metric} {improvement:.1%} better, Diebold-Mariano p={dm.p_value:.3g}", **common)
