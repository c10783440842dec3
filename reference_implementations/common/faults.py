"""What went wrong in a run, told to rank 0 by whoever saw it, and a signal watch that lets a rank
stop even while it is blocked inside TensorFlow or Horovod.

A rank that dies cannot say why; only its parent sees how it ended (horovodrun's driver, or
`sciperf run`), and a timeout or an interrupt is decided by the launcher. They post one-line
*notices* into the run's fault folder (environment variable SCIPERF_FAULT_DIR, one folder per run,
made by `sciperf run`); when rank 0's run fails it takes the earliest notice as its reason, so
run_stop names the first cause ("rank 1 was killed by SIGKILL", "timeout: ...") rather than its
consequences (Horovod shutting down, the SIGTERM horovodrun then sends). Without the folder (a
rank started by hand, or on a host that does not share it) rank 0 falls back to what it saw
itself. docs/faults.md lists the faults and what each leaves.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

FAULT_DIR_ENV = "SCIPERF_FAULT_DIR"


def post(text: str, source: str, folder: str | Path | None = None) -> None:
    """Add a notice (best effort: a rank on a host without the folder just cannot post)."""
    folder = folder or os.environ.get(FAULT_DIR_ENV)
    if not folder:
        return
    # Names sort by the time they were posted: the first cause comes first.
    name = f"{time.time_ns():020d}-{source}.txt"
    try:
        tmp = Path(folder) / f".{name}"
        tmp.write_text(text.strip() + "\n")
        os.replace(tmp, Path(folder) / name)  # readers never see half a notice
    except OSError:
        pass


def first(folder: str | Path | None = None) -> str | None:
    """The earliest notice, or None."""
    folder = folder or os.environ.get(FAULT_DIR_ENV)
    if not folder:
        return None
    try:
        names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
        return (Path(folder) / names[0]).read_text().strip() if names else None
    except OSError:
        return None


def wait_first(seconds: float) -> str | None:
    """The earliest notice, waiting up to `seconds` for one to come (None without a folder)."""
    if not os.environ.get(FAULT_DIR_ENV):
        return None
    deadline = time.monotonic() + seconds
    while (notice := first()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return notice


def describe_exit(code: int) -> str:
    """How a process ended, from its exit status: Popen's -N for a signal, or a shell's 128+N
    (horovodrun starts each rank under `sh -c`, and ssh passes the remote status on)."""
    signum = -code if code < 0 else code - 128 if 128 < code < 128 + signal.NSIG else 0
    if signum:
        try:
            return f"was killed by {signal.Signals(signum).name}"
        except ValueError:
            return f"was killed by signal {signum}"
    return f"exited with code {code}"


class SignalWatch:
    """Calls `on_signal(signum)` from a thread of its own as soon as SIGTERM, SIGINT or SIGHUP
    arrives. Python runs signal handlers in the main thread between bytecodes, so a handler
    waits as long as the main thread is blocked in a TensorFlow or Horovod op (a peer that
    hangs blocks the allreduce for good); the C-level handler writes the signal number to a
    wakeup fd at once, and this thread reads it. Install it from the main thread."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(self, on_signal):
        self.on_signal = on_signal
        self._r, w = os.pipe()
        os.set_blocking(w, False)
        for s in self.SIGNALS:
            signal.signal(s, lambda *_: None)  # the watch thread does the work
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="sciperf-signals", daemon=True).start()

    def _watch(self) -> None:
        while True:
            for signum in os.read(self._r, 64):
                if signum in self.SIGNALS:
                    self.on_signal(signum)
