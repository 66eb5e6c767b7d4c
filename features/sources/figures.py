"""The figures frame every reader produces, its pandera schema and one-line error reports.

A figures frame is long: one row per figure, columns ``period`` (YYYY-MM), ``item``, ``flow``,
``value``, ``unit`` and ``where`` (the figure's place in its input, e.g. "row 12, column 201601").
Readers put cells in as written (text), so the schema reports a bad cell as it appears in the
file. A missing cell is not a row: gaps stay gaps, nothing is filled.

Why not :func:`features.schemas.validate`: it maps a row index to a file line, which holds for
files with one figure per line; the official layouts carry many figures per line (a month per
column, an item per column), so failures are located through ``where`` instead.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from features.errors import DataValidationError
from features.schemas import FLOWS, FX_UNIT, MONTH_PATTERN, MONTHLY_BALANCE_TOLERANCE, YEN_UNIT

FX_ITEM = "usdjpy"
FX_FLOW = "average"  # a monthly average rate, not a flow of money
ALL_FLOWS = (*FLOWS, FX_FLOW)
COLUMNS = ["period", "item", "flow", "value", "unit"]
MISSING = {"", "na", "null"}  # how the official files write "no figure"

RULE_FREQUENCY = "unexpected frequency: period is not a month"
RULE_DUPLICATE = "duplicate period"
RULE_NUMBER = "not a number"
RULE_UNIT = f"unit mismatch: expected {YEN_UNIT} (億円), {FX_UNIT} for {FX_ITEM}"
RULE_NEGATIVE = "negative receipts/payments"
RULE_FX = "exchange rate must be > 0"
RULE_BALANCE = f"balance != receipts - payments beyond ±{MONTHLY_BALANCE_TOLERANCE:g} (rounding)"
RULE_GAP = "gap: month(s) missing before this period"
RULE_FLOW = f"flow must be one of {'|'.join(ALL_FLOWS)}, and '{FX_FLOW}' only for {FX_ITEM}"

# The cell each frame-wide rule is about (shown in the message); column rules show their column.
_SUBJECT = {
    RULE_DUPLICATE: "period",
    RULE_GAP: "period",
    RULE_UNIT: "unit",
    RULE_FLOW: "flow",
    RULE_NEGATIVE: "value",
    RULE_FX: "value",
    RULE_BALANCE: "value",
}


def is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def month_of(token: str) -> str:
    """'YYYYMM' -> 'YYYY-MM'; anything else is returned as written (the schema reports it)."""
    token = token.strip()
    if len(token) == 6 and token.isdigit() and 1 <= int(token[4:]) <= 12:
        return f"{token[:4]}-{token[4:]}"
    return token


def _numeric(df: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(df["value"], errors="coerce")


def _months(df: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(df["period"], format="%Y-%m", errors="coerce")


def _unit_matches_item(df: pd.DataFrame) -> pd.Series:
    expected = np.where(df["item"] == FX_ITEM, FX_UNIT, YEN_UNIT)
    known = df["unit"].isin([YEN_UNIT, FX_UNIT])  # other units fail the column rule already
    return ~known | (df["unit"] == expected)


def _flow_matches_item(df: pd.DataFrame) -> pd.Series:
    return (df["item"] == FX_ITEM) == (df["flow"] == FX_FLOW)


def _gross_non_negative(df: pd.DataFrame) -> pd.Series:
    return ~(df["flow"].isin(["receipts", "payments"]) & (_numeric(df) < 0))


def _finite(values: pd.Series) -> pd.Series:
    number = pd.to_numeric(values, errors="coerce")
    return number.isna() | np.isfinite(number)  # NaN and text are reported by the other rules


def _fx_positive(df: pd.DataFrame) -> pd.Series:
    return ~((df["item"] == FX_ITEM) & (_numeric(df) <= 0))


def _balance_identity(df: pd.DataFrame) -> pd.Series:
    """A balance row fails when receipts and payments of its item-month disagree with it."""
    key = df["period"] + "|" + df["item"]
    wide = _numeric(df).groupby([key, df["flow"]]).first().unstack("flow")
    if not set(FLOWS) <= set(wide.columns):
        return pd.Series(True, index=df.index)
    gap = (wide["balance"] - (wide["receipts"] - wide["payments"])).abs()
    bad = set(gap.index[gap > MONTHLY_BALANCE_TOLERANCE])
    return ~((df["flow"] == "balance") & key.isin(bad))


def _no_gaps(df: pd.DataFrame) -> pd.Series:
    """Within a series, months run without holes between its first and last figure."""
    ok = pd.Series(True, index=df.index)
    months = _months(df)
    ordinal = months.dt.year * 12 + months.dt.month
    series = df["item"] + "." + df["flow"]
    for _, rows in ordinal[months.notna()].groupby(series[months.notna()]):
        step = rows.sort_values().diff()
        ok[step.index[step > 1]] = False
    return ok


def figures_schema(as_of_month: str) -> pa.DataFrameSchema:
    """Rules for figures known at ``as_of_month`` (YYYY-MM): nothing may be dated later."""

    def not_future(s: pd.Series) -> pd.Series:
        return ~(s.str.fullmatch(MONTH_PATTERN.strip("^$")) & (s > as_of_month))

    return pa.DataFrameSchema(
        {
            "period": pa.Column(
                str,
                [
                    pa.Check.str_matches(MONTH_PATTERN, error=RULE_FREQUENCY),
                    pa.Check(not_future, error=f"future period (after the as-of month {as_of_month})"),
                ],
            ),
            "item": pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*$", error="item must be a snake_case id")),
            "flow": pa.Column(str, pa.Check.isin(list(ALL_FLOWS), error=RULE_FLOW)),
            "value": pa.Column(float, pa.Check(_finite, error="not a finite number"), coerce=True),
            "unit": pa.Column(str, pa.Check.isin([YEN_UNIT, FX_UNIT], error=RULE_UNIT)),
            "where": pa.Column(str),
        },
        checks=[
            pa.Check(_unit_matches_item, error=RULE_UNIT),
            pa.Check(_flow_matches_item, error=RULE_FLOW),
            pa.Check(_gross_non_negative, error=RULE_NEGATIVE),
            pa.Check(_fx_positive, error=RULE_FX),
            pa.Check(_balance_identity, error=RULE_BALANCE),
            pa.Check(_no_gaps, error=RULE_GAP),
        ],
        unique=["period", "item", "flow"],
        report_duplicates="exclude_first",
        strict=True,
        name="figures",
    )


def _rule(check: str) -> str:
    if check.startswith("coerce_dtype(") or check == "not_nullable":
        return RULE_NUMBER
    if check == "multiple_fields_uniqueness":
        return RULE_DUPLICATE
    return check


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    text = text if len(text) <= 40 else text[:37] + "..."
    return repr(text)


def _message(err: SchemaErrors, frame: pd.DataFrame, source: str) -> str:
    """First failure in file order, as '<source>: <where>: <rule> (<cell> <value>); K more'."""
    failures: dict[tuple[int, bool, str], str] = {}
    for case in err.failure_cases.itertuples():
        check = str(case.check)
        if check.startswith("dtype("):
            continue  # follows from a coercion failure that is reported on its own
        rule = _rule(check)
        if case.index is None or pd.isna(case.index):  # a reader bug, not a data problem
            failures[(-1, False, rule)] = f"{source}: {rule} (column {case.failure_case})"
            continue
        index = int(case.index)
        subject = _SUBJECT.get(rule, str(case.column))
        text = f"{source}: {frame.at[index, 'where']}: {rule} ({subject} {_short(frame.at[index, subject])})"
        # In file order; on one cell, rules about the cell itself before those across cells.
        across = rule in (RULE_BALANCE, RULE_GAP)
        failures.setdefault((frame.index.get_loc(index), across, rule), text)
    ordered = [failures[k] for k in sorted(failures)]
    more = f"; {len(ordered) - 1} more failure(s)" if len(ordered) > 1 else ""
    return ordered[0] + more


def validate_figures(frame: pd.DataFrame, source: str, as_of_month: str) -> pd.DataFrame:
    """Validated figures (``value`` as float, ``where`` dropped) or one DataValidationError line."""
    if frame.empty:
        raise DataValidationError(f"{source}: no data rows (no figures found)")
    frame = frame.reset_index(drop=True)
    try:
        checked = figures_schema(as_of_month).validate(frame, lazy=True)
    except SchemaErrors as err:
        raise DataValidationError(_message(err, frame, source)) from None
    return checked.drop(columns="where")


def series_ids(figures: pd.DataFrame) -> pd.Series:
    return figures["item"] + "." + figures["flow"]


def format_value(v: float) -> str:
    # Shortest text that reads back to the same float; 億円 integers without ".0".
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def canonical_csv(figures: pd.DataFrame) -> bytes:
    """Deterministic bytes of validated figures: same figures, same bytes (and content hash)."""
    out = figures[COLUMNS].sort_values(["item", "flow", "period"]).reset_index(drop=True)
    out = out.assign(value=[format_value(v) for v in out["value"]])
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def read_canonical_csv(data: bytes, source: str, as_of_month: str) -> pd.DataFrame:
    """Figures written by :func:`canonical_csv`, validated again (stored files are inputs too)."""
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    if list(frame.columns) != COLUMNS:
        raise DataValidationError(f"{source}: columns are {list(frame.columns)}, expected {COLUMNS}")
    frame["where"] = [f"row {i + 2}" for i in range(len(frame))]
    return validate_figures(frame, source, as_of_month)
