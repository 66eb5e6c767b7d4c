"""BOJ Time-Series Data Search bulk flat files, balance-of-payments layout (CSV of bp_m_en.zip / bp_m_jp.zip).

Layout (shared/data/SOURCES.md section 4b): wide. Line 1 holds 4 empty label cells, then the
periods ``YYYYMM`` (BP files carry future, empty columns). Each further line is
``code,"database title","series name","unit",v1,v2,...``; a missing figure is empty or ``NA``.

A line is matched to one of our series by its BOJ code (verified, or resolved earlier through
getMetadata), by the exact series name in the catalogue, or by our own series id (files written
by :func:`write_boj_flat` carry it where no BOJ code is confirmed). Other lines (the rest of the
BoP) are skipped and counted.
"""

from __future__ import annotations

import pandas as pd

from features.errors import DataValidationError
from features.sources.boj_catalogue import BojCatalogue, ResolvedCode
from features.sources.figures import (
    COLUMNS,
    FX_ITEM,
    format_value,
    is_missing,
    month_of,
    series_ids,
    validate_figures,
)
from features.sources.intake import Intake, as_of_month
from features.sources.text import csv_rows, decode

DB = "BP01"
LABEL_COLUMNS = 4  # code, database title, series name, unit
DB_TITLE = "Balance of Payments (Data Based on the BPM6)"
UNIT_TEXT = "100 million Yen"


def read_boj_flat(
    data: bytes, name: str, as_of: str, catalogue: BojCatalogue, codes: dict[str, ResolvedCode]
) -> Intake:
    rows = csv_rows(decode(data, name), name)
    header = rows[0]
    labels = next((i for i, c in enumerate(header.cells) if c.strip()), len(header.cells))
    if labels == 0 or labels == len(header.cells):
        raise DataValidationError(
            f"{name}: row 1: not a BOJ bulk-file header (expected {LABEL_COLUMNS} empty label cells, then periods YYYYMM)"
        )
    if labels != LABEL_COLUMNS:
        raise DataValidationError(
            f"{name}: row 1: {labels} label columns; the BP bulk layout has {LABEL_COLUMNS} "
            "(code, database, series name, unit)"
        )
    periods = [c.strip() for c in header.cells[LABEL_COLUMNS:]]
    lines = [r for r in rows[1:] if not r.blank]
    if not lines:
        raise DataValidationError(f"{name}: no data rows (only the header line)")

    by_code = {c.code: sid for sid, c in codes.items() if c.db == DB}
    records: list[tuple[str, ...]] = []
    matched, skipped = 0, []
    for row in lines:
        extra = [c for c in row.cells[len(header.cells) :] if c.strip()]
        if extra:
            raise DataValidationError(
                f"{name}: row {row.line}: {len(row.cells)} cells, the header has {len(header.cells)}"
            )
        code = row.cell(0)
        sid = by_code.get(code) or (code if code in catalogue.series else None) or catalogue.by_name(row.cell(2))
        if sid is None or catalogue.series[sid].db != DB:
            skipped.append(code)
            continue
        matched += 1
        item, flow = catalogue.item_flow(sid)
        unit = catalogue.unit_of(DB, row.cell(3))
        for k, period in enumerate(periods):
            cell = row.cell(LABEL_COLUMNS + k)
            if not is_missing(cell):
                where = f"row {row.line}, column {period or LABEL_COLUMNS + k + 1}"
                records.append((month_of(period), item, flow, cell, unit, where))
    if not matched:
        raise DataValidationError(
            f"{name}: no series of {catalogue.path.name} in this file ({len(lines)} rows, codes such as "
            f"{skipped[0]!r}); run `deficit data fetch` once to resolve unverified codes"
        )
    frame = pd.DataFrame(records, columns=[*COLUMNS, "where"], dtype=str)
    figures = validate_figures(frame, name, as_of_month(as_of))
    details = {"layout": "BOJ bulk BP", "rows_matched": matched, "rows_skipped": len(skipped)}
    return Intake(figures, "boj_flat", name, as_of, {name: data}, details)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_boj_flat(figures: pd.DataFrame, catalogue: BojCatalogue) -> bytes:
    """The balance-of-payments figures of ``figures`` in the bulk layout (UTF-8, one line per series).

    Series outside the catalogue are left out; a series without a confirmed BOJ code carries our
    own id in the code column (see :meth:`BojCatalogue.export_code`), never a guessed code.
    """
    bop = figures[(figures["item"] != FX_ITEM) & series_ids(figures).isin(list(catalogue.series))]
    if bop.empty:
        raise DataValidationError("export: no balance-of-payments figures of the catalogue to write")
    months = pd.period_range(bop["period"].min(), bop["period"].max(), freq="M")
    header = "," * LABEL_COLUMNS + ",".join(f"{m.year:04d}{m.month:02d}" for m in months)
    lines = [header]
    for sid in [s for s in catalogue.series if s in set(series_ids(bop))]:
        item, flow = catalogue.item_flow(sid)
        rows = bop[(bop["item"] == item) & (bop["flow"] == flow)]
        values = dict(zip(rows["period"], rows["value"]))
        entry = catalogue.series[sid]
        cells = [format_value(values[m.strftime("%Y-%m")]) if m.strftime("%Y-%m") in values else "" for m in months]
        label = [
            catalogue.export_code(sid),
            _quoted(DB_TITLE),
            _quoted(entry.name_en or entry.name_ja),
            _quoted(UNIT_TEXT),
        ]
        lines.append(",".join(label + cells))
    return ("\n".join(lines) + "\n").encode("utf-8")
