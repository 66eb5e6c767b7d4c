"""A study's refresh is a list of steps over one context, the same way for every study.

The monthly, annual and mixed-frequency studies share the skeleton: stamp the run with its
lineage (data vintage, settings, code); stop at once when the same lineage is already registered
and its files are in place (idempotent refresh); otherwise run the study's own steps in order,
each a small function that reads what the earlier steps put on the context and adds its own.
The context also keeps how long each step took, for the console and the run's tags.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from experiments.tracking.lineage import registered_unchanged


class _StudySettings(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def registered_model(self) -> str: ...


Study = TypeVar("Study", bound=_StudySettings)


@dataclass
class StudyRun(Generic[Study]):
    """What every study's steps read: the study's settings, the refresh's config and clients,
    and the lineage tags its registered version will carry. Studies subclass it with the fields
    their own steps fill in."""

    study: Study
    config: Any  # experiments.config.RefreshConfig (imported by it, so not importable here)
    snapshot: Any  # features.snapshot.Snapshot
    client: Any  # mlflow.tracking.MlflowClient
    uri: str
    lineage: dict[str, str]
    force_promote: bool = False
    credit: str | None = None
    started: float = field(default_factory=time.perf_counter)
    step_seconds: dict[str, float] = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def registered_unchanged(self, registered_model: str, outputs: Mapping[str, Path] | Callable) -> str | None:
        """The version already registered with this lineage (and whose files are in place, put
        back from its run if not), or None when the study must run."""
        return registered_unchanged(self.client, registered_model, self.lineage, self.force_promote, outputs)


Run = TypeVar("Run", bound=StudyRun)
Step = Callable[[Run], None]
Outcome = TypeVar("Outcome")


def run_steps(run: Run, steps: Sequence[Step]) -> Run:
    """Run ``steps`` in order on ``run``, timing each (``run.step_seconds``); returns ``run``."""
    for step in steps:
        started = time.perf_counter()
        step(run)
        run.step_seconds[step.__name__.lstrip("_")] = time.perf_counter() - started
    return run


def run_study(
    run: Any, steps: Sequence[Step], outputs: Mapping[str, Path] | Callable, unchanged: Callable[..., Outcome]
) -> Outcome:
    """One study's refresh: when its lineage is already registered (and ``outputs``, the files of
    that version, are in place or put back), ``unchanged(name, registered_model, seconds,
    unchanged_version=version)``; else ``steps`` in order, whose last leaves ``run.outcome``,
    returned with the study's wall time."""
    study = run.study
    version = run.registered_unchanged(study.registered_model, outputs)
    if version is not None:
        return unchanged(study.name, study.registered_model, run.elapsed(), unchanged_version=version)
    run_steps(run, steps)
    return dataclasses.replace(run.outcome, seconds=run.elapsed())
