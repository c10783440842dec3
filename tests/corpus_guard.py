"""No test may write into the shared corpus (mlperf-logging's RCP checker and summarizer write
scaling.json into trees they read, so the tests run them on copies): tests/conftest.py takes a
snapshot of ../shared/corpus when the session starts and fails the run if anything differs when
it ends."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.support import SHARED

ROOT = SHARED / "corpus"


def snapshot(root: Path | None = None) -> dict[str, str]:
    """sha256 of every file under root (default the shared corpus), by relative path."""
    root = ROOT if root is None else root
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return ([f"new file {n}" for n in sorted(set(after) - set(before))]
            + [f"removed file {n}" for n in sorted(set(before) - set(after))]
            + [f"changed file {n}" for n in sorted(set(before) & set(after))
               if before[n] != after[n]])


def available() -> bool:
    return ROOT.is_dir()
