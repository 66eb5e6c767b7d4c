"""The mixed-frequency evidence runs on the refresh's executor: a real Dask LocalCluster gives the
same tables as this process."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.config import load_config
from experiments.studies.mixed.data import prepare_mixed
from experiments.studies.mixed.evidence import run_evidence
from features.series import load_catalog
from features.snapshot import load_snapshot
from forecast.backtest.executors import DaskExecutor, JoblibExecutor

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_dask_and_in_process_evidence_are_identical():
    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    study = config.mixed_frequency_studies[0]
    study = study.model_copy(
        update={
            "indicators": ["services_total"],
            "evidence": study.evidence.model_copy(update={"origins": [2022, 2024]}),
        }
    )
    data = prepare_mixed(load_snapshot(), load_catalog(config.series_catalog), study)
    local = run_evidence(data, study, JoblibExecutor(1))
    dask = run_evidence(data, study, DaskExecutor(n_workers=2))
    for a, b in zip(local, dask):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=False, rtol=1e-9)
    assert set(local[1]["origin"]) == {2022, 2024}
