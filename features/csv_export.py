"""CSV files people open in a spreadsheet: no cell can start a formula.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (CSV injection; OWASP's advice is to prefix such
cells with a single quote, which the spreadsheet shows as text). Numbers are never touched: a
negative balance stays a number. Only exports go through here; files the project reads back
(model artifacts, the snapshot) keep their cells as they are.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.atomic import write_text_atomic

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a formula (numbers, dates and missing cells unchanged)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_datetime64_any_dtype(out[column]):
            continue
        out[column] = out[column].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v)
    return out


def csv_text(frame: pd.DataFrame, **kwargs) -> str:
    """``frame.to_csv(index=False, **kwargs)`` with formula-safe text cells."""
    return formula_safe(frame).to_csv(index=False, **kwargs)


def write_csv_atomic(path: Path, frame: pd.DataFrame, **kwargs) -> None:
    """An export written atomically (features/atomic.py) with formula-safe text cells."""
    write_text_atomic(Path(path), csv_text(frame, **kwargs))


def stage_csv(staged, path: Path, frame: pd.DataFrame, **kwargs) -> None:
    """``write_csv_atomic`` into a ``features.atomic.StagedFiles`` set."""
    staged.write_text(Path(path), csv_text(frame, **kwargs))
