"""Pandera schemas of the project's own snapshot files, and one-line error reporting.

Every snapshot file is read with ``dtype=str`` (so that a bad cell is reported as written, not as
whatever pandas guessed) and validated here before anything else touches it. :func:`validate`
turns pandera's lazy error report into a single :class:`~features.errors.DataValidationError` line
``"<file>: row N: <rule> (column X, value V); K more failure(s)"`` where N is the line number in the
file (header = line 1), as long as the frame keeps the index ``read_csv`` gave it.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from features.errors import DataValidationError

FLOWS = ("receipts", "payments", "balance")
YEN_UNIT = "100m_yen"  # 億円
FX_UNIT = "JPY_per_USD"
USD_UNIT = "current_usd"

# BOJ monthly items kept in the snapshot: the three parts of the MOF digital balance, the
# sub-items of 通信・コンピュータ・情報サービス, and the IP / services totals they sit in.
BOJ_ITEMS = (
    "copyright_royalties",
    "telecom_computer_information",
    "prof_mgmt_consulting",
    "computer",
    "telecom",
    "information",
    "ip_charges",
    "services_total",
)
DIGITAL_ANNUAL_ITEMS = (
    "digital_total_mof3",
    "digital_total_core3",
    "copyright_royalties",
    "telecom_computer_information",
    "prof_mgmt_consulting",
    "telecom_plus_information",
    "computer_services",
)
WDI_ITEMS = ("ict_service_exports_wdi", "ip_charges")
AI_UNITS = ("% of respondents", "% of firms (respondents' companies)", "% of enterprises", "% of firms")
SOURCE_STATUSES = ("VERIFIED", "DERIVED")

# Period codes of the annual/part-year file (see SOURCES.md section 1).
PERIOD_PATTERNS = {
    "A": r"\d{4}",
    "FY": r"FY\d{4}",
    "H": r"\d{4}H[12]",
    "FH": r"FY\d{4}H[12]",
    "YTD": r"\d{4}-(0[1-9]|1[0-2])\.\.\d{4}-(0[1-9]|1[0-2])",
}
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
YEAR_PATTERN = r"^\d{4}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
SERIES_CODE_PATTERN = r"^[A-Z0-9]+$"  # a BOJ series code without its database prefix, e.g. BPBP6JYNSN
SOURCE_ID_PATTERN = r"^[A-Z][A-Z0-9_]*$"

# A monthly balance is receipts - payments of values each rounded to 1億円, so it can be off by
# 1 (2 allowed). A calendar-year row of DRV_BOJ_BP_M_ANNUAL sums 12 such months, hence 12.
MONTHLY_BALANCE_TOLERANCE = 2.0
ANNUAL_BALANCE_TOLERANCE = 12.0


def _numeric(df: pd.DataFrame) -> pd.Series:
    # Cells that are not numbers are reported by the dtype coercion; here they simply pass.
    return pd.to_numeric(df["value"], errors="coerce")


def _has(df: pd.DataFrame, *cols: str) -> bool:
    return all(c in df.columns for c in cols)


def _gross_flows_non_negative(df: pd.DataFrame) -> pd.Series:
    if not _has(df, "flow", "value"):
        return pd.Series(True, index=df.index)  # the missing column is reported on its own
    gross = df["flow"].isin(["receipts", "payments"])
    return ~gross | ~(_numeric(df) < 0)


def _balance_identity(keys: list[str], tolerance: float) -> pa.Check:
    """Balance row == receipts - payments of the same key (checked only where all three exist)."""

    def check(df: pd.DataFrame) -> pd.Series:
        if not _has(df, "flow", "value", *keys):
            return pd.Series(True, index=df.index)
        # column-wise concatenation: a row-wise "|".join was most of a snapshot load's time
        parts = [df[k].astype(str) for k in keys]
        key = parts[0]
        for part in parts[1:]:
            key = key + "|" + part
        value = _numeric(df)
        wide = value.groupby([key, df["flow"]]).first().unstack("flow")
        if not set(FLOWS) <= set(wide.columns):
            return pd.Series(True, index=df.index)
        gap = (wide["balance"] - (wide["receipts"] - wide["payments"])).abs()
        bad_keys = set(gap.index[gap > tolerance])
        return ~((df["flow"] == "balance") & key.isin(bad_keys))

    return pa.Check(check, error=f"balance != receipts - payments (beyond ±{tolerance:g})")


def _period_matches_frequency(df: pd.DataFrame) -> pd.Series:
    if not _has(df, "period", "frequency"):
        return pd.Series(True, index=df.index)
    ok = pd.Series(False, index=df.index)
    for freq, pattern in PERIOD_PATTERNS.items():
        rows = df["frequency"] == freq
        ok |= rows & df["period"].astype(str).str.fullmatch(pattern)
    return ok


def _iso_dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce").notna()


def _text(pattern: str, rule: str) -> pa.Column:
    return pa.Column(str, pa.Check.str_matches(pattern, error=rule))


def _one_of(values: tuple[str, ...], name: str) -> pa.Column:
    return pa.Column(str, pa.Check.isin(list(values), error=f"{name} must be one of {'|'.join(values)}"))


def _lineage_columns() -> dict[str, pa.Column]:
    return {
        "source_id": _text(SOURCE_ID_PATTERN, "source_id must be an upper-case id"),
        "vintage": pa.Column(
            str,
            [
                pa.Check.str_matches(DATE_PATTERN, error="vintage must be an ISO date YYYY-MM-DD"),
                pa.Check(_iso_dates, error="vintage must be a valid calendar date"),
            ],
        ),
    }


def _value(*checks: pa.Check) -> pa.Column:
    return pa.Column(float, list(checks), coerce=True, nullable=False)


BOJ_MONTHLY = pa.DataFrameSchema(
    {
        "period": _text(MONTH_PATTERN, "period must be YYYY-MM"),
        "item": _one_of(BOJ_ITEMS, "item"),
        "flow": _one_of(FLOWS, "flow"),
        "value": _value(),
        "unit": _one_of((YEN_UNIT,), "unit"),
        **_lineage_columns(),
    },
    checks=[
        pa.Check(_gross_flows_non_negative, error="receipts/payments must be >= 0"),
        _balance_identity(["period", "item"], MONTHLY_BALANCE_TOLERANCE),
    ],
    unique=["period", "item", "flow"],
    report_duplicates="exclude_first",
    strict=True,
    name="boj_services_monthly",
)

# The official monthly services total (BOJ BP01, e.g. BPBP6JYNSN = services, net): a related
# indicator (it includes travel and transport), kept apart from the digital items of BOJ_MONTHLY.
# Values keep the decimals of the API as written (read as text, then coerced to float).
SERVICES_TOTAL_MONTHLY = pa.DataFrameSchema(
    {
        "period": _text(MONTH_PATTERN, "period must be YYYY-MM"),
        "series_code": _text(SERIES_CODE_PATTERN, "series_code must be a BOJ code (A-Z, 0-9, no database prefix)"),
        "flow": _one_of(FLOWS, "flow"),
        "value": _value(),
        "unit": _one_of((YEN_UNIT,), "unit"),
        **_lineage_columns(),
    },
    checks=[
        pa.Check(_gross_flows_non_negative, error="receipts/payments must be >= 0"),
        _balance_identity(["period"], MONTHLY_BALANCE_TOLERANCE),
    ],
    unique=["period", "series_code", "flow"],
    report_duplicates="exclude_first",
    strict=True,
    name="boj_services_total_monthly",
)

DIGITAL_ANNUAL = pa.DataFrameSchema(
    {
        "period": pa.Column(str),
        "frequency": _one_of(tuple(PERIOD_PATTERNS), "frequency"),
        "item": _one_of(DIGITAL_ANNUAL_ITEMS, "item"),
        "flow": _one_of(FLOWS, "flow"),
        "value": _value(),
        "unit": _one_of((YEN_UNIT,), "unit"),
        **_lineage_columns(),
    },
    checks=[
        pa.Check(_period_matches_frequency, error="period does not match its frequency code"),
        pa.Check(_gross_flows_non_negative, error="receipts/payments must be >= 0"),
        _balance_identity(["period", "frequency", "item", "source_id"], ANNUAL_BALANCE_TOLERANCE),
    ],
    # Several vintages of one figure coexist on purpose; one source states a figure once.
    unique=["period", "frequency", "item", "flow", "source_id"],
    report_duplicates="exclude_first",
    strict=True,
    name="digital_balance_annual",
)

USDJPY_MONTHLY = pa.DataFrameSchema(
    {
        "period": _text(MONTH_PATTERN, "period must be YYYY-MM"),
        "value": _value(pa.Check.gt(0, error="exchange rate must be > 0")),
        "unit": _one_of((FX_UNIT,), "unit"),
        **_lineage_columns(),
    },
    unique=["period"],
    report_duplicates="exclude_first",
    strict=True,
    name="usdjpy_monthly",
)

AI_ADOPTION = pa.DataFrameSchema(
    {
        "period": _text(r"^(FY)?\d{4}$", "period must be YYYY or FYYYYY"),
        "indicator": _text(r"^[A-Za-z0-9_]+$", "indicator must be a snake_case id"),
        "value": _value(pa.Check.in_range(0, 100, error="a share must be within 0..100")),
        "unit": _one_of(AI_UNITS, "unit"),
        **_lineage_columns(),
    },
    unique=["period", "indicator", "source_id"],
    report_duplicates="exclude_first",
    strict=True,
    name="ai_adoption",
)

WDI_ANNUAL = pa.DataFrameSchema(
    {
        "period": _text(YEAR_PATTERN, "period must be YYYY"),
        "item": _one_of(WDI_ITEMS, "item"),
        "flow": _one_of(FLOWS, "flow"),
        "value": _value(),
        "unit": _one_of((USD_UNIT,), "unit"),
        **_lineage_columns(),
    },
    checks=[pa.Check(_gross_flows_non_negative, error="receipts/payments must be >= 0")],
    unique=["period", "item", "flow"],
    report_duplicates="exclude_first",
    strict=True,
    name="wdi_annual",
)

SOURCES = pa.DataFrameSchema(
    {
        "source_id": pa.Column(
            str, pa.Check.str_matches(SOURCE_ID_PATTERN, error="source_id must be an upper-case id"), unique=True
        ),
        "status": _one_of(SOURCE_STATUSES, "status"),
        "vintage": _lineage_columns()["vintage"],
        "vintage_basis": pa.Column(str, pa.Check.str_length(min_value=1, error="vintage_basis must be given")),
        "title": pa.Column(str, pa.Check.str_length(min_value=1, error="title must be given")),
        "location": pa.Column(str, pa.Check.str_length(min_value=1, error="location must be given")),
        "note": pa.Column(str),
    },
    report_duplicates="exclude_first",
    strict=True,
    name="sources",
)


# ---------------------------------------------------------------------------------------------
# Error reporting


def _rule(check: str, schema: pa.DataFrameSchema) -> str:
    """A readable rule for pandera's built-in check names (own checks carry their own text)."""
    if check.startswith("coerce_dtype("):
        return "not a number" if "float" in check else f"cannot convert ({check})"
    if check.startswith("dtype("):
        return f"wrong type ({check})"
    if check == "column_in_dataframe":
        return "missing required column"
    if check == "column_in_schema":
        return "unexpected column"
    if check == "multiple_fields_uniqueness":
        return f"duplicate ({', '.join(schema.unique or [])})"
    if check == "field_uniqueness":
        return "duplicate value"
    if check == "not_nullable":
        return "missing value"
    return check


