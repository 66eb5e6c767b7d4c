"""Atomic file writes: readers see the old file or the new one, never half of one.

``write_*_atomic`` replace one file. ``StagedFiles`` writes a set of files to temporaries first
and renames them into place only when every one was written, so a disk that fills half-way
leaves every old file as it was (the caller can then undo whatever it did alongside).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from features.errors import DeficitError


def _default_mode() -> int:
    # mkstemp creates 0600; an ordinary file (projections, package data) should get what
    # open() would give it: 0666 less the process umask.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    write_bytes_atomic(path, text.encode(encoding))


class OutputWriteError(DeficitError):
    """An output file could not be written (disk full, read-only or missing directory). Exit 74
    (EX_IOERR), so a cron wrapper can tell a machine fault from bad input."""

    exit_code = 74


def _write_temporary(path: Path, data: bytes) -> Path:
    """``data`` in a fsync'ed temporary file beside ``path`` (same directory: the rename that
    follows is a same-filesystem rename, which POSIX makes atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the target directory, fsync, then rename over ``path``."""
    path = Path(path)
    tmp = _write_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class StagedFiles:
    """Files written now and put in place together: ``with StagedFiles() as staged:``, then
    ``staged.write_text(path, text)`` / ``write_bytes``; leaving the block without an error renames
    every temporary over its target, an error (or a failed write) removes them all and leaves the
    targets untouched. A write that fails raises ``OutputWriteError`` naming the file."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def write_bytes(self, path: Path, data: bytes) -> None:
        path = Path(path)
        try:
            self._staged.append((_write_temporary(path, data), path))
        except OSError as exc:
            raise OutputWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def write_text(self, path: Path, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(path, text.encode(encoding))

    def discard(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged.clear()

    def commit(self) -> None:
        # Renames need no new space; each target is then the old or the new complete file.
        try:
            for tmp, target in self._staged:
                os.replace(tmp, target)
        finally:
            self.discard()

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def check_writable_dir(path: Path, min_free_mb: float, what: str) -> None:
    """Refuse, before any work, a directory that cannot take a job's files: one that cannot be
    written (read-only file system, permissions) or that has less than ``min_free_mb`` free. A
    directory not made yet is judged by the nearest one that exists (it is not created here: a
    job refused later for bad input must leave no trace). ``what`` names it in the message."""
    path = Path(path).absolute()
    existing = next((p for p in (path, *path.parents) if p.is_dir()), None)
    if existing is None or any(p.exists() and not p.is_dir() for p in (path, *path.parents)):
        raise OutputWriteError(f"cannot write to the {what} {path}: a part of the path is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputWriteError(f"cannot write to the {what} {path}: {exc.strerror or exc}") from None
    free = shutil.disk_usage(existing).free
    if free < min_free_mb * 2**20:
        raise OutputWriteError(
            f"only {free / 2**20:.1f} MB free for the {what} {path}; the job needs at least "
            f"{min_free_mb:g} MB (min_free_mb in the config)"
        )
