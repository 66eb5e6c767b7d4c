"""The mixed-frequency study: monthly estimates and forecasts from every published figure.

config.py (settings) -> data.py (figures as windows, indicators, seasonal profiles) ->
evidence.py (disaggregation test, one-year-ahead origins, interval coverage and calibration) ->
paths.py (final fits, coherence, scenarios) -> publish.py (MLflow run, registry, files, report) ->
study.py (the steps in order, for experiments/refresh/__init__.py).
"""
