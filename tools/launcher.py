"""`sciperf run`: launch reference runs under horovodrun (or mpirun, srun, or a plain process),
one `result_<i>.txt` per run, each run with its own seed.

Without --org/--system the logs go straight into --out. With them, the launcher writes the
MLPerf HPC submission layout: OUT/ORG/results/SYSTEM/strong/BENCH/result_<i>.txt, or, in
throughput mode (--models M), M concurrent instances of --np ranks each under weak/BENCH/.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sciperf import layout

LAUNCHERS = ("horovodrun", "mpirun", "srun", "none")


@dataclass
class RunPlan:
    benchmark: str
    scale: str
    np: int
    hosts: str | None
    launcher: str
    data_dir: str | None
    overrides: list[str]

    def command(self, seed: int, result_file: Path) -> list[str]:
        train = [sys.executable, "-m", f"reference_implementations.{self.benchmark}.train",
                 "--scale", self.scale, "--seed", str(seed), "--result-file", str(result_file)]
        if self.data_dir:
            train += ["--data-dir", self.data_dir]
        for o in self.overrides:
            train += ["--set", o]
        if self.launcher == "horovodrun":
            hosts = self.hosts or f"localhost:{self.np}"
            # tools.hvdrun is horovodrun itself, minus its traceback when a rank fails.
            return [sys.executable, "-m", "tools.hvdrun", "-np", str(self.np), "-H", hosts,
                    "--gloo", *train]
        if self.launcher == "mpirun":  # needs Horovod built with MPI (README: GPU clusters)
            hosts = ["-H", self.hosts] if self.hosts else []
            return ["mpirun", "-np", str(self.np), *hosts, "--bind-to", "none", *train]
        if self.launcher == "srun":
            return ["srun", f"--ntasks={self.np}", *train]
        return train


def result_dir(out: Path, benchmark: str, org: str | None, system: str | None,
               weak: bool) -> Path:
    """Where a run's logs go: OUT itself, or the submission layout under OUT/ORG."""
    if org is None:
        return out
    return layout.result_dir(out / org, system, layout.WEAK if weak else layout.STRONG,
                             benchmark)


def run_many(plan: RunPlan, out: Path, runs: int, seed: int | None, models: int = 0,
             echo=print) -> list[tuple[Path, int]]:
    """Run `runs` runs one after the other (or, with models > 0, `models` concurrent
    instances); return (result file, exit code) per run. A failing run does not stop the rest:
    its log ends with run_stop aborted, and the checker rejects it."""
    out.mkdir(parents=True, exist_ok=True)
    count = models or runs
    first = seed if seed is not None else secrets.randbelow(2**31 - 1_000_000)
    finished, running = [], []
    # A scheduler stops `sciperf run` with SIGTERM: pass it on to the launcher of the runs in
    # flight (horovodrun then stops its ranks, whose logs end with run_stop aborted) instead of
    # leaving them behind as orphans.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for i in range(count):
            result = out / layout.result_name(i)
            cmd = plan.command(first + i, result)
            echo(f"sciperf run: {result}  (seed {first + i})\n  $ {shlex.join(cmd)}")
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=_env())
            running.append((result, proc, time.perf_counter()))
            if not models:  # strong scaling: one run after the other
                finished.append(_wait(running[-1], echo))
                running.pop()
        while running:  # throughput mode: all instances at once
            finished.append(_wait(running[0], echo))
            running.pop(0)
    except KeyboardInterrupt:
        for _, proc, _ in running:
            proc.terminate()
        for _, proc, _ in running:
            proc.wait()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return finished


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _wait(job, echo):
    result, proc, start = job
    output, _ = proc.communicate()
    tail = [line for line in output.splitlines() if "sciperf:" in line or "Error" in line]
    for line in tail[-6:]:
        echo(f"  {line}")
    echo(f"  exit {proc.returncode} after {time.perf_counter() - start:.1f} s")
    return result, proc.returncode


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's start-up chatter out of the output
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
