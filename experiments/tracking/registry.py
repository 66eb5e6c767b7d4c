"""Registry operations: lineage-tagged versions, the champion alias and its history.

MLflow aliases point at one version each and keep no history, so the registered model carries a
tag ``champion_history`` (JSON list of versions, oldest first) that ``promote`` appends to and
``rollback`` pops. Every version is created with its lineage tags in the same request
(``create_model_version(tags=...)``), so a crash can never leave a version without them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from features.errors import DeficitError

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
HISTORY_KEEP = 100  # MLflow tag values are capped at 5,000 characters


class RegistryError(DeficitError):
    """A registry request that cannot be carried out (unknown model or version, nothing to roll back)."""


def _registered(client: MlflowClient, name: str):
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    model = _registered(client, name)
    if model is None or alias not in model.aliases:
        return None
    return client.get_model_version(name, str(model.aliases[alias]))


def find_version(client: MlflowClient, name: str, tags: dict[str, str]) -> ModelVersion | None:
    """The newest version whose tags include all of ``tags`` (used for idempotent refreshes)."""
    if _registered(client, name) is None:
        return None
    matches = [
        v
        for v in client.search_model_versions(f"name='{name}'")
        if all(v.tags.get(k) == val for k, val in tags.items())
    ]
    return max(matches, key=lambda v: int(v.version)) if matches else None


def create_version(
    client: MlflowClient,
    name: str,
    model_uri: str,
    run_id: str,
    model_id: str | None,
    tags: dict[str, str],
    description: str,
) -> ModelVersion:
    if _registered(client, name) is None:
        client.create_registered_model(name, description="Digital-deficit forecasts (see tags for lineage)")
    return client.create_model_version(
        name, source=model_uri, run_id=run_id, tags=tags, description=description, model_id=model_id
    )


def history(client: MlflowClient, name: str) -> list[str]:
    model = _registered(client, name)
    if model is None:
        return []
    return json.loads(model.tags.get(HISTORY_TAG, "[]"))


def get_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    try:
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(f"model '{name}' has no version {version}") from None
        raise


def promote(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Point @champion at ``version`` and record it in the history."""
    get_version(client, name, version)
    past = [v for v in history(client, name) if v != str(version)] + [str(version)]
    client.set_registered_model_alias(name, CHAMPION, str(version))
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(past[-HISTORY_KEEP:]))
    client.set_model_version_tag(name, str(version), "promoted_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    client.set_model_version_tag(name, str(version), "promotion_reason", reason)
    current = alias_version(client, name, CHALLENGER)
    if current is not None and str(current.version) == str(version):
        client.delete_registered_model_alias(name, CHALLENGER)


def mark_challenger(client: MlflowClient, name: str, version: str) -> None:
    client.set_registered_model_alias(name, CHALLENGER, str(version))


def rollback(client: MlflowClient, name: str) -> tuple[str, str]:
    """Move @champion back to the previous champion; return (from_version, to_version)."""
    if _registered(client, name) is None:
        raise RegistryError(f"no registered model named '{name}'")
    past = history(client, name)
    if len(past) < 2:
        raise RegistryError(f"'{name}' has no previous champion to roll back to")
    current, previous = past[-1], past[-2]
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(past[:-1]))
    client.set_model_version_tag(name, current, "rolled_back_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return current, previous


def list_versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    if _registered(client, name) is None:
        raise RegistryError(f"no registered model named '{name}'")
    return sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))


@contextmanager
def unchanged_on_failure(client: MlflowClient, name: str) -> Iterator[None]:
    """Registry state of ``name`` kept as it was if the block fails: the versions the block created
    are deleted and the aliases and champion history put back (or the registered model deleted, if
    the block created it). Publishing registers, then writes the output files; a disk that fills
    between the two must not leave a champion whose files were never written."""
    before = _registered(client, name)
    aliases = dict(before.aliases) if before is not None else {}
    history_tag = before.tags.get(HISTORY_TAG) if before is not None else None
    known = {v.version for v in client.search_model_versions(f"name='{name}'")} if before is not None else set()
    try:
        yield
    except BaseException as failure:
        try:
            _restore(client, name, before is not None, aliases, history_tag, known)
        except Exception as exc:  # noqa: BLE001 - the original failure is the one to report
            # When the store itself failed (unreachable, full), the error line already says so; a
            # version it registered before failing is complete and tagged, and the next refresh
            # restores that version's output files from its run.
            if not isinstance(failure, MlflowException):
                print(
                    f"warning: could not undo the registration of '{name}' after a failed publish: "
                    f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                    file=sys.stderr,
                )
        raise


def _restore(
    client: MlflowClient, name: str, existed: bool, aliases: dict, history_tag: str | None, known: set
) -> None:
    if not existed:
        if _registered(client, name) is not None:
            client.delete_registered_model(name)
        return
    for version in client.search_model_versions(f"name='{name}'"):
        if version.version not in known:
            client.delete_model_version(name, version.version)
    current = client.get_registered_model(name)
    for alias in set(current.aliases) - set(aliases):
        client.delete_registered_model_alias(name, alias)
    for alias, version in aliases.items():
        if current.aliases.get(alias) != version:
            client.set_registered_model_alias(name, alias, str(version))
    if history_tag is None:
        if HISTORY_TAG in current.tags:
            client.delete_registered_model_tag(name, HISTORY_TAG)
    elif current.tags.get(HISTORY_TAG) != history_tag:
        client.set_registered_model_tag(name, HISTORY_TAG, history_tag)
