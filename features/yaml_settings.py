"""Reading YAML settings files: every way a file can be wrong becomes one ConfigError line.

All settings (refresh config, series catalogues, scenarios, the adoption model, the BOJ code
catalogue) go through :func:`load_settings`, so they report problems the same way:
``<file>: <where>: <what>``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from features.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


class StrictSettings(BaseModel):
    """Base of every settings model: an unknown key is an error (a typo must not be ignored) and a
    validated setting cannot change afterwards."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML would silently keep the last one)."""


def _no_duplicates(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def read_mapping(path: Path, expected: str) -> dict:
    """The YAML mapping in ``path``; ``expected`` describes it for the error when it is not one."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)  # a SafeLoader subclass
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {one_line(err.problem or err.context or err)}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {one_line(err)}") from None
    if raw is None:
        raise ConfigError(f"{path}: empty file (expected {expected})")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected {expected}")
    return raw


def validate_settings(
    model: type[Model],
    raw: dict,
    path: Path,
    location: Callable[[Sequence], Sequence] = lambda loc: loc,
) -> Model:
    """``model`` validated from ``raw``; the first pydantic error (and a count of the rest) in one
    line. ``location`` may drop parts of the error location that mean nothing to a reader (the
    tags pydantic adds for union members)."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in location(first["loc"])) or "(top level)"
        more = f"; {err.error_count() - 1} more error(s)" if err.error_count() > 1 else ""
        raise ConfigError(f"{path}: {where}: {one_line(first['msg'])}{more}") from None


def load_settings(
    path: Path, model: type[Model], expected: str, location: Callable[[Sequence], Sequence] = lambda loc: loc
) -> Model:
    return validate_settings(model, read_mapping(path, expected), Path(path), location)
