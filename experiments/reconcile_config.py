"""The ``reconcile:`` option shared by monthly and annual studies (forecast/reconciliation.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from features.yaml_settings import StrictSettings
from forecast.reconciliation import Identity, constrained_series, constraint_matrix


class IdentityConfig(StrictSettings):
    """``lhs = sum(plus) - sum(minus)``, e.g. balance = receipts - payments."""

    lhs: str
    plus: list[str] = []
    minus: list[str] = []

    def identity(self) -> Identity:
        return Identity(lhs=self.lhs, plus=tuple(self.plus), minus=tuple(self.minus))


class ReconcileConfig(StrictSettings):
    """Make the projections satisfy ``identities`` (forecast/reconciliation.py). ``wls_var``: the
    target with the larger backtest errors (selected model, one step ahead) takes more of the
    adjustment; OLS when a target has none. ``mint_shrink`` needs ``min_joint_errors`` periods scored
    for every target, else uses the diagonal (the annual targets have a handful)."""

    method: Literal["ols", "wls_var", "mint_shrink"] = "wls_var"
    identities: list[IdentityConfig] = Field(min_length=1)
    min_joint_errors: int = Field(8, ge=3)

    def check(self, projected: Iterable[str]) -> None:
        """Every identity names only projected series, and none follows from the others."""
        projected = set(projected)
        identities = [spec.identity() for spec in self.identities]
        for identity in identities:
            outside = [uid for uid in identity.series if uid not in projected]
            if outside:
                raise ValueError(
                    f"reconcile identity for '{identity.lhs}' names '{outside[0]}', which the study does not project"
                )
        constraint_matrix(identities, constrained_series(identities))
