"""cloudmask: the generator's scenes per second, the reader's, and one tiny run against the
per-pixel baselines, in one run.

- Scenes per second of the generator at the tiny (128 x 128), small (256 x 320) and full
  (1200 x 1500) scene sizes, one process: the physics alone (synthesize_scene), and physics +
  writing the HDF5 file as `sciperf data generate` does, beside the baseline of writing the
  same arrays gzip-compressed (level 4, h5py's usual choice); then the reader's scenes per
  second over the files just written (check, scale, cut into patches).
- One tiny run on 2 ranks under horovodrun (`sciperf run cloudmask --np 2`): wall time from the
  command to its exit, its time to train (run_start .. run_stop), the epochs it took and the
  pixel accuracy it reached, beside the per-pixel baselines on the same data (the best
  single-channel threshold and the logistic regression: their fit + score time and accuracy).

    python -m tools.perf.bench_cloudmask_data [--no-run]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np


from tools.perf.tiny_run import tiny_run

COUNTS = {"tiny": 40, "small": 6, "full": 2}  # scenes per measurement: ~40 s in all, one core


def per_second(count: int, fn) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def generator_speed(scale: str, count: int, tmp: Path) -> dict:
    import h5py

    from reference_implementations.cloudmask import data
    from reference_implementations.common.config import load_config

    cfg = {**load_config("cloudmask", scale).data, "train_scenes": count,
           "validation_scenes": 0}
    h, w = data.scene_shape(cfg)
    data.synthesize_scene(np.random.default_rng(0), h, w)  # warm-up (FFT plans, allocations)

    def physics():
        for i in range(count):
            data.synthesize_scene(np.random.default_rng([1, i]), h, w)

    def gzip_files():
        out = tmp / scale / "gzip"
        out.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            s = data.synthesize_scene(np.random.default_rng([1, i]), h, w)
            with h5py.File(out / data.file_name(i), "w") as f:
                for key, arr in ((data.REFS, s.refs), (data.BTS, s.bts),
                                 (data.MASK, s.cloud.astype(np.uint8)[..., None])):
                    f.create_dataset(key, data=arr, compression="gzip", compression_opts=4,
                                     chunks=True)

    r = {"physics": per_second(count, physics),
         "generate": per_second(count, lambda: data.generate(tmp / scale / "gen", cfg, 1)),
         "gzip": per_second(count, gzip_files)}
    files = sorted((tmp / scale / "gen" / "train").glob("*.hdf"))
    r["read"] = per_second(count, lambda: [data.load_patches(f, int(cfg["patch_size"]), (h, w))
                                           for f in files])
    r["MiB"] = sum(f.stat().st_size for f in files) / count / 2**20
    r["MiB gzip"] = sum(f.stat().st_size for f in (tmp / scale / "gzip").glob("*.hdf")) \
        / count / 2**20
    r["size"] = f"{h} x {w}"
    return r


def tiny_run_and_baselines(tmp: Path) -> tuple:
    from reference_implementations.cloudmask import baselines
    from reference_implementations.common.config import load_config
    from reference_implementations.common.generate import generate

    generate("cloudmask", "tiny", tmp / "data")
    run = tiny_run("cloudmask", tmp / "data", tmp / "runs")
    start = time.perf_counter()
    base = baselines.measure(tmp / "data", load_config("cloudmask", "tiny").data)
    return run, time.perf_counter() - start, base


def main(argv: list[str]) -> int:
    print("cloudmask generator, 1 process                         scenes/s")
    print(f"  {'scale':<20} {'physics':>8} {'generate':>9} {'gzip-4':>8} {'speed-up':>9} "
          f"{'read':>8} {'MiB/scene':>10} {'gzip MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for scale, count in COUNTS.items():
            r = generator_speed(scale, count, Path(tmp))
            print(f"  {scale + ' (' + r['size'] + ')':<20} {r['physics']:8.2f} "
                  f"{r['generate']:9.2f} {r['gzip']:8.2f} {r['generate'] / r['gzip']:8.2f}x "
                  f"{r['read']:8.2f} {r['MiB']:10.2f} {r['MiB gzip']:9.2f}", flush=True)
    if "--no-run" in argv:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        run, seconds, base = tiny_run_and_baselines(Path(tmp))
    acc = f"{run.metric:.4f}" if run.metric is not None else "-"
    print(f"{run.summary()}, pixel accuracy {acc}")
    print(f"per-pixel baselines on the same data: {seconds:.1f} s to fit and score; threshold "
          f"{base['threshold']['validation_accuracy']:.4f}, logistic regression "
          f"{base['logistic']['validation_accuracy']:.4f}")
    return run.rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
