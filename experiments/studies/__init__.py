"""The studies: each a list of steps over one context (steps.py)."""
