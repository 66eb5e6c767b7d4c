"""The project's own snapshot of the official figures: load and validate it.

Every file is validated (see :mod:`features.schemas`), every row's source id and vintage are
checked against ``sources.csv``, and each file's sha256 against ``MANIFEST.json``. The snapshot is
written by :mod:`features.snapshot_build` (``deficit data snapshot``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from features import schemas
from features.errors import DataValidationError

DEFAULT_SNAPSHOT_DIR = Path(__file__).resolve().parent / "data" / "snapshot"
MANIFEST = "MANIFEST.json"
MANIFEST_SCHEMA_VERSION = 1

# Output file names of the snapshot.
BOJ_FILE = "boj_services_monthly.csv"
DIGITAL_FILE = "digital_balance_annual.csv"
USDJPY_FILE = "usdjpy_monthly.csv"
AI_FILE = "ai_adoption.csv"
WDI_FILE = "wdi_annual.csv"
SERVICES_TOTAL_FILE = "boj_services_total_monthly.csv"
SOURCES_FILE = "sources.csv"


@dataclass(frozen=True)
class Snapshot:
    """Validated snapshot frames plus lineage (``vintage`` = newest source vintage)."""

    boj_monthly: pd.DataFrame  # period, ds, item, flow, value, unit, source_id, vintage
    digital_annual: pd.DataFrame  # period, frequency, item, flow, value, unit, source_id, vintage
    usdjpy: pd.DataFrame  # period, ds, value, unit, source_id, vintage
    ai_adoption: pd.DataFrame  # period, indicator, value, unit, source_id, vintage
    wdi_annual: pd.DataFrame  # period, item, flow, value, unit, source_id, vintage
    # Official monthly services total (BPBP6JYNSN): a related indicator, not a digital figure.
    services_total: pd.DataFrame  # period, ds, series_code, flow, value, unit, source_id, vintage
    sources: pd.DataFrame  # source_id, status, vintage, vintage_basis, title, location, note
    vintage: str
    sha256: str  # of MANIFEST.json, which holds the sha256 of every file


def read_csv_text(path: Path, name: str) -> pd.DataFrame:
    """All cells as text, so validation sees them as written; one-line errors."""
    if not path.is_file():
        raise DataValidationError(f"{name}: file not found ({path})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{name}: unreadable CSV: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataValidationError(f"{name}: unreadable CSV: {first}") from None
    if frame.empty:
        raise DataValidationError(f"{name}: no data rows")
    return frame


def require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{name}: missing required column (column {', '.join(missing)})")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_MONTHLY_SCHEMAS = (schemas.BOJ_MONTHLY, schemas.USDJPY_MONTHLY, schemas.SERVICES_TOTAL_MONTHLY)


def _load_file(directory: Path, name: str, schema: pa.DataFrameSchema) -> pd.DataFrame:
    frame = schemas.validate(read_csv_text(directory / name, name), schema, name)
    if "period" in frame.columns and schema in _MONTHLY_SCHEMAS:
        frame.insert(1, "ds", pd.to_datetime(frame["period"], format="%Y-%m"))  # month start
    return frame


def _check_lineage(frame: pd.DataFrame, name: str, sources: pd.DataFrame) -> None:
    """Every row's source id is registered in sources.csv with the same vintage."""
    known = dict(zip(sources["source_id"], sources["vintage"], strict=True))
    registered = frame["source_id"].map(known)
    bad = registered.isna() | (registered != frame["vintage"])
    if bad.any():
        i = bad.idxmax()
        rule = "source_id not in sources.csv" if pd.isna(registered[i]) else "vintage differs from sources.csv"
        raise DataValidationError(f"{name}: row {i + 2}: {rule} (column source_id, value {frame.at[i, 'source_id']!r})")


def _read_manifest(directory: Path) -> tuple[dict, bytes]:
    path = directory / MANIFEST
    if not path.is_file():
        raise DataValidationError(f"{MANIFEST}: file not found ({path})")
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
        files, vintage = manifest["files"], manifest["snapshot_vintage"]
        if not isinstance(files, dict) or not isinstance(vintage, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise DataValidationError(f"{MANIFEST}: unreadable manifest (needs 'files' and 'snapshot_vintage')") from None
    return manifest, data


_LOAD_ORDER: tuple[tuple[str, str, pa.DataFrameSchema], ...] = (
    ("boj_monthly", BOJ_FILE, schemas.BOJ_MONTHLY),
    ("digital_annual", DIGITAL_FILE, schemas.DIGITAL_ANNUAL),
    ("usdjpy", USDJPY_FILE, schemas.USDJPY_MONTHLY),
    ("ai_adoption", AI_FILE, schemas.AI_ADOPTION),
    ("wdi_annual", WDI_FILE, schemas.WDI_ANNUAL),
    ("services_total", SERVICES_TOTAL_FILE, schemas.SERVICES_TOTAL_MONTHLY),
)


def load_snapshot(snapshot_dir: Path | None = None) -> Snapshot:
    """Load and validate the snapshot (default: the copy shipped in ``features/data/snapshot``).

    Contents are validated first (so a bad file is reported by its rule), then each file's
    sha256 is compared with MANIFEST.json (so an edited file is caught even if it is well formed).
    """
    directory = Path(snapshot_dir) if snapshot_dir is not None else DEFAULT_SNAPSHOT_DIR
    frames = {field: _load_file(directory, name, schema) for field, name, schema in _LOAD_ORDER}
    sources = _load_file(directory, SOURCES_FILE, schemas.SOURCES)
    for field, name, _ in _LOAD_ORDER:
        _check_lineage(frames[field], name, sources)

    manifest, manifest_bytes = _read_manifest(directory)
    for name in [n for _, n, _ in _LOAD_ORDER] + [SOURCES_FILE]:
        entry = manifest["files"].get(name)
        actual = sha256_hex((directory / name).read_bytes())
        if not isinstance(entry, dict) or entry.get("sha256") != actual:
            raise DataValidationError(
                f"{MANIFEST}: sha256 of {name} does not match the manifest "
                "(file changed after the snapshot was built; rebuild it with `deficit data snapshot`)"
            )
    return Snapshot(**frames, sources=sources, vintage=manifest["snapshot_vintage"], sha256=sha256_hex(manifest_bytes))
