"""Where backtest tasks run: joblib worker processes on this machine, or a Dask cluster.

A task is a joblib ``delayed`` triple ``(function, args, kwargs)``: a pure function of its
arguments, so the executor changes where and when it runs, never what it returns. Results come
back in task order whatever order the workers finish in, which keeps backtest output identical
across executors and worker counts. BLAS/OpenMP threads are limited to one per worker inside the
task itself (see ``engine._run_task``): on 2 cores nested threads made single SARIMAX fits 8-17x
slower, and that limit must hold on remote workers too, where no parent can set it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from joblib import Parallel
from threadpoolctl import ThreadpoolController

Task = tuple[Callable[..., Any], tuple, dict]
Progress = Callable[[int, int], None]


class Executor(Protocol):
    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        """Run every task; return their results in task order. ``progress(done, total)`` is
        called as tasks finish."""
        ...


@dataclass(frozen=True)
class JoblibExecutor:
    """joblib's default (loky) worker processes; ``n_jobs=1`` runs in this process."""

    n_jobs: int = 1

    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        results = []
        for done, result in enumerate(Parallel(n_jobs=self.n_jobs, return_as="generator")(tasks), start=1):
            results.append(result)
            if progress is not None:
                progress(done, len(tasks))
        return results


@dataclass(frozen=True)
class DaskExecutor:
    """A Dask ``distributed`` cluster: the scheduler at ``scheduler_address``, or else a
    ``LocalCluster`` of ``n_workers`` single-threaded worker processes started for the run.

    Workers must be able to import this package (install it on every worker). A ``LocalCluster``
    spawns its workers, so a script that uses it needs an ``if __name__ == "__main__":`` guard.
    """

    scheduler_address: str | None = None
    n_workers: int = 2

    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        from distributed import Client, LocalCluster, as_completed

        if self.scheduler_address is not None:
            client = Client(self.scheduler_address)
            cluster = None
        else:
            # One thread per worker: the tasks are CPU-bound Python, threads would share one GIL.
            cluster = LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
            client = Client(cluster)
        try:
            # pure=False: identical tasks (say, two models with equal parameters) must both run.
            futures = [client.submit(function, *args, pure=False, **kwargs) for function, args, kwargs in tasks]
            for done, _ in enumerate(as_completed(futures), start=1):
                if progress is not None:
                    progress(done, len(futures))
            return client.gather(futures)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


# (number of imported modules, controller): finding the BLAS/OpenMP libraries scans the process's
# memory map, ~5 ms, which was a quarter of a cheap task's cost (M3 Naive2/Theta). Libraries arrive
# with imports, so the scan is redone only when the module count has changed.
_controller: tuple[int, ThreadpoolController] | None = None


def one_blas_thread() -> AbstractContextManager:
    """Context manager limiting every BLAS/OpenMP library loaded in this process to one thread."""
    global _controller
    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1].limit(limits=1)


def make_executor(n_jobs: int = 1, scheduler_address: str | None = None, dask: bool = False) -> Executor:
    """joblib with ``n_jobs`` workers, unless a scheduler address or ``dask`` asks for Dask (a
    ``LocalCluster`` of ``n_jobs`` workers when no address is given)."""
    if scheduler_address is not None or dask:
        return DaskExecutor(scheduler_address=scheduler_address, n_workers=n_jobs)
    return JoblibExecutor(n_jobs=n_jobs)
