"""rotation: the generator's galaxies per second, the invariant model's throughput beside the
plain CNN's (the price of invariance), and one tiny run.

- Galaxies per second of the generator at the tiny (32 px) and full (256 px) sizes, one
  process, a training galaxy (one view) and a validation galaxy (its three views); and the
  part it sped up: star-forming knots and tidal tails summed as separable Gaussians, one matrix
  product (galaxies.Frame.gaussians, what the generator uses), beside summing each Gaussian over
  the whole grid (gaussians_direct, the obvious way), on the same galaxies; the two must agree.
- Training and inference images per second of the group-equivariant CNN (method gcnn) and the
  plain CNN of about its parameter count (method cnn) at tiny scale, one process, one thread,
  the training batch size (inference: batches of 64 galaxies' 9 views): what invariance by
  construction costs in arithmetic.
- Wall time of one tiny run on 2 ranks under horovodrun (`sciperf run rotation --np 2`), from
  the command to its exit, beside its own time to train and the epochs it took, with the load
  average: its budget is about 45 s on an idle machine (`make demo` runs it three times).

Exits non-zero when the separable sum disagrees with the direct one or is not faster, when the
tiny run does not reach its target, or when it takes more than its budget on an idle machine.

    python -m tools.perf.bench_rotation [--no-run]
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tools.perf.measure import Targets, load
from tools.perf.tiny_run import tiny_run

TINY_RUN_BUDGET_S = 45.0
IDLE_LOAD = 0.5  # load average (1 min) under which the machine counts as idle


def galaxies_per_second(cfg: dict, split: str, count: int) -> float:
    """What `sciperf data generate` does per galaxy: draw, render its views, observe."""
    from reference_implementations.rotation import data, galaxies

    obs = galaxies.Observing.from_cfg(cfg["observing"])
    data.galaxy(1, split, 0, cfg, obs)  # warm-up
    start = time.perf_counter()
    for i in range(count):
        data.galaxy(1, split, i, cfg, obs)
    return count / (time.perf_counter() - start)


def gaussian_sums(cfg: dict, count: int) -> tuple[float, float, bool]:
    """Seconds per galaxy of the knots and tails (spirals' and mergers' point-like and
    streaming light) summed separably and directly, and whether the two agree."""
    from reference_implementations.rotation import galaxies

    obs = galaxies.Observing.from_cfg(cfg["observing"])
    size = int(cfg["image_size"])
    parts = []
    for i in range(count):
        label = (3, 4, 5, 6)[i % 4]
        g = galaxies.draw_galaxy(np.random.default_rng([1, i]), label, obs)
        frame = galaxies.Frame.of(size, obs.oversample, 33.0, g.centre)
        parts += [(frame, c) for c in g.components if c.kind in ("knots", "tail")]
    seconds, images = [], []
    for separable in (True, False):
        start = time.perf_counter()
        images.append([galaxies.component_image(c, f, separable) for f, c in parts])
        seconds.append((time.perf_counter() - start) / count)
    agree = all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(*images))
    return seconds[0], seconds[1], agree


def generator_speed() -> tuple[list, list]:
    from reference_implementations.common.config import load_config

    rates, sums = [], []
    for scale, count in (("tiny", 200), ("full", 12)):
        cfg = copy.deepcopy(load_config("rotation", scale).data)
        name = f"{scale} ({cfg['image_size']} px)"
        rates.append((name, galaxies_per_second(cfg, "train", count),
                      galaxies_per_second(cfg, "validation", count // 2)))
        sums.append((name, *gaussian_sums(cfg, count)))
    return rates, sums


def model_throughput() -> dict[str, tuple[int, float, float]]:
    """method -> (parameters, training images/s, inference images/s), one thread."""
    import tensorflow as tf

    from reference_implementations.common.config import load_config
    from reference_implementations.rotation import data, model

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    out = {}
    for method in model.METHODS:
        cfg = load_config("rotation", "tiny", overrides=[f"model.method={method}"])
        tf.keras.utils.set_random_seed(0)
        net = model.build(cfg)
        batch, size = cfg.train["batch_size"], cfg.data["image_size"]
        opt = tf.keras.optimizers.legacy.Adam(1e-3)
        loss = model.loss(cfg)
        x = tf.random.uniform((batch, size, size, 3))
        y = tf.zeros((batch,), tf.int32)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                value = loss(y, net(x, training=True))
            grads = tape.gradient(value, net.trainable_variables)
            opt.apply_gradients(zip(grads, net.trainable_variables))

        views = tf.random.uniform((64, data.VIEWS, size, size, 3))
        infer = tf.function(lambda v: model.predict(net, v))
        for _ in range(5):
            step()
        infer(views)
        steps = 60
        start = time.perf_counter()
        for _ in range(steps):
            step()
        train = steps * batch / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(3):
            infer(views).numpy()
        inference = 3 * 64 * data.VIEWS / (time.perf_counter() - start)
        out[method] = (net.count_params(), train, inference)
    return out


def main(argv: list[str]) -> int:
    targets = Targets()
    rates, sums = generator_speed()
    print("rotation generator, 1 process, galaxies/s      training (1 view)  validation (3 views)")
    for name, train, validation in rates:
        print(f"  {name:<36} {train:14.1f} {validation:21.1f}")
    print("knots and tails, ms per galaxy        separable Gaussians   direct sum   speed-up")
    for name, fast, direct, agree in sums:
        print(f"  {name:<36} {1e3 * fast:14.2f} {1e3 * direct:14.2f} {direct / fast:9.1f}x")
        print("    " + targets.check(f"separable sum, {name}", agree and fast < direct,
                                     "separable sum agrees with the direct one and is faster"))
    t = model_throughput()
    (_, tg, ig), (_, tc, ic) = t["gcnn"], t["cnn"]
    print("rotation models at tiny scale, 1 process, 1 thread        images/s")
    print(f"  {'method':<34} {'params':>7} {'training':>9} {'inference':>10}")
    for method, (p, tr, inf) in t.items():
        print(f"  {method:<34} {p:7d} {tr:9.0f} {inf:10.0f}")
    print(f"  price of invariance: the group CNN takes {tc / tg:.1f}x the plain CNN's time per "
          f"training image, {ic / ig:.1f}x per inference (load average {load()})")
    if "--no-run" not in argv:
        from reference_implementations.common.generate import generate

        with tempfile.TemporaryDirectory() as tmp:
            generate("rotation", "tiny", Path(tmp) / "data", workers=2)
            start_load = os.getloadavg()[0]
            run = tiny_run("rotation", Path(tmp) / "data", Path(tmp) / "runs")
        acc = f"{run.metric:.3f}" if run.metric is not None else "-"
        print(f"{run.summary()}, accuracy {acc}; load average {start_load:.2f} at the start, "
              f"{load()} at the end")
        print("  " + targets.check("tiny run reaches the target",
                                   run.rc == 0 and run.status == "success",
                                   "reaches its target and exits 0"))
        idle = start_load < IDLE_LOAD
        print("  " + targets.check(
            "tiny run budget", not idle or run.wall <= TINY_RUN_BUDGET_S,
            f"at most {TINY_RUN_BUDGET_S:.0f} s on an idle machine (load < {IDLE_LOAD})"
            + ("" if idle else "; not judged: the machine is not idle")))
    return targets.status()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
