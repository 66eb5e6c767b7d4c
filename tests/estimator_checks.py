"""Checks of the scikit-learn estimator contract shared by the local and global conformance tests."""

from __future__ import annotations


def assert_params_stored_verbatim(model) -> dict:
    """``__init__`` stores each parameter as given: rebuilding the model from ``get_params`` hands
    back the very same objects. Returns the parameters."""
    params = model.get_params(deep=False)
    rebuilt = type(model)(**params)
    for key, value in params.items():
        assert rebuilt.get_params(deep=False)[key] is value, key
    return params
