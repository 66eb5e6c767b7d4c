"""A variant of the mixed-frequency model: an approach plus the indicators it regresses on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from experiments.studies.mixed.config import MixedStudyConfig
from experiments.studies.mixed.data import MixedData, own_months
from forecast.temporal.base import MixedFrequencyModel
from forecast.temporal.chow_lin import ChowLin
from forecast.temporal.state_space import StateSpaceCumulator

APPROACHES = {"state_space": StateSpaceCumulator, "chow_lin": ChowLin}
# A target's own monthly figures give its seasonal factors from three years on; with fewer, the
# factors come from its profile series (configs: profile_series).
MIN_OWN_MONTHS = 36


@dataclass(frozen=True)
class Variant:
    approach: str
    indicators: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return "+".join([self.approach, *self.indicators])

    @classmethod
    def parse(cls, name: str) -> Variant:
        approach, *indicators = name.split("+")
        return cls(approach, tuple(indicators))


def study_variants(study: MixedStudyConfig, uid: str) -> list[Variant]:
    """Every approach without indicators; on the first target also with each indicator."""
    plain = [Variant(a) for a in study.approaches]
    if uid != study.targets[0]:
        return plain
    return plain + [Variant(a, (i,)) for a in study.approaches for i in study.indicators]


def fit_variant(
    data: MixedData,
    study: MixedStudyConfig,
    uid: str,
    variant: Variant,
    windows: pd.DataFrame,
    end: pd.Timestamp,
    as_of: pd.Timestamp | None = None,
    profile_before: pd.Timestamp | None = None,
    factors: tuple[float, ...] | None = None,
) -> tuple[MixedFrequencyModel, pd.DataFrame | None]:
    """The variant fitted on ``windows``, and its indicator frame (known at ``as_of``) to ``end``.
    ``factors``: the seasonal factors to use (default: the target's own months when they are
    enough, else its profile series' months before ``profile_before``)."""
    if factors is None and own_months(windows) < MIN_OWN_MONTHS:
        factors = data.profile(study, uid, profile_before)
    model = APPROACHES[variant.approach](seasonal_factors=factors)
    first = pd.Timestamp(windows["start"].min())
    X = data.indicator_frame(
        list(variant.indicators), first, max(pd.Timestamp(end), pd.Timestamp(windows["end"].max())), as_of
    )
    fit_X = None if X is None else X.loc[: pd.Timestamp(windows["end"].max())]
    model.fit(windows, fit_X)
    return model, X
