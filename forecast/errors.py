"""Errors raised by the forecasting engine."""

from features.errors import DeficitError


class ModelNotApplicable(DeficitError):
    """A model cannot be fitted to this series (gaps it cannot handle, too few observations).

    The backtest catches it and records the model as skipped for that target, with this message as
    the reason; it never substitutes invented values.
    """


class UnknownModelError(DeficitError):
    """A model name that the registry does not know."""


class NotFittedError(DeficitError):
    """predict/update called before fit."""
