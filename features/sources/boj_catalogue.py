"""The BOJ series catalogue (configs/boj_series.yaml): our series ids -> BOJ databases and codes.

Also resolves the codes that could not be confirmed offline: at the first online use, the
series whose Japanese name equals the catalogue's ``name_ja`` in ``getMetadata`` gives the code,
and the answer is kept in ``boj_codes.json`` in the data directory so later fetches (and
imports of bulk files) use it without asking again.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.atomic import write_text_atomic
from features.data_defaults import DEFAULT_BOJ_CATALOGUE
from features.errors import ConfigError
from features.schemas import BOJ_ITEMS, FLOWS, FX_UNIT, YEN_UNIT
from features.sources.boj_response import MetadataRow
from features.sources.errors import SourceError
from features.sources.figures import FX_FLOW, FX_ITEM
from features.yaml_settings import load_settings

CODES_FILE = "boj_codes.json"
SERIES_IDS = tuple(f"{i}.{f}" for i in BOJ_ITEMS for f in FLOWS) + (f"{FX_ITEM}.{FX_FLOW}",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Database(_Strict):
    title: str = Field(min_length=1)
    frequency: Literal["MONTHLY"]
    unit: Literal[YEN_UNIT, FX_UNIT]  # type: ignore[valid-type]
    unit_names: list[str] = Field(min_length=1)


class Entry(_Strict):
    db: str = Field(pattern=r"^[A-Z0-9]+$")
    name_ja: str = Field(min_length=1)
    name_en: str | None = None
    code: str | None = Field(None, pattern=r"^[A-Za-z0-9@._-]+$")  # no DB prefix, no comma
    verified: bool = False

    @model_validator(mode="after")
    def _verified_has_code(self) -> Entry:
        if self.verified and not self.code:
            raise ValueError("a verified entry needs its code")
        return self


class CatalogueFile(_Strict):
    databases: dict[str, Database] = Field(min_length=1)
    series: dict[Literal[SERIES_IDS], Entry] = Field(min_length=1)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _known_databases(self) -> CatalogueFile:
        for sid, entry in self.series.items():
            if entry.db not in self.databases:
                raise ValueError(f"series {sid} names database {entry.db}, which is not under 'databases'")
        return self


def normalize_name(text: str) -> str:
    """Compare names as text: full-width spaces and slashes as ASCII, runs of space as one."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class ResolvedCode:
    series_id: str
    db: str
    code: str
    name_ja: str
    basis: str  # "catalogue (verified)" or "getMetadata <date>"


class BojCatalogue:
    def __init__(self, parsed: CatalogueFile, path: Path) -> None:
        self.databases = dict(parsed.databases)
        self.series = dict(parsed.series)
        self.path = path

    @staticmethod
    def item_flow(series_id: str) -> tuple[str, str]:
        item, flow = series_id.split(".")
        return item, flow

    def unit_of(self, db: str, text: str) -> str:
        """Our unit for a unit text the source printed; unknown texts are returned as written."""
        database = self.databases[db]
        known = {normalize_name(u).lower() for u in database.unit_names}
        return database.unit if normalize_name(text).lower() in known else text

    def by_name(self, name: str) -> str | None:
        """Series id whose Japanese or English name equals ``name``."""
        wanted = normalize_name(name)
        for sid, entry in self.series.items():
            if wanted in (normalize_name(entry.name_ja), normalize_name(entry.name_en or "")):
                return sid
        return None

    def verified_codes(self) -> dict[str, ResolvedCode]:
        return {
            sid: ResolvedCode(sid, e.db, e.code, e.name_ja, "catalogue (verified)")
            for sid, e in self.series.items()
            if e.verified and e.code
        }

    def export_code(self, series_id: str) -> str:
        """Code for a bulk-file export: the BOJ code if verified, else our own id (never a guess)."""
        entry = self.series[series_id]
        return entry.code if entry.verified and entry.code else series_id


def load_boj_catalogue(path: Path = DEFAULT_BOJ_CATALOGUE) -> BojCatalogue:
    return BojCatalogue(load_settings(path, CatalogueFile, "a mapping of BOJ series"), Path(path))


# --- resolution of unverified codes ---------------------------------------------------------------


def load_resolved(data_dir: Path, catalogue: BojCatalogue) -> dict[str, ResolvedCode]:
    """Verified codes plus the codes resolved earlier (an entry whose name changed is dropped)."""
    codes = catalogue.verified_codes()
    path = Path(data_dir) / CODES_FILE
    if not path.is_file():
        return codes
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))["codes"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{path}: unreadable (delete it to resolve the codes again)") from None
    for sid, item in stored.items():
        entry = catalogue.series.get(sid)
        if entry is not None and sid not in codes and item.get("name_ja") == entry.name_ja:
            codes[sid] = ResolvedCode(sid, entry.db, item["code"], entry.name_ja, item.get("basis", "getMetadata"))
    return codes


def resolve_codes(
    catalogue: BojCatalogue, data_dir: Path, metadata: Callable[[str], tuple[list[MetadataRow], str]]
) -> dict[str, ResolvedCode]:
    """A code for every catalogue series; asks ``metadata(db)`` (rows, date) only for unknown ones."""
    codes = load_resolved(data_dir, catalogue)
    missing = [sid for sid in catalogue.series if sid not in codes]
    if not missing:
        return codes
    lookups: dict[str, tuple[list[MetadataRow], str]] = {}
    for sid in missing:
        entry = catalogue.series[sid]
        if entry.db not in lookups:
            lookups[entry.db] = metadata(entry.db)
        rows, date = lookups[entry.db]
        codes[sid] = _match(sid, entry, rows, date or "(no date)", catalogue)
    _save_resolved(data_dir, {sid: codes[sid] for sid in codes if not catalogue.series[sid].verified})
    return codes


def _match(sid: str, entry: Entry, rows: list[MetadataRow], date: str, catalogue: BojCatalogue) -> ResolvedCode:
    frequency = catalogue.databases[entry.db].frequency
    wanted = normalize_name(entry.name_ja)
    hits = [r for r in rows if normalize_name(r.name) == wanted and r.frequency == frequency]
    where = f"{catalogue.path}: {sid}"
    if not hits:
        raise SourceError(
            f"{where}: no {frequency.lower()} {entry.db} series named '{entry.name_ja}' in getMetadata; "
            "set its `code:` and `verified: true` once checked"
        )
    if len(hits) > 1:
        raise SourceError(
            f"{where}: several {entry.db} series named '{entry.name_ja}' ({', '.join(h.code for h in hits)}); set `code:`"
        )
    if entry.code and entry.code != hits[0].code:
        raise SourceError(
            f"{where}: candidate code {entry.code} is not the series named '{entry.name_ja}' "
            f"(getMetadata gives {hits[0].code}); correct the catalogue"
        )
    return ResolvedCode(sid, entry.db, hits[0].code, entry.name_ja, f"getMetadata {date}")


def _save_resolved(data_dir: Path, codes: dict[str, ResolvedCode]) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    payload = {
        "written_at": stamp,
        "codes": {
            sid: {"db": c.db, "code": c.code, "name_ja": c.name_ja, "basis": c.basis}
            for sid, c in sorted(codes.items())
        },
    }
    write_text_atomic(Path(data_dir) / CODES_FILE, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
