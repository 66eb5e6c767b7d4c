"""Resource faults on real file systems: `deficit refresh` with its outputs or its MLflow store on a
small tmpfs that is full or mounted read-only. Each ends with one `error:` line (exit 74 where the
refresh refuses or cannot write an output), no traceback, no torn or temporary file, and the
registry exactly as it was (versions, aliases, champion history).

Mounting needs root (or CAP_SYS_ADMIN), as on the project's machines and CI; elsewhere these skip."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import yaml
from small_refresh import cli_env, write_small_config

NAME = "fault-test"
pytestmark = pytest.mark.slow


@contextmanager
def tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount_read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)


def fill(path: Path, leave_bytes: int) -> None:
    """Take all but ``leave_bytes`` of the file system's free space."""
    free = shutil.disk_usage(path).free
    with open(path / "filler.bin", "wb") as fh:
        fh.truncate(0)
        remaining = max(free - leave_bytes, 0)
        block = b"\0" * 2**20
        while remaining > 0:
            fh.write(block[: min(remaining, len(block))])
            remaining -= min(remaining, len(block))


def config(tmp: Path, output_dir: Path, mlruns_dir: Path, min_free_mb: float) -> Path:
    path = write_small_config(tmp, "faults", NAME, ["digital_mof3.balance"], ["naive", "seasonal_naive"])
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(output_dir=str(output_dir), mlruns_dir=str(mlruns_dir), min_free_mb=min_free_mb)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def refresh(config_path: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(config_path), *flags],
        cwd=config_path.parent,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def registry_state(mlruns: Path) -> tuple:
    """(versions, aliases, champion history) read straight from the store's sqlite file, with a
    connection closed on return (an MLflow client keeps the file open, and a busy file system
    cannot be remounted read-only)."""
    with closing(sqlite3.connect(f"file:{mlruns / 'mlflow.db'}?mode=ro", uri=True)) as db:
        # a deleted version keeps its row, marked deleted (MLflow never reuses a version number)
        versions = sorted(
            int(v)
            for (v,) in db.execute(
                "SELECT version FROM model_versions WHERE name = ? AND current_stage != 'Deleted_Internal'", (NAME,)
            )
        )
        aliases = dict(db.execute("SELECT alias, version FROM registered_model_aliases WHERE name = ?", (NAME,)))
        history = db.execute(
            "SELECT value FROM registered_model_tags WHERE name = ? AND key = 'champion_history'", (NAME,)
        ).fetchone()
    return versions, aliases, history


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and p.name != "filler.bin"}


def published(cfg: Path, mlruns: Path, outputs: Path) -> tuple[tuple, dict[str, bytes]]:
    """Run a first, successful refresh; return the registry state and output files it left."""
    first = refresh(cfg)
    assert first.returncode == 0, first.stderr[-2000:]
    return registry_state(mlruns), files(outputs)


def assert_one_clean_error(run: subprocess.CompletedProcess, code: int | None, *words: str) -> None:
    assert run.returncode != 0 and (code is None or run.returncode == code), (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr[-2000:]
    for word in words:
        assert word.lower() in errors[0].lower(), errors[0]


def test_read_only_output_and_store_directories(tmp_path):
    with tmpfs(tmp_path / "out", 16) as out, tmpfs(tmp_path / "store", 16) as store:
        cfg = config(tmp_path, out / "projections", store / "mlruns", min_free_mb=1)
        before, outputs = published(cfg, store / "mlruns", out / "projections")

        remount_read_only(out)
        run = refresh(cfg, "--force-promote")
        assert_one_clean_error(run, 74, "read-only", "output directory")
        assert registry_state(store / "mlruns") == before
        assert files(out / "projections") == outputs

        subprocess.run(["mount", "-o", "remount,rw", str(out)], check=True, capture_output=True)
        remount_read_only(store)
        run = refresh(cfg, "--force-promote")
        assert_one_clean_error(run, 74, "read-only", "store")
        assert registry_state(store / "mlruns") == before
        assert files(out / "projections") == outputs


def test_full_output_disk_is_refused_up_front_and_a_disk_that_fills_while_publishing_undoes_the_registration(tmp_path):
    with tmpfs(tmp_path / "out", 16) as out:
        cfg = config(tmp_path, out / "projections", tmp_path / "mlruns", min_free_mb=1)
        before, outputs = published(cfg, tmp_path / "mlruns", out / "projections")
        report = max(len(b) for b in outputs.values())
        # room for the small projections file, not for the report
        fill(out, leave_bytes=report // 2)

        refused = refresh(cfg, "--force-promote")  # less than min_free_mb: refused before any work
        assert_one_clean_error(refused, 74, "MB free", "min_free_mb")
        assert registry_state(tmp_path / "mlruns") == before

        unguarded = config(tmp_path, out / "projections", tmp_path / "mlruns", min_free_mb=0)
        run = refresh(unguarded, "--force-promote")  # the disk is full when the report is written
        assert_one_clean_error(run, 74, "no space left")
        assert registry_state(tmp_path / "mlruns") == before
        assert files(out / "projections") == outputs
        assert not [p for p in (out / "projections").iterdir() if p.name.endswith(".tmp")]

        (out / "filler.bin").unlink()  # space again: the next refresh publishes
        again = refresh(unguarded, "--force-promote")
        assert again.returncode == 0, again.stderr[-2000:]
        versions, aliases, _ = registry_state(tmp_path / "mlruns")
        assert len(versions) == len(before[0]) + 1 and int(aliases["champion"]) == versions[-1]


def test_full_store_disk_ends_with_one_line_and_the_registry_as_it_was(tmp_path):
    with tmpfs(tmp_path / "store", 32) as store:
        cfg = config(tmp_path, tmp_path / "projections", store / "mlruns", min_free_mb=0)
        before, outputs = published(cfg, store / "mlruns", tmp_path / "projections")
        fill(store, leave_bytes=64 * 1024)
        run = refresh(cfg, "--force-promote")
        assert_one_clean_error(run, None)
        (store / "filler.bin").unlink()
        assert registry_state(store / "mlruns") == before
        assert files(tmp_path / "projections") == outputs
