"""Connectors for official data: the BOJ Time-Series Data Search API, BOJ bulk flat files and
MOF CSV tables. Each reader turns its input into one long *figures* frame (period, item, flow,
value, unit) validated by :mod:`features.sources.figures`; :mod:`features.vintages` stores it."""
