"""Build the project's snapshot from the reference files of official figures.

Reads the reference CSVs documented in ``shared/data/SOURCES.md`` and writes them in this
project's long schema (one row per figure, each with ``source_id`` and ``vintage``) plus
``sources.csv`` (the source registry) and ``MANIFEST.json``. Output is deterministic: rebuilding
from the same inputs gives byte-identical files. No figure is created here: rows are copied,
filtered and relabelled, never filled or smoothed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from features import schemas
from features.atomic import write_bytes_atomic
from features.errors import DataValidationError
from features.snapshot import (
    AI_FILE,
    BOJ_FILE,
    DIGITAL_FILE,
    MANIFEST,
    MANIFEST_SCHEMA_VERSION,
    SERVICES_TOTAL_FILE,
    SOURCES_FILE,
    USDJPY_FILE,
    WDI_FILE,
    read_csv_text,
    require_columns,
    sha256_hex,
)
from features.source_registry import SOURCE_REGISTRY


def _with_vintage(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Attach each row's vintage from the registry; a source id without one is an error."""
    vintages = {sid: src.vintage for sid, src in SOURCE_REGISTRY.items()}
    vintage = frame["source_id"].map(vintages)
    unknown = vintage.isna()
    if unknown.any():
        first = unknown.idxmax()
        others = int(unknown.sum()) - 1
        more = f"; {others} more failure(s)" if others else ""
        raise DataValidationError(
            f"{name}: row {first + 2}: source_id not in the source registry, no vintage known "
            f"(column source_id, value {frame.at[first, 'source_id']!r}){more}"
        )
    return frame.assign(vintage=vintage.astype(str))


def _boj_monthly(shared: Path) -> pd.DataFrame:
    name = "japan_services_boj_monthly.csv"
    raw = read_csv_text(shared / name, name)
    require_columns(raw, ["period", "item", "flow", "value", "unit", "source_id"], name)
    kept = raw[raw["item"].isin(schemas.BOJ_ITEMS)]
    out = _with_vintage(kept[["period", "item", "flow", "value", "unit", "source_id"]], name)
    out = schemas.validate(out, schemas.BOJ_MONTHLY, name)  # row numbers = lines of the input
    flow_order = out["flow"].map({f: i for i, f in enumerate(schemas.FLOWS)})
    return out.assign(_f=flow_order).sort_values(["item", "period", "_f"]).drop(columns="_f")


def _digital_annual(shared: Path) -> pd.DataFrame:
    name = "digital_services_bop.csv"
    raw = read_csv_text(shared / name, name)
    require_columns(raw, ["period", "frequency", "item", "flow", "value_100m_yen", "source_id"], name)
    out = raw.rename(columns={"value_100m_yen": "value"}).assign(unit=schemas.YEN_UNIT)
    out = _with_vintage(out[["period", "frequency", "item", "flow", "value", "unit", "source_id"]], name)
    # Curated order of the reference file is kept (it groups figures by definition and source).
    return schemas.validate(out, schemas.DIGITAL_ANNUAL, name)


def _usdjpy(shared: Path) -> pd.DataFrame:
    name = "usdjpy.csv"
    raw = read_csv_text(shared / name, name)
    require_columns(raw, ["period", "value", "source_id"], name)
    out = _with_vintage(raw[["period", "value", "source_id"]].assign(unit=schemas.FX_UNIT), name)
    out = out[["period", "value", "unit", "source_id", "vintage"]]
    return schemas.validate(out, schemas.USDJPY_MONTHLY, name).sort_values("period")


def _ai_adoption(shared: Path) -> pd.DataFrame:
    name = "ai_adoption.csv"
    raw = read_csv_text(shared / name, name)
    require_columns(raw, ["period", "indicator", "value", "unit", "source_id"], name)
    out = _with_vintage(raw[["period", "indicator", "value", "unit", "source_id"]], name)
    return schemas.validate(out, schemas.AI_ADOPTION, name)


