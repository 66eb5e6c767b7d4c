"""The kinds of study a refresh runs, each one config list and two functions.

A kind says where its studies sit in a config (``key``: a list of ``config`` settings, each with a
``name`` and a ``registered_model``), how to build one study's inputs before the refresh writes
anything (``prepare``: bad series, data or settings fail there), and how to refresh it (``run``,
given a :class:`StudyCall`). ``deficit refresh`` runs every kind's studies in the order the kinds
are listed, so a later kind can read an earlier one's outcomes (the mixed-frequency study scores
the annual study's forecasts beside its own).

The shipped kinds are named in ``BUILT_IN_KINDS`` (module:attribute, imported when first asked
for, like the model registry); a study of your own is one module that defines its ``StudyKind``
and calls :func:`register_study_kind` (see tests/examples/test_add_a_study.py). Its studies then
go in the config under the kind's ``key``, validated with the rest of the config before any write.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BUILT_IN_KINDS: tuple[str, ...] = (
    "experiments.studies.monthly.study:KIND",
    "experiments.studies.annual.study:KIND",
    "experiments.studies.mixed.study:KIND",
)


@dataclass(frozen=True)
class StudyCall:
    """What ``StudyKind.run`` receives: the study's settings and prepared inputs, and what the
    refresh shares with every study. ``context_args(fingerprint, credit)`` are the first
    arguments of a :class:`experiments.studies.steps.StudyRun` (settings, config, snapshot,
    tracking client and URI, lineage tags, force-promote flag, credit line)."""

    study: Any
    data: Any
    shared: Any  # the refresh's shared state (experiments.refresh._Shared): .config, .run_args(...)
    executor: Any
    progress: Callable[[str, int, int], None] | None
    credit: str | None
    earlier: tuple[Any, ...] = ()  # outcomes of the studies run before this one

    @property
    def config(self) -> Any:
        return self.shared.config

    def context_args(self, fingerprint: str, credit: str | None = None) -> tuple:
        return self.shared.run_args(self.study, fingerprint, credit)


@dataclass(frozen=True)
class StudyKind:
    key: str  # the config's list of these studies, e.g. "annual_studies"
    config: type  # one study's settings (a pydantic model with name and registered_model)
    prepare: Callable[[Any, Any, Any, Any], Any]  # (study, refresh config, snapshot, series catalog) -> inputs
    run: Callable[[StudyCall], Any]  # -> outcome (.study, .registered_model, .seconds, .print_report)

    def studies(self, config: Any) -> list:
        return list(getattr(config, self.key, None) or [])


_registered: dict[str, StudyKind] = {}


def register_study_kind(kind: StudyKind) -> None:
    """Add a kind of study to every refresh (and its ``key`` to the config) from your own code."""
    if kind.key in {k.key for k in _built_in()}:
        raise ValueError(f"study kind {kind.key!r} is shipped already")
    _registered[kind.key] = kind


def unregister_study_kind(key: str) -> None:
    _registered.pop(key, None)


def registered_study_kinds() -> list[StudyKind]:
    """The kinds registered from outside (the shipped kinds' lists are fields of RefreshConfig)."""
    return list(_registered.values())


def study_kinds() -> list[StudyKind]:
    """Every kind, in the order a refresh runs them: the shipped ones, then those registered."""
    return [*_built_in(), *_registered.values()]


def _built_in() -> list[StudyKind]:
    kinds = []
    for path in BUILT_IN_KINDS:
        module, attribute = path.split(":")
        kinds.append(getattr(importlib.import_module(module), attribute))
    return kinds
