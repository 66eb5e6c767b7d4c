"""Which official data a refresh runs on: optionally fetch a new vintage, then pick one.

``data.fetch: true`` asks the BOJ API for a new vintage first. If that fails (offline, BOJ
errors, data that break the input rules) the refresh goes on with the newest local vintage,
or stops when ``data.on_fetch_error: fail``. Then ``data.vintage`` picks the data: ``newest``
(the bundled snapshot when the store is empty), ``bundled``, or a vintage id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from experiments.config import RefreshConfig
from features.errors import DataValidationError
from features.sources.boj_api import BojApiClient
from features.sources.boj_catalogue import load_boj_catalogue
from features.sources.boj_fetch import fetch_boj
from features.sources.errors import SourceError
from features.vintage_snapshot import DataSelection, select_data
from features.vintages import VintageStore


@dataclass(frozen=True)
class RefreshData:
    selection: DataSelection
    fetch: str  # what the fetch step did: "off", "new vintage <id>", "unchanged ...", "failed: ..."

    @property
    def from_boj_api(self) -> bool:
        """Were these figures served by the BOJ API (whose terms require the credit line)?"""
        vintage = self.selection.vintage
        return vintage is not None and vintage.source == "boj_api"

    def tags(self) -> dict[str, str]:
        """Lineage logged to MLflow with every refresh run and model version."""
        return {"data_vintage_id": self.selection.vintage_id, "data_fetch": self.fetch[:500]}


def prepare_data(config: RefreshConfig, warn: Callable[[str], None]) -> RefreshData:
    data = config.data
    fetch = "off"
    if data.fetch:
        try:
            intake = fetch_boj(BojApiClient(data.boj_api_url), load_boj_catalogue(data.boj_catalogue), data.dir)
            saved = VintageStore(data.dir).save(intake)
            fetch = f"{'new' if saved.created else 'unchanged'} vintage {saved.info.id}"
        except (SourceError, DataValidationError) as err:
            if data.on_fetch_error == "fail":
                raise
            fetch = f"failed: {err}"
            warn(f"warning: fetch failed, refreshing on the newest local data instead: {err}")
    return RefreshData(select_data(config.snapshot_dir, data.dir, data.vintage), fetch)
