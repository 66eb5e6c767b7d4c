"""Metrics against hand-computed values."""

import numpy as np
import pandas as pd
import pytest

from forecast import metrics


def test_smape_is_on_the_0_200_scale_and_zero_over_zero_is_zero():
    # 200*10/210, 0 (both zero), 200*100/100
    assert metrics.smape([100, 0, 50], [110, 0, -50]) == pytest.approx((2000 / 210 + 0 + 200) / 3)
    assert metrics.smape([0.0], [0.0]) == 0.0
    assert metrics.smape([5.0], [-5.0]) == pytest.approx(200.0)


def test_mae_rmse():
    assert metrics.mae([0, 0], [3, 4]) == pytest.approx(3.5)
    assert metrics.rmse([0, 0], [3, 4]) == pytest.approx(np.sqrt(12.5))


def test_nan_pairs_are_ignored_and_no_pair_gives_nan():
    assert metrics.mae([1, np.nan, 3], [2, 5, np.nan]) == pytest.approx(1.0)
    assert np.isnan(metrics.rmse([np.nan], [1.0]))
    with pytest.raises(ValueError):
        metrics.mae([1, 2], [1])


def test_mase_scale_is_the_seasonal_naive_in_sample_mae():
    y_train = [10, 12, 14, 11, 13, 15]  # lag-3 differences are all 1; lag-1 differences average 2.2
    assert metrics.mase_scale(y_train, 3) == pytest.approx(1.0)
    assert metrics.mase_scale(y_train, 1) == pytest.approx(11 / 5)
    assert metrics.mase([16, 17], [15, 19], y_train, 3) == pytest.approx(1.5)


def test_mase_scale_falls_back_to_lag_1_on_a_short_series_and_skips_gaps():
    assert metrics.mase_scale([10, 12, 14], 3) == pytest.approx(2.0)  # shorter than m + 1
    assert metrics.mase_scale([10, np.nan, 14, 11, 13, 15], 3) == pytest.approx(1.0)  # (1 + 1) / 2
    assert np.isnan(metrics.mase_scale([10.0], 12))


def test_mase_is_nan_when_the_scale_is_zero():
    assert np.isnan(metrics.mase([1.0], [2.0], [5, 5, 5, 5], 1))


def test_pinball():
    # tau = 0.9: under-forecast by 2 costs 0.9*2, over-forecast by 3 costs 0.1*3
    assert metrics.pinball([10, 10], [8, 13], 0.9) == pytest.approx((1.8 + 0.3) / 2)
    assert metrics.pinball([1, 2], [2, 4], 0.5) == pytest.approx(metrics.mae([1, 2], [2, 4]) / 2)
    with pytest.raises(ValueError):
        metrics.pinball([1], [1], 1.0)


def test_mean_pinball_averages_the_five_quantile_columns():
    forecasts = pd.DataFrame({"mean": [10.0], "lo_80": [10.0], "hi_80": [10.0], "lo_95": [8.0], "hi_95": [10.0]})
    # only lo_95 (tau 0.025) misses: 0.025 * 2 = 0.05, averaged over five columns
    assert metrics.mean_pinball([10.0], forecasts) == pytest.approx(0.05 / 5)


def test_coverage_uses_closed_intervals():
    assert metrics.coverage([1, 2, 3, 4], [0, 2.5, 3, 5], [2, 3, 3, 6]) == pytest.approx(0.5)
    assert metrics.coverage([1, np.nan], [0, 0], [2, 2]) == pytest.approx(1.0)
