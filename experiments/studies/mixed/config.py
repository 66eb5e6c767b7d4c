"""Config of a mixed-frequency study (``mixed_frequency_studies:`` in the refresh YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from experiments.names import NAME_PATTERN
from experiments.reconcile_config import IdentityConfig
from features.yaml_settings import StrictSettings

Approach = Literal["state_space", "chow_lin"]
Indicator = Literal["usdjpy", "services_total", "services_total_12m", "wdi_ip_payments"]
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class EvidenceConfig(StrictSettings):
    """Leakage-free evidence. ``hide``: months whose monthly figures are hidden (their totals
    stay) to score the reconstruction; ``origins``: data through each year (figures published
    by March of the next year), scored on the next year's published totals."""

    hide_first: str = Field("2014-01", pattern=_MONTH)
    hide_last: str = Field("2016-12", pattern=_MONTH)
    origins: list[int] = Field([2014, 2015, 2021, 2022, 2023, 2024], min_length=1)
    publication_month: int = Field(3, ge=1, le=12)  # figures of year Y count as known by the end of this month of Y+1
    calibrate: bool = True  # widen intervals by the conformal factor of the origin errors when coverage is short


class MixedStudyConfig(StrictSettings):
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    registered_model: str = Field(min_length=1, pattern=NAME_PATTERN)
    # the annual catalogue that names each target's monthly series and published item/flow
    series_catalog: Path | None = None
    scenarios_dir: Path | None = None
    targets: list[str] = Field(min_length=1)
    # seasonal profile source when a target's own months cannot give one (e.g. the hidden test)
    profile_series: dict[str, str] = {}
    approaches: list[Approach] = Field(["state_space", "chow_lin"], min_length=1)
    indicators: list[Indicator] = []  # each scored with and without, on the first target
    default_approach: Approach = "state_space"
    identity: IdentityConfig | None = None
    evidence: EvidenceConfig = EvidenceConfig()
    projection_end: str = Field("2030-12", pattern=_MONTH)

    @field_validator("approaches", "indicators")
    @classmethod
    def _unique(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError("listed more than once")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> MixedStudyConfig:
        if self.default_approach not in self.approaches:
            raise ValueError("default_approach must be one of approaches")
        if self.identity is not None:
            outside = [
                u for u in [self.identity.lhs, *self.identity.plus, *self.identity.minus] if u not in self.targets
            ]
            if outside:
                raise ValueError(f"identity names '{outside[0]}', which is not a target")
        stray = set(self.profile_series) - set(self.targets)
        if stray:
            raise ValueError(f"profile_series names '{sorted(stray)[0]}', which is not a target")
        if pd.Period(self.evidence.hide_last, "M") < pd.Period(self.evidence.hide_first, "M"):
            raise ValueError("evidence.hide_last is before hide_first")
        return self

    @property
    def end(self) -> pd.Timestamp:
        return pd.Period(self.projection_end, "M").to_timestamp()

    def resolve(self, base: Path) -> MixedStudyConfig:
        def absolute(p: Path | None) -> Path | None:
            return None if p is None else (p if p.is_absolute() else (base / p).resolve())

        return self.model_copy(
            update={"series_catalog": absolute(self.series_catalog), "scenarios_dir": absolute(self.scenarios_dir)}
        )
