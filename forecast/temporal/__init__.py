"""Temporal disaggregation and mixed-frequency models: one latent monthly series per target,
estimated from figures published at several frequencies (months, calendar and fiscal years,
halves, year-to-date sums) and extended into forecasts.

* :mod:`.windows` – figures as sums over windows of months, and the aggregation matrix.
* :mod:`.profile` – seasonal factors from monthly history (multiplicative, mean one).
* :mod:`.state_space` – a structural model with a cumulator (statsmodels ``MLEModel``).
* :mod:`.chow_lin` – generalised Chow-Lin regression (AR(1) residual, any aggregation matrix).
* :mod:`.splits` – flat and seasonal-profile splits (the benchmarks of disaggregation).
* :mod:`.coherence` – accounting identities and published totals enforced together.
"""
