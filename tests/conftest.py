"""Shared fixtures: synthetic series with known structure, and per-test MLflow stores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def monthly_series() -> pd.Series:
    """120 months of trend + yearly seasonality + noise (deterministic), freq MS."""
    rng = np.random.default_rng(0)
    idx = pd.date_range("2005-01-01", periods=120, freq="MS")
    t = np.arange(120)
    y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 120)
    return pd.Series(y, index=idx, name="y")


@pytest.fixture
def monthly_exog(monthly_series) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = np.log(110 + np.cumsum(rng.normal(0, 1, len(monthly_series))))
    return pd.DataFrame({"usdjpy_log": x}, index=monthly_series.index)


@pytest.fixture(scope="module")
def one_blas_thread():
    """One BLAS/OpenMP thread, as the engine runs each task: default threading makes the small
    statsmodels fits of unit tests several times slower on a 2-core machine. Module-scoped, so a
    module's own module-scoped fixtures (fitted models) run under it too; use it with
    ``pytestmark = pytest.mark.usefixtures("one_blas_thread")``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(autouse=True)
def restore_environment():
    """mlflow.set_tracking_uri/set_registry_uri export MLFLOW_* variables that child processes
    inherit; put os.environ back after every test so one test's store never leaks into another's."""
    import os

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def annual_refresh(tmp_path_factory):
    """One refresh of tests/test_annual_e2e.py's config (a monthly and an annual study), shared by
    the annual end-to-end and report tests, which only read what it left (~10 s saved)."""
    from test_annual_e2e import refresh_in

    tmp = tmp_path_factory.mktemp("annual")
    return tmp, refresh_in(tmp)
