"""Refresh and the vintage store: which data a refresh uses, the fetch-failure policy, and the
vintage id logged to MLflow."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest
from boj_fixture_server import FixtureServer, catalogue_answer, fixture_codes

from experiments.cli.vintages import Layout, import_file
from experiments.config import load_config
from experiments.refresh.data import prepare_data
from features.data_defaults import DEFAULT_BOJ_CATALOGUE
from features.errors import ConfigError
from features.sources.boj_catalogue import load_boj_catalogue
from features.sources.errors import SourceUnavailableError
from features.vintages import VintageStore

ROOT = Path(__file__).resolve().parents[1]
MOF = ROOT / "tests" / "data" / "sources" / "mof_6s-2-4.csv"


def write_config(tmp: Path, data: str, name: str = "config.yaml") -> Path:
    text = f"""
    mlruns_dir: {tmp / "mlruns"}
    series_catalog: {ROOT / "configs" / "series.yaml"}
    output_dir: {tmp / "projections"}
    n_jobs: 1
    data: {data}
    studies:
      - name: vt
        registered_model: vt-model
        targets: [digital_proxy.balance]
        exog: []
        models: [naive]
        backtest: {{horizon: 1, n_origins: 1}}
        projection_horizon: 2
    """
    path = tmp / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/api/v1/"


def stored_vintage(data_dir: Path) -> str:
    import_file(MOF, Layout.mof, "2024-05-10", data_dir, DEFAULT_BOJ_CATALOGUE)
    return VintageStore(data_dir).newest().id


def test_data_settings_are_validated_and_resolved(tmp_path):
    config, _ = load_config(write_config(tmp_path, "{dir: store, vintage: bundled}"), base=tmp_path)
    assert config.data.dir == tmp_path / "store" and config.data.vintage == "bundled" and not config.data.fetch
    default, _ = load_config(write_config(tmp_path, "{}"), base=tmp_path)
    assert default.data.dir == tmp_path / "data" / "vintages"
    for bad, fragment in [
        ("{fetch: true, vintage: abcd1234}", "vintage must be 'newest'"),
        ("{vintage: latest}", "data.vintage"),
        ("{on_fetch_error: retry}", "data.on_fetch_error"),
    ]:
        with pytest.raises(ConfigError) as err:
            load_config(write_config(tmp_path, bad, "bad.yaml"), base=tmp_path)
        assert fragment in str(err.value) and "\n" not in str(err.value)


def test_offline_fetch_goes_on_with_the_newest_local_vintage(tmp_path, capsys):
    vintage = stored_vintage(tmp_path / "store")
    capsys.readouterr()
    config, _ = load_config(
        write_config(tmp_path, f"{{dir: store, fetch: true, boj_api_url: '{closed_port_url()}'}}"), base=tmp_path
    )
    warnings: list[str] = []
    data = prepare_data(config, warn=warnings.append)
    assert data.selection.vintage_id == vintage
    assert len(warnings) == 1 and warnings[0].startswith("warning: fetch failed, refreshing on the newest local data")
    assert data.tags()["data_vintage_id"] == vintage
    assert data.tags()["data_fetch"].startswith("failed: BOJ API getMetadata BP01: cannot reach 127.0.0.1")


def test_offline_fetch_fails_the_refresh_when_the_config_says_so(tmp_path):
    stored_vintage(tmp_path / "store")
    config, _ = load_config(
        write_config(
            tmp_path, f"{{dir: store, fetch: true, on_fetch_error: fail, boj_api_url: '{closed_port_url()}'}}"
        ),
        base=tmp_path,
    )
    with pytest.raises(SourceUnavailableError, match="cannot reach"):
        prepare_data(config, warn=lambda message: None)


def test_fetch_before_refresh_selects_the_new_vintage(tmp_path):
    catalogue = load_boj_catalogue()
    with FixtureServer(catalogue_answer(catalogue, fixture_codes(catalogue))) as server:
        config, _ = load_config(
            write_config(tmp_path, f"{{dir: store, fetch: true, boj_api_url: '{server.url}'}}"), base=tmp_path
        )
        data = prepare_data(config, warn=lambda message: None)  # real 1 s spacing: 3 calls, ~2 s
    newest = VintageStore(tmp_path / "store").newest()
    assert data.tags() == {"data_vintage_id": newest.id, "data_fetch": f"new vintage {newest.id}"}
    assert newest.source == "boj_api" and data.from_boj_api


def test_refresh_uses_the_newest_vintage_and_logs_its_id_to_mlflow(tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    from experiments.refresh import run_refresh

    vintage = stored_vintage(tmp_path / "store")
    # Run from the repository (the other relative defaults, e.g. configs/, resolve there); the store
    # and every output are in tmp_path.
    notices: list[str] = []
    [outcome] = run_refresh(write_config(tmp_path, f"{{dir: {tmp_path / 'store'}}}"), base=ROOT, notice=notices.append)
    assert notices == []  # MOF figures: no BOJ credit line owed
    db = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=db, registry_uri=db)
    tags = client.get_run(outcome.parent_run_id).data.tags
    assert tags["data_vintage_id"] == vintage and tags["data_fetch"] == "off"
    version = client.get_model_version("vt-model", outcome.version)
    assert version.tags["data_vintage_id"] == vintage


def test_refresh_on_boj_api_figures_shows_the_credit_line(tmp_path):
    from experiments.refresh import run_refresh
    from features.errors import DeficitError
    from features.sources.boj_api import CREDIT

    catalogue = load_boj_catalogue()
    with FixtureServer(catalogue_answer(catalogue, fixture_codes(catalogue))) as server:
        config = write_config(tmp_path, f"{{dir: {tmp_path / 'store'}, fetch: true, boj_api_url: '{server.url}'}}")
        notices: list[str] = []
        # The fixture's few recent months leave a gap after 2017-03 that naive cannot cross: the
        # study fails in one line, after the credit line has been handed over.
        with pytest.raises(DeficitError, match="no model could be backtested"):
            run_refresh(config, base=ROOT, notice=notices.append)
    assert notices == [CREDIT]