def _wdi_annual(shared: Path) -> pd.DataFrame:
    name = "japan_services_wdi_annual.csv"
    raw = read_csv_text(shared / name, name)
    require_columns(raw, ["period", "item", "flow", "value", "unit", "source_id"], name)
    out = _with_vintage(raw[["period", "item", "flow", "value", "unit", "source_id"]], name)
    out = schemas.validate(out, schemas.WDI_ANNUAL, name)
    return out.sort_values(["item", "flow", "period"])


def _services_total(shared: Path) -> pd.DataFrame:
    """The BOJ services total (a related indicator). ``value`` stays the text as written, so the
    API's decimals reach the snapshot unchanged (the schema has checked that each is a number)."""
    name = "japan_services_total_boj_monthly.csv"
    raw = read_csv_text(shared / name, name)
    require_columns(raw, ["period", "series_code", "flow", "value_100m_yen", "source_id"], name)
    out = raw.rename(columns={"value_100m_yen": "value"}).assign(unit=schemas.YEN_UNIT)
    out = _with_vintage(out[["period", "series_code", "flow", "value", "unit", "source_id"]], name)
    schemas.validate(out, schemas.SERVICES_TOTAL_MONTHLY, name)  # row numbers = lines of the input
    flow_order = out["flow"].map({f: i for i, f in enumerate(schemas.FLOWS)})
    return out.assign(_f=flow_order).sort_values(["series_code", "period", "_f"], kind="stable").drop(columns="_f")


def _sources_frame(used: set[str]) -> pd.DataFrame:
    rows = [
        {
            "source_id": sid,
            "status": s.status,
            "vintage": s.vintage,
            "vintage_basis": s.vintage_basis,
            "title": s.title,
            "location": s.location,
            "note": s.note,
        }
        for sid, s in sorted(SOURCE_REGISTRY.items())
        if sid in used
    ]
    return schemas.validate(pd.DataFrame(rows), schemas.SOURCES, SOURCES_FILE)


def _format_value(v: float) -> str:
    # Shortest text that reads back to the same float; integers without ".0" (億円 are whole).
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.reset_index(drop=True)
    if "value" in out.columns and pd.api.types.is_numeric_dtype(out["value"]):  # text: kept as written
        out = out.assign(value=[_format_value(v) for v in out["value"]])
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


INPUT_FILES = (
    "japan_services_boj_monthly.csv",
    "digital_services_bop.csv",
    "usdjpy.csv",
    "ai_adoption.csv",
    "japan_services_wdi_annual.csv",
    "japan_services_total_boj_monthly.csv",
)


def build_snapshot(shared_data_dir: Path, out_dir: Path) -> dict:
    """Read the reference files in ``shared_data_dir``, write the snapshot to ``out_dir``.

    Returns the manifest (also written as ``MANIFEST.json``, last, so that a complete manifest
    always describes complete files). Nothing time-dependent is written: rebuilds are identical.
    """
    shared = Path(shared_data_dir)
    out = Path(out_dir)
    frames = {
        BOJ_FILE: _boj_monthly(shared),
        DIGITAL_FILE: _digital_annual(shared),
        USDJPY_FILE: _usdjpy(shared),
        AI_FILE: _ai_adoption(shared),
        WDI_FILE: _wdi_annual(shared),
        SERVICES_TOTAL_FILE: _services_total(shared),
    }
    used = set().union(*(set(f["source_id"]) for f in frames.values()))
    frames[SOURCES_FILE] = _sources_frame(used)

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for name, frame in frames.items():
        data = _csv_bytes(frame)
        write_bytes_atomic(out / name, data)
        files[name] = {"rows": len(frame), "sha256": sha256_hex(data), "vintage": max(frame["vintage"])}
        if name != SOURCES_FILE:
            files[name]["source_ids"] = sorted(set(frame["source_id"]))
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "snapshot_vintage": max(f["vintage"] for f in files.values()),
        "files": files,
        "inputs": {name: sha256_hex((shared / name).read_bytes()) for name in INPUT_FILES},
    }
    write_bytes_atomic(
        out / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    )
    return manifest
