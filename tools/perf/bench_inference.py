"""Inference through MLPerf LoadGen against the same model called directly, per benchmark at
tiny scale on this CPU.

- LoadGen: `sciperf infer`'s two performance runs (--quick settings: at least 2 s, 64
  queries), Offline samples/s and SingleStream p90 latency, as LoadGen's detail log states them.
- Directly, on the same validation samples: `model.predict` over the whole split (batch 32:
  Offline's batch; rotation's 9 views of a galaxy are 9 images of the model's batch, so its
  batches hold 32 x 9 images; dsprites' model is the whole VAE, as the SUT's encoder and
  decoder calls), and the SUT's own compiled call (the tf.function LoadGen's queries run)
  on batches of 32, in samples/s; and the p90 of that call on single samples (what
  SingleStream times, without LoadGen).
- LoadGen's overhead against the SUT call: Offline 1 - LoadGen's rate / the call's (issuing,
  stacking the samples, the response list, the padded last batch); SingleStream LoadGen's p90
  / the call's - 1 (the query's round trip through LoadGen's thread and the Python binding).
  Figures are best-of-3 on a shared 2-core host: compare them at the load average printed.

The model is the benchmark's reference model with its initial weights (the compute per sample
does not depend on the weights' values). Target: LoadGen's Offline rate is at least half of
model.predict's (its overhead must not dominate), and both runs are VALID.

    python -m tools.perf.bench_inference [BENCH ...]
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tools.perf.measure import Targets, load

# every benchmark with a model (shapes3d has data only)
BENCHMARKS = ("em_denoise", "cloudmask", "cosmoflow", "dsprites", "rotation")
MIN_OFFLINE_SHARE = 0.5


def direct(model, model_lib, samples, batch: int) -> tuple[float, float, float]:
    """(model.predict samples/s over the split, the SUT's compiled call on batches of `batch`
    in samples/s, p90 ms of its single-sample calls): best of 3 passes each."""
    from reference_implementations.common.inference import ModelSUT

    xs = np.concatenate([x for x, _ in samples.batches(batch)])
    full = len(xs) // batch * batch
    sut = ModelSUT(model, model_lib, samples, batch)
    # model.predict takes the model's own input: a sample of several images (rotation's views)
    # is that many images of its batch
    images = xs.reshape(-1, *model.input_shape[1:])
    per_sample = len(images) // len(xs)
    model.predict(images[:batch * per_sample], batch_size=batch * per_sample, verbose=0)  # trace
    sut.run(xs[:batch])
    sut.run(xs[:1])
    predict, called = [], []
    for _ in range(3):
        t = time.perf_counter()
        model.predict(images, batch_size=batch * per_sample, verbose=0)
        predict.append(len(xs) / (time.perf_counter() - t))
        t = time.perf_counter()
        for i in range(0, full, batch):
            sut.run(xs[i:i + batch])
        called.append(full / (time.perf_counter() - t))
    times = []
    for i in range(max(64, min(len(xs), 256))):
        t = time.perf_counter()
        sut.run(xs[i % len(xs)][None])
        times.append(time.perf_counter() - t)
    return max(predict), max(called), float(np.percentile(times, 90)) * 1e3


def bench(benchmark: str, tmp: Path, targets: Targets) -> str:
    from reference_implementations.common import inference, trained
    from reference_implementations.common.config import load_config
    from reference_implementations.common.generate import generate
    from sciperf import vocab as K

    data_dir = tmp / benchmark
    generate(benchmark, "tiny", data_dir, None, 1, ())
    cfg = load_config(benchmark, "tiny", overrides=[f"run.data_dir={data_dir}"])
    model_lib = importlib.import_module(f"reference_implementations.{benchmark}.model")
    trained.save(model_lib.build(cfg), cfg, tmp / f"{benchmark}_model")
    quiet = lambda text: None  # noqa: E731
    got = {}
    for scenario in ("offline", "singlestream"):
        outcome = inference.infer(tmp / f"{benchmark}_model", scenario,
                                  tmp / "out" / benchmark / scenario, quick=True, say=quiet)
        got[scenario] = outcome.detail
    cfg2, model, lib = trained.load(tmp / f"{benchmark}_model")
    samples = inference.ValidationSamples(cfg2, importlib.import_module(
        f"reference_implementations.{benchmark}.data"), data_dir)
    predict, rate, p90_direct = direct(model, lib, samples, inference.DEFAULT_BATCH)
    sps = got["offline"].get(K.RESULT_SAMPLES_PER_SECOND) or 0.0
    p90 = (got["singlestream"].get(K.RESULT_P90_LATENCY_NS) or 0.0) / 1e6
    valid = all(d.get(K.RESULT_VALIDITY) == "VALID" for d in got.values())
    line = (f"  {benchmark:<11} {sps:9.1f} {predict:9.1f} {rate:9.1f} {1 - sps / rate:9.0%}"
            f" {p90:9.2f} {p90_direct:9.2f} {p90 / p90_direct - 1:9.0%}")
    return targets.check(f"{benchmark} offline share",
                         valid and sps >= MIN_OFFLINE_SHARE * predict,
                         line + f"   (VALID: {valid}; target LoadGen >= "
                                f"{MIN_OFFLINE_SHARE:.0%} of model.predict)")


def main(argv: list[str]) -> int:
    chosen = [b for b in argv if b in BENCHMARKS] or list(BENCHMARKS)
    targets = Targets()
    print(f"inference at tiny scale, --quick LoadGen settings; load average {load()}")
    print("              Offline samples/s                     SingleStream p90 ms")
    print("  benchmark     LoadGen   predict  SUT call  overhead   LoadGen  SUT call  overhead")
    with tempfile.TemporaryDirectory() as tmp:
        for b in chosen:
            print(bench(b, Path(tmp), targets), flush=True)
    print(f"load average after: {load()}")
    return targets.status()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
