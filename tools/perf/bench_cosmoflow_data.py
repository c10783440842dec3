"""cosmoflow: samples per second of the data generator at the tiny (32^3) and small (64^3)
scales, one process, beside the baseline of writing the same files at zlib's default gzip
level (6) instead of the generator's level 1, and the reader's rate on the files written.

- physics: the numpy part alone (Gaussian field, log-normal, four redshifts, Poisson);
- generate: physics + serialising + writing gzip TFRecords (what `sciperf data generate` does);
- level 6: the same with TF's default gzip level;
- read: make_dataset (gunzip, parse, log1p) over the files just written, as training reads them
  (files of the scale's samples_per_file), second pass (the first builds the pipeline).

    python -m tools.perf.bench_cosmoflow_data
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


COUNTS = {"tiny": 256, "small": 32}  # samples per measurement: under a minute on one core


def rate(count: int, fn) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def measure(scale: str, count: int, tmp: Path) -> dict[str, float]:
    from reference_implementations.common.config import load_config
    from reference_implementations.cosmoflow import data

    cfg = {**load_config("cosmoflow", scale).data, "n_train": count, "n_valid": 0}
    data.generate_sample(np.random.default_rng(0), cfg)  # warm-up: FFT plans, grids

    def physics():
        rng = np.random.default_rng(1)
        for _ in range(count):
            data.generate_sample(rng, cfg)

    def write_level_6():
        for _split, index, n in data.file_plan(cfg):
            rng = np.random.default_rng([1, 0, index])
            data.write_tfrecord(tmp / scale / "level6" / f"{index}.tfrecord.gz",
                                [data.serialize_example(*data.generate_sample(rng, cfg))
                                 for _ in range(n)], level=6)

    def read():
        for _ in data.make_dataset(files, cfg, batch_size=8, training=False, shuffle_seed=None):
            pass

    out = {"physics": rate(count, physics),
           "generate": rate(count, lambda: data.generate(tmp / scale / "gen", cfg, seed=1)),
           "level 6": rate(count, write_level_6)}
    files = sorted((tmp / scale / "gen" / "train").glob("*.tfrecord.gz"))
    read()  # warm-up: the first pass builds and traces the pipeline
    out["read"] = rate(count, read)
    mb = sum(f.stat().st_size for f in files) / count / 2**20
    return {**out, "MiB/sample": mb, "D": cfg["sample_size"]}


def main() -> int:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    print("cosmoflow generator, 1 process                samples/s")
    print(f"  {'scale':<14} {'physics':>9} {'generate':>9} {'level 6':>9} {'speed-up':>9} "
          f"{'read':>9} {'MiB/sample':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for scale, count in COUNTS.items():
            r = measure(scale, count, Path(tmp))
            print(f"  {scale + ' (' + str(r['D']) + '^3)':<14} {r['physics']:9.1f} "
                  f"{r['generate']:9.1f} {r['level 6']:9.1f} "
                  f"{r['generate'] / r['level 6']:8.1f}x {r['read']:9.1f} {r['MiB/sample']:11.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
