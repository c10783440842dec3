"""One tiny run on 2 ranks under horovodrun, started as a user starts it (`sciperf run`): the
figure each benchmark's bench script prints beside its own."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools.perf.measure import ROOT, bench_env


@dataclass
class TinyRun:
    wall: float  # seconds, from the command to its exit
    rc: int
    ttt: float | None  # run_start .. run_stop, seconds
    epochs: int | None
    metric: float | None  # the quality metric's last value
    status: str  # run_stop's status, "none" without one

    def summary(self) -> str:
        ttt = f"time to train {self.ttt:.1f} s" if self.ttt is not None else "no run_stop"
        return (f"one tiny run, 2 ranks under horovodrun: {self.wall:.1f} s wall (exit "
                f"{self.rc}), {ttt}, {self.epochs} epochs, status {self.status}")


def tiny_run(bench: str, data_dir: Path, out: Path, seed: int = 1) -> TinyRun:
    from compliance.parser import parse_file
    from sciperf import vocab as K

    start = time.perf_counter()
    rc = subprocess.run([sys.executable, "-m", "sciperf.cli", "run", bench, "--np", "2",
                         "--scale", "tiny", "--runs", "1", "--seed", str(seed), "--data-dir",
                         str(data_dir), "--out", str(out)], cwd=ROOT, env=bench_env(),
                        capture_output=True).returncode
    wall = time.perf_counter() - start
    log = Path(out) / "result_0.txt"
    recs = parse_file(log).records if log.exists() else []
    times = {r.key: r.time_ms for r in recs if r.key in (K.RUN_START, K.RUN_STOP)}
    epochs = [r.metadata.get(K.EPOCH_NUM) for r in recs if r.key == K.EPOCH_STOP]
    metrics = [r.value for r in recs if r.key == K.BENCHMARKS[bench].metric_key]
    status = next((r.metadata.get(K.STATUS) for r in recs if r.key == K.RUN_STOP), "none")
    return TinyRun(wall, rc,
                   (times[K.RUN_STOP] - times[K.RUN_START]) / 1000 if len(times) == 2 else None,
                   max(epochs) if epochs else None, metrics[-1] if metrics else None, status)
