"""The shared study runner: every study is its list of steps over one context."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from experiments.studies.steps import StudyRun, run_steps


@dataclass
class _Run(StudyRun[str]):
    seen: list[str] = field(default_factory=list, kw_only=True)


def _run() -> _Run:
    return _Run("study", config=None, snapshot=None, client=None, uri="sqlite://", lineage={})


def _first(run: _Run) -> None:
    run.seen.append("first")


def _second(run: _Run) -> None:
    run.seen.append(f"second after {run.seen[-1]}")


def _broken(run: _Run) -> None:
    raise ValueError("bad figure")


def test_steps_run_in_order_on_one_context_and_are_timed():
    run = run_steps(_run(), (_first, _second))
    assert run.seen == ["first", "second after first"]
    assert list(run.step_seconds) == ["first", "second"] and all(s >= 0 for s in run.step_seconds.values())


def test_a_failing_step_stops_the_study_before_the_later_steps():
    run = _run()
    with pytest.raises(ValueError, match="bad figure"):
        run_steps(run, (_first, _broken, _second))
    assert run.seen == ["first"] and list(run.step_seconds) == ["first"]


@pytest.mark.parametrize(
    "module, steps",
    [
        ("experiments.studies.monthly.study", "backtest select gate fit project reconcile describe publish"),
        ("experiments.studies.annual.study", "backtest select fit project reconcile assess publish"),
        ("experiments.studies.mixed.study", "evidence select paths publish"),
    ],
)
def test_every_study_is_its_steps_in_the_documented_order(module, steps):
    import importlib

    study = importlib.import_module(module)
    assert [step.__name__.lstrip("_") for step in study.STEPS] == steps.split()
