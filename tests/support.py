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


def sciperf(*args, check=False, timeout=900, extra_env=None) -> subprocess.CompletedProcess:
    """Run `sciperf ARGS` as a user would (a fresh process), capturing its output."""
    return subprocess.run([sys.executable, "-m", "sciperf.cli", *map(str, args)], cwd=REPO,
                          env={**env(), **(extra_env or {})}, capture_output=True, text=True,
                          check=check, timeout=timeout)


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


def final_stop(records: list[dict]) -> dict:
    """The log's run_stop record: the last record, or the one before the weights' sha256 of
    the model the run kept (logged after run_stop, outside the timed region)."""
    assert records, "the run left no log"
    tail = records[:-1] if records[-1]["key"] == K.WEIGHTS_SHA256 else records
    assert tail and tail[-1]["key"] == K.RUN_STOP, "the log must end with run_stop " \
        f"(and, when the run kept its model, {K.WEIGHTS_SHA256})"
    return tail[-1]


def assert_kept_model(run: ReferenceRun) -> None:
    """The run kept its model beside its log, and the log's weights_sha256 is the hash of the
    weights in it (and of the weights rank 0 ended with)."""
    from reference_implementations.common import trained
    from sciperf import layout

    logged = [r["value"] for r in run.records if r["key"] == K.WEIGHTS_SHA256]
    assert len(logged) == 1 and run.records[-1]["key"] == K.WEIGHTS_SHA256, logged
    _, model, _ = trained.load(layout.model_dir(run.result))
    assert trained.weights_sha256(model) == logged[0] == run.weights["0"]


def aborted_metadata(run: ReferenceRun, *needles: str) -> dict:
    """Assert the run failed cleanly (non-zero exit, no traceback, the log ends with run_stop
    aborted) and its reason holds every needle; return run_stop's metadata."""
    out = run.proc.stdout + run.proc.stderr
    assert run.proc.returncode != 0 and "Traceback" not in out, out[-3000:]
    stop = final_stop(run.records)
    assert stop["metadata"]["status"] == K.ABORTED
    for needle in needles:
        assert needle in stop["metadata"]["reason"], stop["metadata"]["reason"]
    return stop["metadata"]


def assert_stopped_at_first_target(records: list[dict], benchmark: str, target: float) -> None:
    """The run ended with success at the first evaluation that reached the target: every
    earlier one missed it, and no epoch came after."""
    bench = K.BENCHMARKS[benchmark]
    values = [r["value"] for r in records if r["key"] == bench.metric_key]
    assert values and bench.reached(values[-1], target), values
    assert not any(bench.reached(v, target) for v in values[:-1]), \
        f"an earlier evaluation reached {target} but the run went on: {values}"
    epochs = [r["metadata"][K.EPOCH_NUM] for r in records if r["key"] == K.EPOCH_STOP]
    assert len(epochs) == len(values)
    assert final_stop(records)["metadata"]["status"] == K.SUCCESS


# -- faults injected into runs (tests/harness/test_run_faults.py) --------------------------------

def start_sciperf(*args, env_extra=None, **popen) -> subprocess.Popen:
    """`sciperf ARGS` in a session of its own (as a shell starts a foreground job, so a test can
    send it the terminal's Ctrl-C with os.killpg), output captured."""
    return subprocess.Popen([sys.executable, "-m", "sciperf.cli", *map(str, args)], cwd=REPO,
                            env={**env(), **(env_extra or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **popen)


class ProcessTree:
    """Every process seen below a root while the test waits (sampled: Horovod's per-rank
    helpers start sessions of their own and outlive their parents when things go wrong)."""

    def __init__(self, root: subprocess.Popen):
        import psutil

        self.root, self.seen = root, {}
        self._psutil = psutil

    def sample(self) -> None:
        try:
            for p in self._psutil.Process(self.root.pid).children(recursive=True):
                self.seen.setdefault(p.pid, p)
        except self._psutil.Error:
            pass

    def ranks(self) -> dict[int, object]:
        """rank -> the rank's Python process (HOROVOD_RANK in its environment)."""
        out = {}
        for p in self.seen.values():
            try:
                rank = p.environ().get("HOROVOD_RANK")
                if rank is not None and "reference_implementations" in " ".join(p.cmdline()):
                    out[int(rank)] = p
            except self._psutil.Error:
                pass
        return out

    def alive(self) -> list[str]:
        out = []
        for p in self.seen.values():
            try:
                if p.is_running() and p.status() != self._psutil.STATUS_ZOMBIE:
                    out.append(f"{p.pid} {' '.join(p.cmdline())[:100]}")
            except self._psutil.Error:
                pass
        return out

    def wait_for(self, done, what: str, timeout: float = 600) -> None:
        """Sample the tree until done() holds; fail naming `what` if the run ends first or the
        generous timeout passes (the machine may be loaded: wait on records, not on time)."""
        import time

        deadline = time.monotonic() + timeout
        while not done():
            self.sample()
            if self.root.poll() is not None:
                raise AssertionError(f"the run ended before {what}: "
                                     f"{self.root.stdout.read()[-3000:]}")
            if time.monotonic() > deadline:
                self.root.kill()
                raise AssertionError(f"no {what} within {timeout} s")
            time.sleep(0.2)
        self.sample()


def has_record(path: Path, key: str, count: int = 1) -> bool:
    """Does the log (being written) hold `count` records of `key` yet? Whole lines only."""
    if not path.exists():
        return False
    whole = path.read_text(errors="replace").rpartition("\n")[0]
    return whole.count(f'"key": "{key}"') >= count
