"""What the bench scripts share: timing a child process (wall, CPU of it and its workers, peak
memory), a writable copy of the corpus for tools that write into trees they read, and the
verdict line every figure with a target ends in."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "mlperf-hpc-v2.0"
EXPECTED = ROOT.parent / "shared" / "corpus" / "expected" / "mlperf-hpc-v2.0"


def bench_env() -> dict:
    """The environment the bench scripts start children in: this checkout first on the path."""
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")


@dataclass
class Timed:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child and the workers it waited for
    peak_mb: float  # the child's own peak resident memory
    rc: int
    out: str  # stdout
    err: str  # stderr


def timed(argv: list[str], stdin: str = "", cwd: Path = ROOT) -> Timed:
    """One child process, reaped here with wait4 so that its rusage is its own (and its
    workers'): wall and CPU seconds, peak memory, exit status and output."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=bench_env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=err)
        p.stdin.write(stdin.encode())
        p.stdin.close()
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        errors = err.read().decode(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(status)
    return Timed(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, p.returncode,
                 out.decode(errors="replace"), errors)


def best(runs: list[Timed]) -> Timed:
    return min(runs, key=lambda r: r.wall)


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def writable_copy(src: Path, dest: Path) -> Path:
    """A copy of a tree that tools may write into (mlperf-logging's RCP checker and
    summarizer write scaling.json into the trees they read; the shared corpus is never
    given to them)."""
    shutil.copytree(src, dest)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return dest


class Targets:
    """The figures with a target a script prints; its exit status says whether all held."""

    def __init__(self):
        self.missed: list[str] = []

    def check(self, name: str, ok: bool, text: str) -> str:
        if not ok:
            self.missed.append(name)
        return f"{text}: {'met' if ok else 'MISSED'}"

    def status(self) -> int:
        if self.missed:
            print(f"\nnot held: {', '.join(self.missed)}")
        return 1 if self.missed else 0
