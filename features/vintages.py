"""Vintaged local store of official figures: every fetch or import is one immutable vintage.

Layout of a data directory (default ``data/vintages/``, git-ignored)::

    index.json          the vintages, in the order they were stored
    boj_codes.json      BOJ codes resolved through getMetadata (features/sources/boj_catalogue.py)
    <id>/figures.csv    the figures, canonical CSV (same figures -> same bytes)
    <id>/vintage.json   id, as-of time, source, origin, sha256 of every file, details
    <id>/raw/<name>     the input as received (the imported file, the API response bodies)

The id is the first 16 hex digits of sha256(source + newline + figures.csv), so importing the
same figures twice stores one vintage. A vintage is written under a temporary name and renamed
into place (atomic), its files are made read-only, and its hashes are checked on every read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from filelock import FileLock

from features.atomic import write_bytes_atomic
from features.data_defaults import DEFAULT_DATA_DIR, NEWEST
from features.errors import DeficitError
from features.sources.figures import canonical_csv, read_canonical_csv, series_ids
from features.sources.intake import SOURCE_TITLES, Intake, as_of_date, as_of_month, now_iso

INDEX = "index.json"
FIGURES = "figures.csv"
META = "vintage.json"
SCHEMA_VERSION = 1


class VintageStoreError(DeficitError):
    """A vintage that does not exist, or a store whose files no longer match their hashes."""


@dataclass(frozen=True)
class VintageInfo:
    id: str
    sha256: str  # of source + newline + figures.csv; the id is its first 16 hex digits
    as_of: str  # ISO time stamp
    source: str
    origin: str
    created_at: str
    figures: int
    series: int
    first_period: str
    last_period: str

    @property
    def as_of_date(self) -> str:
        return as_of_date(self.as_of).isoformat()

    @property
    def source_id(self) -> str:
        """Lineage id of this vintage's rows in a snapshot (upper-case, like the bundled ids)."""
        return f"{self.source}_{self.id}".upper()

    @property
    def title(self) -> str:
        return SOURCE_TITLES.get(self.source, self.source)

    def sort_key(self) -> tuple[datetime, str]:
        return datetime.fromisoformat(self.as_of), self.created_at


@dataclass(frozen=True)
class SaveResult:
    info: VintageInfo
    created: bool  # False: the same figures were already stored


