"""em_denoise: the generator's speed against a direct real-space renderer, and one tiny run.

- Images per second (a noisy/clean pair is one image) of the generator at the tiny (64 px) and
  full (256 px) sizes, one process: the Fourier synthesis the generator uses (the structure
  factor as one complex matrix product, times the column profile's spectrum) against summing
  every atomic column's profile over the canvas (data.render_columns_direct), the obvious way.
  Same images otherwise: same seeds, same lattices, same noise.
- Wall time of one tiny run on 2 ranks under horovodrun (`sciperf run em_denoise --np 2`), from
  the command to its exit, beside its own time to train (run_start .. run_stop) and the epochs
  it took.

    python -m tools.perf.bench_em_denoise_data [--no-run]
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time
from pathlib import Path


from tools.perf.tiny_run import tiny_run


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


def main(argv: list[str]) -> int:
    print("em_denoise generator, 1 process        images/s (noisy + clean pair)")
    print("                                  Fourier synthesis   direct sum   speed-up")
    for name, fast, direct in generator_speed():
        print(f"  {name:<30} {fast:12.1f} {direct:14.1f} {fast / direct:9.1f}x")
    if "--no-run" in argv:
        return 0
    from reference_implementations.common.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate("em_denoise", "tiny", Path(tmp) / "data")
        run = tiny_run("em_denoise", Path(tmp) / "data", Path(tmp) / "runs")
    psnr = f"{run.metric:.2f} dB" if run.metric is not None else "-"
    print(f"{run.summary()}, PSNR {psnr}")
    return run.rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
