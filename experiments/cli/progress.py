"""Progress display for long steps (the backtest), on stderr so stdout stays machine-readable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


@contextmanager
def progress_reporter(console: Console) -> Iterator:
    """Yield a ``callback(label, done, total)`` that drives one bar per label."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def callback(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"backtest {label}", total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield callback
