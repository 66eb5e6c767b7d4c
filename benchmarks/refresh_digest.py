"""Fingerprint of what ``deficit refresh`` writes, to show a refactor changed no output.

Runs the real command with the default config in a fresh working folder (a copy of ``configs/``,
its own MLflow store), then prints one line per file under the output folder: its sha256 and path.
``--save F`` writes that list to F; ``--compare F`` exits 1 and names every file that differs
from (or is missing in) the saved list. The refresh pins its vintage and seeds, so two runs of the
same code give the same bytes (the reports' MLflow run id, a fresh uuid, is masked); a difference after a refactor is a change of behaviour.

    .venv/bin/python benchmarks/refresh_digest.py --save /tmp/before.txt
    ... change the code ...
    .venv/bin/python benchmarks/refresh_digest.py --compare /tmp/before.txt
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_ID = re.compile(rb"\b[0-9a-f]{32}\b")


def digest(config: str, keep: Path | None = None) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "configs", work / "configs")
        command = [str(ROOT / ".venv" / "bin" / "deficit"), "refresh", "--config", config]
        done = subprocess.run(command, cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"error: refresh exited {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
        out = work / "projections"
        if keep:
            shutil.copytree(out, keep, dirs_exist_ok=True)
        return {str(path.relative_to(out)): _sha(path) for path in sorted(out.rglob("*")) if path.is_file()}


def _sha(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".html":
        # The one thing that differs between two runs of the same code: the MLflow run id (a uuid4).
        data = RUN_ID.sub(b"<run-id>", data)
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--keep", type=Path, help="also copy the written files to this folder")
    args = parser.parse_args()
    files = digest(args.config, args.keep)
    lines = [f"{sha}  {name}" for name, sha in files.items()]
    print("\n".join(lines))
    if args.save:
        args.save.write_text("\n".join(lines) + "\n")
    if args.compare:
        saved = dict(reversed(line.split("  ", 1)) for line in args.compare.read_text().splitlines() if line)
        changed = sorted(n for n in saved.keys() | files.keys() if saved.get(n) != files.get(n))
        print(f"{len(files)} files, {len(changed)} differ from {args.compare}")
        for name in changed:
            print(f"  differs: {name}")
        sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
