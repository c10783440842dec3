"""Helpers the tests share: where the real MLPerf HPC corpus lies, running the CLI, reading logs,
generating data and running a benchmark the way `sciperf run` does."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from sciperf import vocab as K

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


# -- reference runs (the 2-rank tests of every benchmark) ---------------------------------------

def generate_data(tmp_path_factory, benchmark: str, scale: str = "tiny") -> Path:
    """`sciperf data generate BENCH --scale SCALE` into a fresh temporary folder."""
    out = tmp_path_factory.mktemp(benchmark) / scale
    r = sciperf("data", "generate", benchmark, "--scale", scale, "--out", out, "--workers", 2)
    assert r.returncode == 0, r.stderr
    return out


def copy_without_manifest(src: Path, dst: Path) -> Path:
    """A copy of a generated dataset as real data comes: no manifest, so the reader must check."""
    shutil.copytree(src, dst)
    (dst / K.MANIFEST_NAME).unlink()
    return dst


class ReferenceRun(NamedTuple):
    proc: subprocess.CompletedProcess
    records: list[dict]  # the log's MLLOG records ([] when it wrote none)
    result: Path  # the log
    weights: dict[str, str]  # rank -> sha256 of its final weights, as each rank printed it


def reference_run(benchmark: str, tmp_path: Path, data_dir: Path, *, seed: int, ranks: int = 2,
                  name: str = "result_0.txt", overrides=(), scale: str = "tiny",
                  timeout: int = 900) -> ReferenceRun:
    """One run as `sciperf run` launches it: under horovodrun for more than one rank."""
    from tools.launcher import RunPlan

    result = tmp_path / name
    cmd = RunPlan(benchmark, scale, ranks, None, "horovodrun" if ranks > 1 else "none",
                  str(data_dir), list(overrides)).command(seed, result)
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True,
                          timeout=timeout)
    weights = dict(re.findall(r"rank (\d+): weights sha256 ([0-9a-f]{64})", proc.stdout))
    return ReferenceRun(proc, mllog_records(result) if result.exists() else [], result, weights)


def aborted_metadata(run: ReferenceRun, *needles: str) -> dict:
    """Assert the run failed cleanly (non-zero exit, no traceback, the log ends with run_stop
    aborted) and its reason holds every needle; return run_stop's metadata."""
    out = run.proc.stdout + run.proc.stderr
    assert run.proc.returncode != 0 and "Traceback" not in out, out[-3000:]
    assert run.records, "the run left no log"
    stop = run.records[-1]
    assert stop["key"] == K.RUN_STOP, "the log must end with run_stop"
    assert stop["metadata"]["status"] == K.ABORTED
    for needle in needles:
        assert needle in stop["metadata"]["reason"], stop["metadata"]["reason"]
    return stop["metadata"]
