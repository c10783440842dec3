"""Progress of long work on a terminal: one line per file, and on a terminal a line that
updates in place while the file is written (generation of the larger datasets)."""

from __future__ import annotations

import sys
import time


class Progress:
    """`update(done)` as work advances; `close()` prints the final line. Lines go to stderr so
    a command's stdout stays its result."""

    def __init__(self, label: str, total: int, unit: str = "images", every: float = 1.0):
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self.start = self.last = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if self.tty and now - self.last >= self.every:
            self.last = now
            print(f"\r{self._line(done, now)}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        print(("\r" if self.tty else "") + self._line(self.total, time.perf_counter()),
              file=sys.stderr, flush=True)

    def _line(self, done: int, now: float) -> str:
        pct = 100.0 * done / self.total if self.total else 100.0
        return (f"{self.label}: {done:,}/{self.total:,} {self.unit} ({pct:3.0f} %), "
                f"{now - self.start:.1f} s")
