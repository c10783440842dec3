"""em_denoise: the generator's speed against a direct real-space renderer, and one tiny run.

- Images per second (a noisy/clean pair is one image) of the generator at the tiny (64 px) and
  full (256 px) sizes, one process: the Fourier synthesis the generator uses (the structure
  factor as one complex matrix product, times the column profile's spectrum) against summing
  every atomic column's profile over the canvas (data.render_columns_direct), the obvious way.
  Same images otherwise: same seeds, same lattices, same noise.
- Wall time of one tiny run on 2 ranks under horovodrun (`sciperf run em_denoise --np 2`), from
  the command to its exit, beside its own time to train (run_start .. run_stop) and the epochs
  it took.

    python tools/perf/bench_em_denoise_data.py [--no-run]
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def images_per_second(gen, renderer, count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        rng = gen.rng(1, "train", i)
        clean = gen.clean(rng, renderer=renderer)
        gen.noisy(rng, clean)
    return count / (time.perf_counter() - start)


def generator_speed() -> list[tuple[str, float, float]]:
    from reference_implementations.common.config import load_config
    from reference_implementations.em_denoise import data

    rows = []
    for scale, fast_n, direct_n in (("tiny", 200, 20), ("full", 20, 2)):
        cfg = copy.deepcopy(load_config("em_denoise", scale).data)
        gen = data.Generator(cfg)
        images_per_second(gen, data.render_columns, 2)  # warm-up (BLAS, FFT plans)
        fast = images_per_second(gen, data.render_columns, fast_n)
        direct = images_per_second(gen, data.render_columns_direct, direct_n)
        rows.append((f"{scale} ({gen.size} px)", fast, direct))
    return rows


def tiny_run() -> tuple[float, int, float | None, int | None, str]:
    from reference_implementations.common.generate import generate

    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate("em_denoise", "tiny", tmp / "data")
        start = time.perf_counter()
        rc = subprocess.run([sys.executable, "-m", "sciperf.cli", "run", "em_denoise", "--np",
                             "2", "--scale", "tiny", "--runs", "1", "--seed", "1", "--data-dir",
                             str(tmp / "data"), "--out", str(tmp / "runs")], cwd=ROOT, env=env,
                            capture_output=True).returncode
        wall = time.perf_counter() - start
        log = tmp / "runs" / "result_0.txt"
        recs = [json.loads(line.split(":::MLLOG", 1)[1]) for line in
                (log.read_text().splitlines() if log.exists() else []) if ":::MLLOG" in line]
    times = {r["key"]: r["time_ms"] for r in recs if r["key"] in ("run_start", "run_stop")}
    epochs = [r["metadata"]["epoch_num"] for r in recs if r["key"] == "epoch_stop"]
    status = next((r["metadata"].get("status") for r in recs if r["key"] == "run_stop"), "none")
    ttt = (times["run_stop"] - times["run_start"]) / 1000 if len(times) == 2 else None
    return wall, rc, ttt, (max(epochs) if epochs else None), status


def main(argv: list[str]) -> int:
    print("em_denoise generator, 1 process        images/s (noisy + clean pair)")
    print("                                  Fourier synthesis   direct sum   speed-up")
    for name, fast, direct in generator_speed():
        print(f"  {name:<30} {fast:12.1f} {direct:14.1f} {fast / direct:9.1f}x")
    if "--no-run" in argv:
        return 0
    wall, rc, ttt, epochs, status = tiny_run()
    ttt_text = f"{ttt:.1f} s run_start..run_stop" if ttt is not None else "no run_stop"
    print(f"one tiny run, 2 ranks under horovodrun: {wall:.1f} s wall (exit {rc}); "
          f"{ttt_text}, {epochs} epochs, status {status}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
