"""What produced a result: code version, for tags on runs and model versions."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path


def code_version() -> str:
    """``git:<sha>[+dirty]`` inside a checkout, else the installed package version."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return f"git:{sha}{'+dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        try:
            return f"pkg:{metadata.version('digital-deficit')}"
        except metadata.PackageNotFoundError:
            return "unknown"


# A refresh whose data and study settings match a registered version is the same job again.
IDEMPOTENCE_KEYS = ("data_sha256", "study_sha256")


def lineage_tags(snapshot, data_tags: dict[str, str] | None, study_sha256: str, config_sha256: str) -> dict[str, str]:
    """Tags that say what produced a run or model version: data, settings, code."""
    return {
        "data_vintage": snapshot.vintage,
        "data_sha256": snapshot.sha256,
        **(data_tags or {}),  # the local vintage id and what the fetch step did
        "study_sha256": study_sha256,
        "config_sha256": config_sha256,
        "code_version": code_version(),
    }


def registered_unchanged(
    client, registered_model: str, lineage: dict[str, str], force: bool, outputs=None
) -> str | None:
    """The version already registered from the same data and study settings (the refresh has
    nothing to redo), unless ``force``. ``outputs`` (artifact path in that version's run -> file, or
    a function of the version giving that mapping): files that are missing (a refresh killed after
    registering, before writing them) are restored from the run's artifacts, so the files on disk
    always belong to a registered version."""
    from experiments.tracking.registry import find_version

    if force:
        return None
    done = find_version(client, registered_model, {k: lineage[k] for k in IDEMPOTENCE_KEYS})
    if done is None:
        return None
    wanted = outputs(done) if callable(outputs) else (outputs or {})
    missing = {artifact: Path(path) for artifact, path in wanted.items() if not Path(path).exists()}
    if missing:
        import tempfile

        from features.atomic import write_bytes_atomic

        with tempfile.TemporaryDirectory() as tmp:
            for artifact, path in missing.items():
                local = client.download_artifacts(done.run_id, artifact, tmp)
                write_bytes_atomic(path, Path(local).read_bytes())
    return str(done.version)
