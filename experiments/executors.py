"""Where a refresh runs its backtests: joblib processes, a Dask scheduler, or a Dask LocalCluster.

The choice (config ``executor``, or ``deficit refresh --scheduler-address / --dask-local``) moves
tasks, never changes their results (forecast/backtest/executors.py). A scheduler address is tried
before the refresh writes anything, so an unreachable one fails in one line and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from experiments.config import ExecutorConfig, RefreshConfig
from features.errors import ConfigError, DeficitError
from features.yaml_settings import one_line
from forecast.backtest.executors import DaskExecutor, Executor, JoblibExecutor, Progress, Task

if TYPE_CHECKING:
    from distributed import LocalCluster


def with_cli_flags(config: RefreshConfig, scheduler_address: str | None, dask_local: bool) -> RefreshConfig:
    """``config`` with the executor the command-line flags ask for (none given: the config's)."""
    if scheduler_address is not None and dask_local:
        raise ConfigError("--scheduler-address and --dask-local exclude each other")
    if scheduler_address is None and not dask_local:
        return config
    try:
        if scheduler_address is not None:
            executor = ExecutorConfig(backend="dask", scheduler_address=scheduler_address)
        else:
            # A local cluster sized in the config stays that size; otherwise --n-jobs / n_jobs workers.
            executor = ExecutorConfig(backend="dask", n_workers=config.executor.n_workers)
    except ValidationError as err:
        raise ConfigError(f"--scheduler-address: {one_line(err.errors()[0]['msg'])}") from None
    return config.model_copy(update={"executor": executor})


def check_scheduler(config: RefreshConfig) -> None:
    """Connect once to the configured scheduler, if any. The wait is Dask's own connect timeout
    (``distributed.comm.timeouts.connect``, 30 s unless DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT
    says otherwise)."""
    address = config.executor.scheduler_address
    if address is None:
        return
    from distributed import Client

    try:
        Client(address).close()
    except (OSError, ValueError) as exc:  # OSError covers timeouts and refused connections
        raise DeficitError(f"Dask scheduler {address} is unreachable: {one_line(exc)}") from None


def executor_label(config: RefreshConfig) -> str:
    """The executor as logged with each refresh run."""
    ex = config.executor
    if ex.backend == "joblib":
        return f"joblib:{config.n_jobs}"
    return f"dask:{ex.scheduler_address}" if ex.scheduler_address else f"dask-local:{ex.n_workers or config.n_jobs}"


class _LazyLocalCluster:
    """One LocalCluster for every backtest of the refresh, started by the first that needs it:
    starting one costs seconds, and a refresh whose studies are all unchanged backtests nothing."""

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers
        self._cluster: LocalCluster | None = None

    def run(self, tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        if self._cluster is None:
            from distributed import LocalCluster

            # The same workers DaskExecutor starts: single-threaded processes, no dashboard.
            self._cluster = LocalCluster(
                n_workers=self.n_workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
            )
        return DaskExecutor(scheduler_address=self._cluster.scheduler_address).run(tasks, progress)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


@contextmanager
def backtest_executor(config: RefreshConfig) -> Iterator[Executor]:
    """The executor every backtest of the refresh uses, open for the duration of the block."""
    ex = config.executor
    if ex.backend == "joblib":
        yield JoblibExecutor(config.n_jobs)
    elif ex.scheduler_address is not None:
        yield DaskExecutor(scheduler_address=ex.scheduler_address)
    else:
        local = _LazyLocalCluster(ex.n_workers or config.n_jobs)
        try:
            yield local
        finally:
            local.close()
