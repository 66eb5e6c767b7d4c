"""Errors of the data connectors. All are :class:`DeficitError`, so the CLI prints one line."""

from __future__ import annotations

from features.errors import DeficitError


class SourceError(DeficitError):
    """A data source did not deliver usable data (network, API error, malformed response)."""


class SourceUnavailableError(SourceError):
    """The source could not be reached, or kept timing out / answering 503 through every retry."""


class BojResponseError(SourceError):
    """A BOJ API response that does not follow the documented layout."""


class BojApiError(SourceError):
    """The BOJ API answered with an error STATUS; ``message_id`` is its MESSAGEID (e.g. M181005E)."""

    def __init__(self, message: str, *, status: int, message_id: str) -> None:
        super().__init__(message)
        self.status = status
        self.message_id = message_id


class BojUnknownCodeError(BojApiError):
    """M181013E: a requested series code does not exist in the database."""


class BojNoDataError(BojApiError):
    """M181030I: the request succeeded but there are no figures for it (e.g. outside the dates)."""
