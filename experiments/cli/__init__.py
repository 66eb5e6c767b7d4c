"""The ``deficit`` command line (main.py) and its sub-commands."""

from experiments.cli.main import app, main

__all__ = ["app", "main"]