def content_sha256(source: str, figures_csv: bytes) -> str:
    return hashlib.sha256(source.encode() + b"\n" + figures_csv).hexdigest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class VintageStore:
    def __init__(self, root: Path = DEFAULT_DATA_DIR) -> None:
        self.root = Path(root)

    # --- reading -----------------------------------------------------------------------------

    def list(self) -> list[VintageInfo]:
        """Every vintage, oldest as-of first."""
        return sorted(self._index().values(), key=VintageInfo.sort_key)

    def newest(self) -> VintageInfo | None:
        vintages = self.list()
        return vintages[-1] if vintages else None

    def get(self, ref: str) -> VintageInfo:
        """``newest``, an id, or an unambiguous id prefix of at least 4 characters."""
        if ref == NEWEST:
            newest = self.newest()
            if newest is None:
                raise VintageStoreError(
                    f"no vintage in {self.root} (run `deficit data fetch` or `deficit data import`)"
                )
            return newest
        index = self._index()
        hits = [v for vid, v in index.items() if len(ref) >= 4 and vid.startswith(ref.lower())]
        if len(hits) != 1:
            problem = "is ambiguous" if hits else "not found"
            raise VintageStoreError(f"vintage '{ref}' {problem} in {self.root} (see `deficit data list`)")
        return hits[0]

    def previous(self, info: VintageInfo) -> VintageInfo:
        """The vintage just before ``info`` in as-of order."""
        vintages = self.list()
        position = [v.id for v in vintages].index(info.id)
        if position == 0:
            raise VintageStoreError(f"vintage {info.id} is the oldest; name the one to compare with")
        return vintages[position - 1]

    def details(self, info: VintageInfo) -> dict:
        try:
            return json.loads((self.root / info.id / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise VintageStoreError(f"vintage {info.id}: {META} missing or unreadable") from None

    def figures(self, info: VintageInfo) -> pd.DataFrame:
        """The vintage's figures, after checking they are the bytes that were stored."""
        directory = self.root / info.id
        try:
            data = (directory / FIGURES).read_bytes()
        except OSError:
            raise VintageStoreError(f"vintage {info.id}: {FIGURES} missing") from None
        if content_sha256(info.source, data) != info.sha256:
            raise VintageStoreError(f"vintage {info.id}: {FIGURES} changed after it was stored (sha256 mismatch)")
        return read_canonical_csv(data, f"vintage {info.id} {FIGURES}", as_of_month(info.as_of))

    def verify(self, info: VintageInfo) -> pd.DataFrame:
        """Figures (checked as in :meth:`figures`) and every raw file against its recorded hash."""
        figures = self.figures(info)
        for name, digest in self.details(info).get("raw_sha256", {}).items():
            path = self.root / info.id / "raw" / name
            if not path.is_file() or _sha(path.read_bytes()) != digest:
                raise VintageStoreError(f"vintage {info.id}: raw/{name} missing or changed (sha256 mismatch)")
        return figures

    # --- writing -----------------------------------------------------------------------------

    def save(self, intake: Intake) -> SaveResult:
        """Store ``intake`` as a new vintage unless the same figures from that source are stored."""
        data = canonical_csv(intake.figures)
        # Connectors validate; checking the exact bytes again means the store never holds a bad vintage.
        read_canonical_csv(data, f"new {intake.source} vintage", as_of_month(intake.as_of))
        digest = content_sha256(intake.source, data)
        vid = digest[:16]
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".lock")):
            index = self._index()
            if vid in index:
                return SaveResult(index[vid], created=False)
            periods = intake.figures["period"]
            info = VintageInfo(
                id=vid,
                sha256=digest,
                as_of=intake.as_of,
                source=intake.source,
                origin=intake.origin,
                created_at=now_iso(),
                figures=len(intake.figures),
                series=series_ids(intake.figures).nunique(),
                first_period=str(periods.min()),
                last_period=str(periods.max()),
            )
            if not (self.root / vid).is_dir():  # a crash after the rename leaves it unindexed: reuse it
                self._write_vintage(info, data, intake)
            index[vid] = info
            self._write_index(index)
        return SaveResult(info, created=True)

    def _write_vintage(self, info: VintageInfo, data: bytes, intake: Intake) -> None:
        staging = self.root / f".{info.id}.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            (staging / "raw").mkdir(parents=True)
            files = {FIGURES: data, **{f"raw/{Path(n).name}": b for n, b in intake.raw.items()}}
            meta = {
                **asdict(info),
                "title": info.title,
                "figures_sha256": _sha(data),
                "raw_sha256": {Path(n).name: _sha(b) for n, b in intake.raw.items()},
                "details": intake.details,
            }
            files[META] = (json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
            for name, content in files.items():
                write_bytes_atomic(staging / name, content)
                os.chmod(staging / name, 0o444)  # write-once: a vintage is never edited
            os.rename(staging, self.root / info.id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    # --- index -------------------------------------------------------------------------------

    def _index(self) -> dict[str, VintageInfo]:
        path = self.root / INDEX
        if not path.is_file():
            return {}
        try:
            items = json.loads(path.read_text(encoding="utf-8"))["vintages"]
            return {item["id"]: VintageInfo(**item) for item in items}
        except (OSError, ValueError, KeyError, TypeError):
            raise VintageStoreError(f"{path}: unreadable index") from None

    def _write_index(self, index: dict[str, VintageInfo]) -> None:
        payload = {"schema_version": SCHEMA_VERSION, "vintages": [asdict(v) for v in index.values()]}
        write_bytes_atomic(self.root / INDEX, (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode())
