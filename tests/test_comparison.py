"""Diebold-Mariano: size under equal accuracy, power against a clear difference, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.comparison import diebold_mariano


def test_clearly_better_forecaster_is_detected():
    rng = np.random.default_rng(0)
    d = -1.0 + rng.normal(0, 0.5, 30)
    result = diebold_mariano(d, max_lag=0)
    assert result.p_value < 0.001 and result.statistic < 0


def test_worse_forecaster_is_not_called_better():
    rng = np.random.default_rng(1)
    assert diebold_mariano(1.0 + rng.normal(0, 0.5, 30), max_lag=2).p_value > 0.99


def test_equal_accuracy_rejects_at_about_the_nominal_rate():
    rng = np.random.default_rng(2)
    rejections = [diebold_mariano(rng.normal(0, 1, 40), max_lag=0).p_value < 0.05 for _ in range(2000)]
    assert 0.035 < np.mean(rejections) < 0.065


def test_hln_correction_matches_hand_computation():
    d = np.array([-0.5, -0.2, 0.1, -0.4, -0.3, 0.0])
    n, h = len(d), 2
    c = d - d.mean()
    g0, g1 = c @ c / n, c[1:] @ c[:-1] / n
    dm = d.mean() / np.sqrt((g0 + 2 * g1) / n)
    expected = dm * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    assert diebold_mariano(d, max_lag=1).statistic == pytest.approx(expected)


def test_identical_forecasts_give_no_evidence():
    result = diebold_mariano(np.zeros(12), max_lag=11)
    assert result.p_value == 1.0 and result.statistic == 0.0


def test_too_few_points_is_an_error():
    with pytest.raises(ValueError, match="at least 2"):
        diebold_mariano(np.array([0.3]), max_lag=0)
