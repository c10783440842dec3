"""One run as `sciperf run` watches it: its output shown as it comes (one progress line per
epoch from rank 0), a timeout, a clean stop on demand, no process of it left behind, and one
line at the end that says how it ended.

Stopping a run: post the cause as a fault notice first (rank 0 then names it in run_stop), send
SIGTERM to the launcher process (horovodrun passes it to every rank) and SIGCONT to the whole
process tree (a rank stopped with SIGSTOP wakes up to handle it), wait GRACE_S, then SIGKILL
whatever of the tree is still there. The tree is sampled while the run lives, because Horovod's
per-rank helpers start sessions of their own and re-parent to init when their parent dies.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psutil

from reference_implementations.common import faults
from sciperf import vocab as K

# After SIGTERM, how long a run has to write its run_stop and exit before SIGKILL. Rank 0 needs
# well under a second (its signal watch writes run_stop at once); horovodrun gives each rank 5 s
# before its own SIGKILL. 30 s leaves room on a loaded machine.
GRACE_S = 30.0
_HOROVOD_PREFIX = re.compile(r"^\[(\d+)\]<(stdout|stderr)>:")


@dataclass
class Outcome:
    result: Path
    returncode: int
    status: str | None  # run_stop's status; None when the log has no run_stop
    summary: str  # one line: how the run ended


class Supervised:
    def __init__(self, cmd: list[str], result: Path, env: dict, echo, label: str = "",
                 timeout_s: float | None = None):
        self.result, self.echo, self.label = result, echo, label
        self.fault_dir = tempfile.mkdtemp(prefix="sciperf-run-")
        env = dict(env, **{faults.FAULT_DIR_ENV: self.fault_dir})
        self.started = time.monotonic()
        self.deadline = self.started + timeout_s if timeout_s else None
        self.timeout_s = timeout_s
        self.stopping: float | None = None  # when stop() sent SIGTERM
        self.killed = False
        self.tail: deque[str] = deque(maxlen=8)  # last lines that are not MLLOG records
        # A session of its own: a Ctrl-C on the terminal reaches `sciperf run` alone, which
        # posts why before it stops the run (horovodrun would otherwise stop the ranks first).
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace", env=env,
                                     start_new_session=True)
        self.tree: dict[int, psutil.Process] = {}
        self._sample()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- while it runs ---------------------------------------------------------------------

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = _HOROVOD_PREFIX.sub("", line.rstrip("\n"))
            if ":::MLLOG" in line:  # the records are in the log file
                continue
            if line.startswith("sciperf: epoch "):
                self.echo(f"  {self.label}{line[len('sciperf: '):]}")
            elif line.strip():
                self.tail.append(line)

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                self.tree.setdefault(p.pid, p)
        except psutil.Error:
            pass

    def poll(self) -> bool:
        """Sample the tree, apply the timeout and the grace period; True once it has ended."""
        if self.proc.poll() is not None:
            return True
        self._sample()
        now = time.monotonic()
        if self.deadline is not None and now > self.deadline and self.stopping is None:
            minutes = self.timeout_s / 60
            self.stop(f"timeout: the run did not end within {minutes:g} minutes "
                      "(sciperf run --timeout)")
        if self.stopping is not None and now > self.stopping + GRACE_S and not self.killed:
            self.kill()
        return False

    def stop(self, why: str) -> None:
        """Ask the run to stop, saying why (its rank 0 writes it into run_stop)."""
        if self.stopping is not None:
            return
        faults.post(why, "launcher", self.fault_dir)
        self._sample()
        self.stopping = time.monotonic()
        try:
            self.proc.send_signal(signal.SIGTERM)
        except OSError:
            pass
        _signal(self.tree.values(), signal.SIGCONT)

    def kill(self) -> None:
        self._sample()
        self.killed = True
        _signal(self.tree.values(), signal.SIGKILL)

    # -- at the end ------------------------------------------------------------------------

    def finish(self) -> Outcome:
        """Wait for it to end, leave no process of it behind, say how it ended."""
        while not self.poll():
            time.sleep(0.2)
        seconds = time.monotonic() - self.started
        leftovers = [p for p in self.tree.values() if _alive(p)]
        if leftovers:  # helpers that outlived the launcher (e.g. multiprocessing's tracker)
            _, leftovers = psutil.wait_procs(leftovers, timeout=5)
            _signal(leftovers, signal.SIGKILL)
            psutil.wait_procs(leftovers, timeout=5)
        self._reader.join(timeout=10)  # after the leftovers, which may hold the pipe open
        cause = faults.first(self.fault_dir)
        shutil.rmtree(self.fault_dir, ignore_errors=True)
        status, summary = describe(self.result, cause, list(self.tail))
        summary += f" (exit {self.proc.returncode}, {seconds:.1f} s)"
        return Outcome(self.result, self.proc.returncode, status, summary)


def describe(result: Path, cause: str | None, tail: list[str]) -> tuple[str | None, str]:
    """run_stop's status and a line saying how the run ended, from its log (the truth), else
    from the first fault notice, else from the last words of its output."""
    from compliance.parser import parse_file

    if not result.exists():
        return None, f"{result.name}: not written: {cause or _last_words(tail)}"
    records = parse_file(result).records
    stop = next((r for r in reversed(records) if r.key == K.RUN_STOP), None)
    if stop is None:
        return None, (f"{result.name}: no run_stop, so check-compliance rejects it: "
                      f"{cause or _last_words(tail)}")
    status = stop.metadata.get(K.STATUS)
    if status == K.SUCCESS:
        epochs = [r.metadata.get(K.EPOCH_NUM) for r in records if r.key == K.EPOCH_STOP]
        return status, f"{result.name}: success after {max(epochs, default=0)} epochs"
    return status, f"{result.name}: {status}: {stop.metadata.get(K.ABORT_REASON, 'no reason given')}"


def _last_words(tail: list[str]) -> str:
    said = [ln for ln in tail if "sciperf:" in ln or "horovodrun:" in ln or "Error" in ln]
    return (said or tail or ["the run printed nothing"])[-1].strip()


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal(procs, signum: int) -> None:
    for p in list(procs):
        try:
            p.send_signal(signum)  # psutil refuses a pid that now names another process
        except psutil.Error:
            pass