def _short(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    text = " ".join(text.split())  # one line, whatever the cell held
    return text if len(text) <= 60 else text[:57] + "..."


def _failures(err: SchemaErrors, schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[int, str, str, str]]:
    """Distinct failures as (row index, rule, column, value); schema-level ones (index -1) first.

    Values are shown as written in ``frame`` (before coercion). When columns are missing or
    unexpected, only those are reported: row failures would just be consequences of them.
    """
    cases = err.failure_cases
    coerce_failed = {
        (row.column, row.index) for row in cases.itertuples() if str(row.check).startswith("coerce_dtype(")
    }
    structural: dict[tuple[str, str], tuple[int, str, str, str]] = {}
    per_row: dict[tuple[int, str], tuple[int, str, str, str]] = {}
    unique_cols = list(schema.unique or [])
    for row in cases.itertuples():
        check = str(row.check)
        if check.startswith("dtype(") and (row.column, row.index) in coerce_failed:
            continue  # the coercion failure already says it
        rule = _rule(check, schema)
        if row.index is None or pd.isna(row.index):
            column = str(row.failure_case) if check in ("column_in_dataframe", "column_in_schema") else str(row.column)
            structural[(column, rule)] = (-1, rule, column, "")
            continue
        index = int(row.index)
        if check == "multiple_fields_uniqueness" and index in frame.index:
            cols = [c for c in unique_cols if c in frame.columns]
            values = ", ".join(_short(frame.at[index, c]) for c in cols)
            per_row[(index, rule)] = (index, rule, ", ".join(cols), values)
            continue
        column = str(row.column)
        raw = frame.at[index, column] if index in frame.index and column in frame.columns else row.failure_case
        entry = (index, rule, column, _short(raw))
        # A frame-wide check reports every column of a failing row; keep one entry per row and
        # rule, preferring the value cell (all frame-wide rules here are about the value).
        if (index, rule) not in per_row or column == "value":
            per_row[(index, rule)] = entry
    if structural:
        return sorted(structural.values(), key=lambda e: (e[1], e[2]))
    return sorted(per_row.values(), key=lambda e: (e[0], e[1]))


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, source_name: str, *, first_line: int = 2) -> pd.DataFrame:
    """Validate (and coerce) ``frame``; raise one-line :class:`DataValidationError` on failure.

    ``first_line`` maps index label 0 to a line number in the file (2: the header is line 1).
    """
    try:
        return schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        failures = _failures(err, schema, frame)
    except SchemaError as err:  # pandera raises this for a few non-lazy paths
        raise DataValidationError(f"{source_name}: {' '.join(str(err).split())}") from None
    if not failures:
        raise DataValidationError(f"{source_name}: failed schema {schema.name}") from None
    index, rule, column, value = failures[0]
    where = f"row {index + first_line}: " if index >= 0 else ""
    if not value:
        detail = f"(column {column})"
    elif ", " in column:  # a rule over several columns (uniqueness of a key)
        detail = f"(columns {column}; values {value})"
    else:
        detail = f"(column {column}, value {value})"
    more = f"; {len(failures) - 1} more failure(s)" if len(failures) > 1 else ""
    raise DataValidationError(f"{source_name}: {where}{rule} {detail}{more}") from None
