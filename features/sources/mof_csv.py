"""MOF 国際収支の推移, サービス収支 monthly table (``6s-2-4.csv``) -> figures.

Layout (shared/data/SOURCES.md section 4c): CP932, unit 億円, several header rows with bilingual
column labels, then one row per month from the first row whose first cell names an era year
(平成/令和): column 1 the era year on the first month of a year, column 2 the Japanese month
(``1月``), column 3 the Western year on January rows only (carried forward), column 4 the English
month (``Jan``, possibly marked ``(P)`` for preliminary), then 14 value columns, thousands
separated. The table holds net balances only (no receipts or payments).
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from features.errors import DataValidationError
from features.schemas import YEN_UNIT
from features.sources.figures import COLUMNS, is_missing, validate_figures
from features.sources.intake import Intake, as_of_month
from features.sources.text import Row, csv_rows, decode

# The 14 value columns in order, each with the labels (Japanese, English) its header must show.
ITEMS: tuple[tuple[str, str, str], ...] = (
    ("services_total", "サービス", "services"),
    ("transport", "輸送", "transport"),
    ("travel", "旅行", "travel"),
    ("other_services", "その他サービス", "other services"),
    ("manufacturing_services_on_inputs_owned_by_others", "委託加工", "manufacturing"),
    ("maintenance_repair", "維持修理", "maintenance"),
    ("construction", "建設", "construction"),
    ("insurance_pension", "保険", "insurance"),
    ("financial_services", "金融", "financial"),
    ("ip_charges", "知的財産権", "intellectual property"),
    ("telecom_computer_information", "通信", "telecommunications"),
    ("other_business_services", "その他業務", "other business"),
    ("personal_cultural_recreational", "個人", "personal"),
    ("government_goods_services", "公的", "government"),
)
FIRST_VALUE = 4
ERAS = {"昭和": 1926, "平成": 1989, "令和": 2019}  # first (元) year of each era
ERA_YEAR = re.compile(r"(昭和|平成|令和)\s*(元|\d+)\s*年")
MONTHS_EN = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
# 億円 but not 十億円 / 百億円 / 千億円 (other units a table could be in).
YEN_100M = re.compile(r"(?<![0-9十百千])億円|100\s*million\s*yen", re.IGNORECASE)
OTHER_UNITS = re.compile(r"[十百千]億円|百万円|千円|万円|兆円|million yen|billion yen|ドル|US\$|USD", re.IGNORECASE)
FOOTNOTE = re.compile(r"^[（(]?(注|備考|※|Note|出所|Source)", re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def read_mof_csv(data: bytes, name: str, as_of: str) -> Intake:
    rows = csv_rows(decode(data, name), name)
    start = next((i for i, r in enumerate(rows) if ERA_YEAR.search(_norm(r.cell(0)))), None)
    if start is None:
        raise DataValidationError(f"{name}: no data rows (no row whose first cell names an era year, 平成/令和)")
    header = rows[:start]
    _check_unit(header, name)
    _check_labels(header, name)
    figures = validate_figures(_figures(rows[start:], name), name, as_of_month(as_of))
    return Intake(figures, "mof_csv", name, as_of, {name: data}, {"layout": "MOF 6s-2-4"})


def _check_unit(header: list[Row], name: str) -> None:
    texts = [(row.line, _norm(",".join(row.cells))) for row in header]
    if any(YEN_100M.search(text) for _, text in texts):
        return
    for line, text in texts:
        other = OTHER_UNITS.search(text)
        if other:
            raise DataValidationError(
                f"{name}: row {line}: unit mismatch: header states {other.group(0)}, expected 億円"
            )
    raise DataValidationError(f"{name}: unit mismatch: the header rows state no unit (expected 億円)")


def _check_labels(header: list[Row], name: str) -> None:
    """Each value column's header must name its item: a reordered or other table is refused."""
    width = max(len(r.cells) for r in header) - FIRST_VALUE
    if width < len(ITEMS):
        raise DataValidationError(f"{name}: the header has {width} value columns, the 6s-2-4 layout has {len(ITEMS)}")
    for k, (item, ja, en) in enumerate(ITEMS):
        column = FIRST_VALUE + k
        label = " ".join(_norm(r.cell(column)) for r in header).strip()
        if ja not in label and en not in label.lower():
            raise DataValidationError(
                f"{name}: column {column + 1} is labelled '{label or '(empty)'}', expected {ja} / {en} "
                f"({item}; 6s-2-4 column order)"
            )


def _year_of_era(label: str) -> int | None:
    match = ERA_YEAR.search(label)
    if not match:
        return None
    n = 1 if match.group(2) == "元" else int(match.group(2))
    return ERAS[match.group(1)] + n - 1


def _figures(rows: list[Row], name: str) -> pd.DataFrame:
    records: list[tuple[str, ...]] = []
    year: int | None = None
    for row in rows:
        if row.blank:
            continue
        first, month_ja = _norm(row.cell(0)), _norm(row.cell(1))
        if not month_ja and FOOTNOTE.match(first):
            break  # notes under the table
        month = re.fullmatch(r"(\d{1,2})月", month_ja)
        if not month or not 1 <= int(month.group(1)) <= 12:
            raise DataValidationError(
                f"{name}: row {row.line}: unexpected frequency: no month (1月..12月) in column 2, found "
                f"'{month_ja}' (this reader takes the monthly table 6s-2-4)"
            )
        number = int(month.group(1))
        year_cell = _norm(row.cell(2))
        if year_cell:
            if not re.fullmatch(r"\d{4}", year_cell):
                raise DataValidationError(f"{name}: row {row.line}: year '{year_cell}' in column 3 is not YYYY")
            year = int(year_cell)
        elif year is None or number == 1:
            raise DataValidationError(f"{name}: row {row.line}: no year in column 3 (January rows must carry it)")
        era = _year_of_era(first)
        if era is not None and era != year:
            raise DataValidationError(f"{name}: row {row.line}: era year {first} is {era}, but the row is in {year}")
        english = _norm(row.cell(3)).lower()
        if english and not english.startswith(MONTHS_EN[number - 1]):
            raise DataValidationError(f"{name}: row {row.line}: month labels disagree ({month_ja} vs {row.cell(3)!r})")
        cells = row.cells[FIRST_VALUE:]
        if len(cells) < len(ITEMS):
            raise DataValidationError(
                f"{name}: row {row.line}: {len(cells)} value columns, the 6s-2-4 layout has {len(ITEMS)}"
            )
        extra = [i for i, c in enumerate(cells[len(ITEMS) :], start=FIRST_VALUE + len(ITEMS) + 1) if c.strip()]
        if extra:
            raise DataValidationError(
                f"{name}: row {row.line}: unexpected value in column {extra[0]} (6s-2-4 has {len(ITEMS)} value columns)"
            )
        for k, (item, _, _) in enumerate(ITEMS):
            text = _norm(cells[k])
            if is_missing(text):
                continue  # no figure: a gap, never filled
            value = text.replace(",", "") if THOUSANDS.match(text) else text
            where = f"row {row.line}, column {FIRST_VALUE + k + 1}"
            records.append((f"{year:04d}-{number:02d}", item, "balance", value, YEN_UNIT, where))
    return pd.DataFrame(records, columns=[*COLUMNS, "where"], dtype=str)
