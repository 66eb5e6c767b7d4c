"""Forecasting models behind one contract (:mod:`forecast.models.base`).

Build models by name through :mod:`forecast.models.registry` (``make_model``, ``available_models``).
Nothing is re-exported here so that importing the contract does not import every model library.
"""
