"""Credentials out of what the toolkit prints: ``scheme://user:password@host`` -> ``scheme://***@host``.

A tracking URI may carry a user and password (``http://alice:secret@host:5000``); MLflow's own
error messages quote the full request URL, so every line the CLI prints goes through here."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def redact_credentials(text: str) -> str:
    return _USERINFO.sub(r"\g<scheme>***@", text)
