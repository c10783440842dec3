"""Helpers the tests share: where the real MLPerf HPC corpus lies, running the CLI, reading logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "mlperf-hpc-v2.0"
EXPECTED = SHARED / "corpus" / "expected" / "mlperf-hpc-v2.0"


def env() -> dict:
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    e["PYTHONPATH"] = str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def sciperf(*args, check=False, timeout=900) -> subprocess.CompletedProcess:
    """Run `sciperf ARGS` as a user would (a fresh process), capturing its output."""
    return subprocess.run([sys.executable, "-m", "sciperf.cli", *map(str, args)], cwd=REPO,
                          env=env(), capture_output=True, text=True, check=check,
                          timeout=timeout)


def mllog_records(path: Path) -> list[dict]:
    """The MLLOG records of a log, each with its line number (a plain reading, independent of
    the checker under test)."""
    out = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if ":::MLLOG" in line:
            rec = json.loads(line.split(":::MLLOG", 1)[1])
            rec["line"] = n
            out.append(rec)
    return out
