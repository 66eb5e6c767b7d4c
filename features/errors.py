"""Exceptions shared by every layer.

The CLI turns any :class:`DeficitError` into one line on stderr and a non-zero exit, so raise these
(with a message a user can act on) for bad input; let genuine bugs raise whatever they raise.
"""


class DeficitError(Exception):
    """Base class for errors caused by the user's input (data, config, arguments)."""

    exit_code = 2  # the CLI's exit status for this error


class RefreshBusy(DeficitError):
    """Another refresh holds the store's lock. Exit 75 (EX_TEMPFAIL: try again later), so a cron
    wrapper can tell "busy" from "failed"; ``deficit refresh --wait`` queues instead."""

    exit_code = 75


class DataValidationError(DeficitError):
    """A data file or frame broke a schema rule. The message names the file/frame, row and rule."""


class UnknownSeriesError(DeficitError):
    """A series id that the catalogue does not define."""


class ConfigError(DeficitError):
    """A configuration file that cannot be read or does not validate."""
