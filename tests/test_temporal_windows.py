"""Figures as window sums (forecast/temporal/windows.py): validation, the aggregation matrix,
redundant totals and window sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.temporal.windows import (
    aggregation_matrix,
    check_windows,
    month_grid,
    redundant,
    rounding_sd,
    window_end,
    window_sums,
)


def _windows(rows) -> pd.DataFrame:
    """rows: (start, months[, value[, sd]])."""
    out = []
    for row in rows:
        start, months, *rest = row
        value = rest[0] if len(rest) > 0 else 1.0
        sd = rest[1] if len(rest) > 1 else 1.0
        out.append({"start": pd.Timestamp(start), "months": months, "value": value, "sd": sd})
    return pd.DataFrame(out)


def test_rounding_sd_is_uniform_error_sd():
    assert rounding_sd(1000) == pytest.approx(1000 / np.sqrt(12))
    assert rounding_sd(1000) == pytest.approx(288.6751345948129)
    assert rounding_sd(1) == pytest.approx(1 / np.sqrt(12))


def test_aggregation_matrix_sums_the_right_months():
    grid = month_grid("2020-01-01", "2021-12-01")
    windows = _windows(
        [
            ("2020-03-01", 1),  # one month
            ("2020-01-01", 12),  # calendar year 2020
            ("2020-04-01", 12),  # fiscal year 2020 (Apr 2020 - Mar 2021)
            ("2021-07-01", 6),  # second half 2021
            ("2021-01-01", 10),  # year to date Jan-Oct 2021
        ]
    )
    C = aggregation_matrix(windows, grid)
    assert C.shape == (5, 24)
    assert set(np.unique(C)) <= {0.0, 1.0}
    expected_months = [
        [2],
        list(range(0, 12)),
        list(range(3, 15)),
        list(range(18, 24)),
        list(range(12, 22)),
    ]
    for row, months in zip(C, expected_months):
        assert np.flatnonzero(row).tolist() == months

    rng = np.random.default_rng(0)
    x = pd.Series(rng.normal(size=24), index=grid)
    direct = [
        x["2020-03"].sum(),
        x["2020"].sum(),
        x["2020-04":"2021-03"].sum(),
        x["2021-07":"2021-12"].sum(),
        x["2021-01":"2021-10"].sum(),
    ]
    np.testing.assert_allclose(C @ x.to_numpy(), direct)
    np.testing.assert_allclose(window_sums(x, windows), direct)


def test_aggregation_matrix_refuses_a_window_outside_the_grid():
    grid = month_grid("2020-01-01", "2020-12-01")
    with pytest.raises(ValueError, match="outside the grid"):
        aggregation_matrix(_windows([("2020-07-01", 12)]), grid)
    with pytest.raises(ValueError, match="outside the grid"):
        aggregation_matrix(_windows([("2019-12-01", 1)]), grid)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"months": 0}, "at least one month"),
        ({"months": -3}, "at least one month"),
        ({"value": np.nan}, "finite"),
        ({"value": np.inf}, "finite"),
        ({"value": -np.inf}, "finite"),
        ({"sd": 0.0}, r"sd must be > 0"),
        ({"sd": -1.0}, r"sd must be > 0"),
        ({"sd": np.nan}, r"sd must be > 0"),
    ],
    ids=["months0", "months-neg", "value-nan", "value-inf", "value-neginf", "sd0", "sd-neg", "sd-nan"],
)
def test_check_windows_rejects_bad_rows(bad, match):
    windows = _windows([("2020-01-01", 12, -100.0, 1.0), ("2021-01-01", 1, -10.0, 1.0)])
    for column, value in bad.items():
        windows.loc[1, column] = value
    with pytest.raises(ValueError, match=match):
        check_windows(windows)


def test_check_windows_rejects_a_duplicated_window():
    windows = _windows([("2020-01-01", 12, -100.0), ("2020-04-01", 12, -90.0), ("2020-01-01", 12, -101.0)])
    with pytest.raises(ValueError, match="given twice"):
        check_windows(windows)
    # the same month written as a mid-month date is the same window
    windows = _windows([("2020-03-01", 1, -8.0), ("2020-03-15", 1, -9.0)])
    with pytest.raises(ValueError, match="given twice"):
        check_windows(windows)


def test_check_windows_rejects_missing_columns():
    with pytest.raises(ValueError, match="sd"):
        check_windows(_windows([("2020-01-01", 12)]).drop(columns="sd"))


def test_check_windows_rejects_fractional_months():
    with pytest.raises(ValueError):
        check_windows(_windows([("2020-01-01", 1.5)]))


def test_check_windows_sorts_by_end_then_length_and_normalises():
    windows = _windows(
        [
            ("2021-01-01", 12, 5.0),  # ends 2021-12
            ("2020-04-01", 12, 4.0),  # ends 2021-03
            ("2020-07-15", 6, 3.0),  # mid-month start -> 2020-07, ends 2020-12
            ("2020-01-01", 12, 2.0),  # ends 2020-12 as well, longer
            ("2020-12-01", 1, 1.0),  # ends 2020-12, shortest
            ("2021-03-01", 1, 6.0),  # ends 2021-03, shorter than the FY
        ]
    )
    original = windows.copy()
    out = check_windows(windows)
    pd.testing.assert_frame_equal(windows, original)  # input untouched
    assert out["value"].tolist() == [1.0, 3.0, 2.0, 6.0, 4.0, 5.0]
    assert list(out.index) == list(range(6))
    assert out["start"].tolist()[1] == pd.Timestamp("2020-07-01")
    assert out["end"].tolist() == [
        pd.Timestamp(m) for m in ["2020-12-01", "2020-12-01", "2020-12-01", "2021-03-01", "2021-03-01", "2021-12-01"]
    ]
    assert out["end"].is_monotonic_increasing
    assert out["months"].dtype.kind == "i"


def test_window_end_is_last_month():
    windows = _windows([("2024-04-01", 12), ("2024-01-01", 10), ("2025-07-01", 6), ("2025-02-01", 1)])
    assert window_end(windows).tolist() == [
        pd.Timestamp(m) for m in ["2025-03-01", "2024-10-01", "2025-12-01", "2025-02-01"]
    ]


def test_redundant_flags_only_totals_fully_covered_by_monthly_figures():
    months_2020 = [(f"2020-{m:02d}-01", 1) for m in range(1, 13)]
    months_2021 = [(f"2021-{m:02d}-01", 1) for m in range(1, 12)]  # December 2021 missing
    windows = _windows(
        [
            *months_2020,
            *months_2021,
            ("2020-01-01", 12),  # every month a monthly figure: redundant
            ("2021-01-01", 12),  # December missing: informative
            ("2020-07-01", 6),  # H2 2020: redundant
            ("2020-04-01", 12),  # FY2020 reaches Mar 2021, covered: redundant
            ("2021-07-01", 6),
        ]
    )  # H2 2021 lacks December: informative
    flags = redundant(windows)
    assert flags.index.equals(windows.index)
    assert not flags.iloc[:23].any()  # a monthly figure is never redundant
    assert flags.iloc[23:].tolist() == [True, False, True, True, False]


def test_window_sums_are_nan_when_a_month_is_absent():
    grid = month_grid("2020-01-01", "2020-12-01")
    monthly = pd.Series(np.arange(1.0, 13.0), index=grid)
    windows = _windows([("2020-01-01", 12), ("2020-07-01", 6), ("2020-10-01", 6), ("2019-12-01", 2), ("2020-05-01", 1)])
    sums = window_sums(monthly, windows)
    assert sums[0] == pytest.approx(78.0)
    assert sums[1] == pytest.approx(7 + 8 + 9 + 10 + 11 + 12)
    assert np.isnan(sums[2])  # runs past December 2020
    assert np.isnan(sums[3])  # starts before the data
    assert sums[4] == pytest.approx(5.0)
    with_gap = monthly.copy()
    with_gap.loc["2020-08-01"] = np.nan
    assert np.isnan(window_sums(with_gap, windows)[0])
    assert window_sums(with_gap, windows)[4] == pytest.approx(5.0)
