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
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sciperf import layout
from sciperf import vocab as K
from tools.supervise import GRACE_S, Outcome, Supervised

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


# What --timeout is when not given: the wall time after which a run of a scale is surely hung
# rather than slow. Tiny runs take about a minute on two CPU ranks, small CosmoFlow runs about 5
# (rules.md); full-scale runs take hours on GPU systems (MLPerf HPC's take up to a few).
DEFAULT_TIMEOUT_MINUTES = {"tiny": 15, "small": 120, "full": 2880}


class ResumeError(Exception):
    """The logs already in --out do not fit the runs asked for; the message says which."""


@dataclass(frozen=True)
class LogState:
    path: Path
    seed: int | None
    finished: bool  # ended on its own: success, or every epoch trained without the target
    note: str  # how it ended, in a few words


def log_state(path: Path, benchmark: str) -> LogState | None:
    """What an existing log says of its run (None when there is no log), from its run summary
    (the reading the checker makes of it)."""
    from compliance.api import summarize_file

    if not path.exists():
        return None
    s = summarize_file(path)
    bench = s.value(K.SUBMISSION_BENCHMARK)
    if bench is not None and bench != benchmark:
        raise ResumeError(f"{path} is a log of {bench}, not {benchmark}; resume into the "
                          "folder of this benchmark's runs")
    seed = s.seeds[0].value if s.seeds else None
    if s.final_stop is None:
        return LogState(path, seed, False, "no run_stop")
    status, reason = s.final_status, str(s.final_stop.value.get(K.ABORT_REASON, ""))
    finished = status == K.SUCCESS or reason.startswith(K.TARGET_MISSED)
    return LogState(path, seed, finished, status if status == K.SUCCESS else reason)


def plan_resume(out: Path, benchmark: str, count: int, seed: int | None
                ) -> tuple[int | None, list[int], list[str]]:
    """(first seed, the runs to do, a line per existing log) for `--resume`: every run whose log
    is missing or did not finish, with the seed it had (run i: first seed + i). The first seed
    is --seed, else what the logs say (each log carries its seed), else None (no log says: a
    new sequence). A log whose seed does not fit the sequence is an error, not a guess."""
    states = [log_state(out / layout.result_name(i), benchmark) for i in range(count)]
    implied = {s.seed - i: s.path for i, s in enumerate(states)
               if s is not None and isinstance(s.seed, int)}
    if seed is not None:
        wrong = {f: s for s, f in implied.items() if s != seed}
        if wrong:
            f, s = next(iter(wrong.items()))
            raise ResumeError(f"{f.name} in {out} is of the seed sequence starting at {s}, not "
                              f"--seed {seed}; resume without --seed to keep it")
    elif len(implied) > 1:
        raise ResumeError(f"the logs in {out} are not of one seed sequence (run i has seed S+i): "
                          + ", ".join(f"{f.name} implies S={s}" for s, f in implied.items()))
    elif implied:
        seed = next(iter(implied))
    todo = [i for i, s in enumerate(states) if s is None or not s.finished]
    notes = [f"{s.path.name}: {'kept' if s.finished else 'run again'} ({s.note})"
             for s in states if s is not None]
    return seed, todo, notes


def run_many(plan: RunPlan, out: Path, runs: int, seed: int | None, models: int = 0,
             echo=None, timeout_minutes: float | None = None,
             resume: bool = False) -> list[Outcome]:
    """Run `runs` runs one after the other (or, with models > 0, `models` concurrent
    instances); return each run's Outcome. A failing run does not stop the rest: its log ends
    with run_stop aborted, and the checker rejects it. `resume` runs only the runs whose log is
    missing or unfinished, with the seeds they had. A Ctrl-C or SIGTERM stops the runs in
    flight (their logs end aborted, with the reason) and raises Interrupted."""
    echo = echo or (lambda text: print(text, flush=True))
    out.mkdir(parents=True, exist_ok=True)
    count = models or runs
    todo = list(range(count))
    if resume:
        seed, todo, notes = plan_resume(out, plan.benchmark, count, seed)
        for line in notes:
            echo(f"sciperf run: resume: {line}")
        if seed is None and todo:
            echo("sciperf run: resume: no log says its seed; the runs start a new seed sequence")
    first = seed if seed is not None else secrets.randbelow(2**31 - 1_000_000)
    if timeout_minutes is None:
        timeout_minutes = DEFAULT_TIMEOUT_MINUTES.get(plan.scale, 0)
    timeout_s = timeout_minutes * 60 or None
    finished: list[Outcome] = []
    running: list[Supervised] = []
    # A scheduler stops `sciperf run` with SIGTERM, a user with Ctrl-C: either stops the runs
    # in flight, each told why, instead of leaving them behind as orphans.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for i in todo:
            result = out / layout.result_name(i)
            result.unlink(missing_ok=True)  # an unfinished log is replaced, never left stale
            cmd = plan.command(first + i, result)
            echo(f"sciperf run: {result}  (seed {first + i})\n  $ {shlex.join(cmd)}")
            label = f"[{i}] " if models else ""
            running.append(Supervised(cmd, result, _env(), echo, label, timeout_s))
            if not models:  # strong scaling: one run after the other
                finished.append(_report(running[-1], echo))
                running.pop()
        while running:  # throughput mode: all instances at once
            while not any(r.poll() for r in running):
                time.sleep(0.2)
            done = next(r for r in running if r.poll())
            finished.append(_report(done, echo))
            running.remove(done)
    except KeyboardInterrupt as e:
        name = str(e) or "SIGINT"
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the stop below finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for r in running:
            r.stop(f"interrupted: sciperf run received {name}")
        echo(f"sciperf run: {name}: stopping {len(running)} run(s) (at most "
             f"{GRACE_S:.0f} s)")
        for r in running:
            finished.append(_report(r, echo))
        raise Interrupted(name, finished) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    return finished


class Interrupted(Exception):
    """`sciperf run` was stopped by a signal; `outcomes` holds the runs that ended."""

    def __init__(self, signal_name: str, outcomes: list[Outcome]):
        super().__init__(signal_name)
        self.outcomes = outcomes


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _report(run: Supervised, echo) -> Outcome:
    outcome = run.finish()
    echo(f"  {run.label}{outcome.summary}")
    return outcome


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's start-up chatter out of the output
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
