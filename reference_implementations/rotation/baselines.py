"""The baselines the rotation blueprint is about, measured on a dataset: what does invariance by
construction buy over a plain CNN?

    python -m reference_implementations.rotation.baselines --scale tiny [--data-dir DIR]
        [--epochs N] [--seed S]

Three methods, each trained in this one process for the same number of epochs on the upright
training split (the benchmark's reader, optimizer settings and evaluation: model.eval_sums on
the validation split's views), every epoch scored on the rotated validation split:
  - the group-equivariant CNN (model.method gcnn; the closed division's reference);
  - a plain CNN of about the same number of parameters (model.method cnn), trained upright;
  - the same plain CNN trained on copies turned by the 8 multiples of 45 degrees
    (data.augmentation rotations8: every image turned by a random one on every pass), the
    route that needs no new model but 8 times the distinct training images.
For each: its best accuracy on the rotated set (and at that epoch, on the galaxies upright, and
its rotation consistency), then the epochs, training images and seconds it took to reach the
scale's target (training time only; evaluation excluded), and its training throughput.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..common.config import ConfigError, load_config
from ..common.data import DataError

METHODS = {
    "group CNN (gcnn), upright": ("model.method=gcnn", "data.augmentation=none"),
    "plain CNN, upright": ("model.method=cnn", "data.augmentation=none"),
    "plain CNN, 8 rotations": ("model.method=cnn", "data.augmentation=rotations8"),
}
EVAL_BATCH = 64


@dataclass
class Result:
    method: str
    params: int
    target: float
    train_images: int  # per epoch
    epochs: list[dict] = field(default_factory=list)  # accuracy, panel, seconds (training)

    @property
    def best(self) -> dict:
        return max(self.epochs, key=lambda e: e["accuracy"])

    @property
    def to_target(self) -> dict | None:
        """epochs, images and training seconds to the first epoch at or above the target."""
        seconds = 0.0
        for i, e in enumerate(self.epochs, 1):
            seconds += e["seconds"]
            if e["accuracy"] >= self.target:
                return {"epochs": i, "images": i * self.train_images, "seconds": seconds}
        return None

    @property
    def images_per_second(self) -> float:
        return self.train_images * len(self.epochs) / sum(e["seconds"] for e in self.epochs)


def train_method(name: str, scale: str, data_dir: Path, epochs: int, seed: int,
                 overrides=()) -> Result:
    import tensorflow as tf

    from . import data as D
    from . import model as M

    cfg = load_config("rotation", scale, overrides=[*METHODS[name], *overrides])
    t = cfg.train
    splits = D.list_splits(data_dir, cfg.data)
    tf.keras.utils.set_random_seed(seed)
    train = D.make_dataset(splits["train"], cfg.data, batch_size=t["batch_size"],
                           training=True, shuffle_seed=seed)
    validation = D.make_dataset(splits["validation"], cfg.data, batch_size=EVAL_BATCH,
                                training=False, shuffle_seed=None)
    net = M.build(cfg)
    net.compile(optimizer=tf.keras.optimizers.legacy.Adam(t["base_lr"]), loss=M.loss(cfg))
    predict = tf.function(lambda x: M.predict(net, x))
    n_train = sum(D.check_file(f, cfg.data) for f in splits["train"])
    result = Result(name, net.count_params(), float(t["target"]),
                    n_train // t["batch_size"] * t["batch_size"])
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.fit(train, epochs=1, verbose=0)
        seconds = time.perf_counter() - start
        sums: dict[str, float] = {}
        for x, y in validation:
            for k, v in M.eval_sums(y.numpy(), predict(x).numpy()).items():
                sums[k] = sums.get(k, 0.0) + v
        accuracy, panel = M.eval_finalize(sums)
        result.epochs.append({"accuracy": accuracy, "panel": panel, "seconds": seconds})
        print(f"  {name}: epoch {epoch}: accuracy {accuracy:.3f} (upright "
              f"{panel[M.UPRIGHT_KEY]:.3f}, consistency {panel[M.CONSISTENCY_KEY]:.3f}), "
              f"{seconds:.1f} s", file=sys.stderr, flush=True)
    return result


def measure(scale: str, data_dir: Path, epochs: int, seed: int, methods=tuple(METHODS),
            overrides=()) -> list[Result]:
    return [train_method(m, scale, data_dir, epochs, seed, overrides) for m in methods]


def report(results: list[Result], scale: str, data_dir: Path, epochs: int) -> str:
    from . import model as M

    lines = [f"rotation {scale}, {data_dir}: {epochs} epochs each on the upright training split, "
             f"one process; target {results[0].target:g} (top-1 accuracy, rotated validation)",
             f"  {'method':<27} {'params':>6} {'best':>6} {'epoch':>5} {'upright':>7} "
             f"{'consist.':>8} {'to target: epochs':>17} {'images':>7} {'seconds':>7} "
             f"{'images/s':>8}"]
    for r in results:
        b, reached = r.best, r.to_target
        at = r.epochs.index(b) + 1
        reach = (f"{reached['epochs']:17d} {reached['images']:7d} {reached['seconds']:7.1f}"
                 if reached else f"{'not reached':>17} {'-':>7} {'-':>7}")
        lines.append(f"  {r.method:<27} {r.params:6d} {b['accuracy']:6.3f} {at:5d} "
                     f"{b['panel'][M.UPRIGHT_KEY]:7.3f} {b['panel'][M.CONSISTENCY_KEY]:8.3f} "
                     f"{reach} {r.images_per_second:8.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m reference_implementations.rotation.baselines",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", default="tiny", help="tiny | small | full (default tiny)")
    p.add_argument("--data-dir", type=Path, help="dataset folder (default data/rotation/SCALE)")
    p.add_argument("--epochs", type=int, default=12, help="epochs per method (default 12)")
    p.add_argument("--seed", type=int, default=1, help="training seed (default 1)")
    a = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        data_dir = a.data_dir or load_config("rotation", a.scale).data_dir
        results = measure(a.scale, data_dir, a.epochs, a.seed)
    except (ConfigError, DataError) as e:
        print(f"baselines: error: {e}", file=sys.stderr)
        return 2
    print(report(results, a.scale, data_dir, a.epochs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
