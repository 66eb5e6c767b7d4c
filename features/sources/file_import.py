"""Read an official file from disk in one of the supported layouts (or detect which)."""

from __future__ import annotations

import re
from pathlib import Path

from features.errors import DataValidationError
from features.sources.boj_catalogue import BojCatalogue, load_resolved
from features.sources.boj_flat import read_boj_flat
from features.sources.intake import Intake
from features.sources.mof_csv import read_mof_csv
from features.sources.text import decode

LAYOUTS = ("mof", "boj-flat")
_MOF_HINT = re.compile(r"平成|令和|億円|サービス収支")


def detect_layout(data: bytes, name: str) -> str:
    """'boj-flat' when line 1 starts with empty label cells, 'mof' for a MOF table."""
    lines = decode(data, name).lstrip("\ufeff").splitlines()
    if lines and lines[0].startswith(","):
        return "boj-flat"
    if any(_MOF_HINT.search(line) for line in lines[:40]):
        return "mof"
    raise DataValidationError(
        f"{name}: unrecognised layout (neither a BOJ bulk file nor a MOF 6s-2-4 table); give --format mof|boj-flat"
    )


def read_input(path: Path, layout: str, as_of: str, catalogue: BojCatalogue, data_dir: Path) -> Intake:
    """Parse and validate ``path``; nothing is written. ``layout`` is one of LAYOUTS or 'auto'."""
    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataValidationError(f"{name}: cannot read ({err.strerror or err})") from None
    if layout == "auto":
        layout = detect_layout(data, name)
    if layout == "mof":
        return read_mof_csv(data, name, as_of)
    if layout == "boj-flat":
        return read_boj_flat(data, name, as_of, catalogue, load_resolved(data_dir, catalogue))
    raise DataValidationError(f"unknown layout '{layout}'; use one of auto, {', '.join(LAYOUTS)}")
