"""The baselines a disentanglement benchmark's model has to beat (rules.md, section 7), measured
on a dataset's validation split:

1. PCA of the pixels to 10 components, fitted on the training images: a linear code of the
   same size as the VAE's, which needs no model.
2. An untrained encoder: the posterior means of the reference VAE at its initial weights (seed
   0 and 1), what the architecture gives before it learns anything.

For each: the quality metric and the other information metrics (MIG, JEMMIG, DCIMIG), the
reconstruction error (PCA's reconstruction clipped to [0, 1]; for the encoder, its untrained
decoder's; and, for reference, the training set's mean image), and with `--panel` the whole
panel (about a minute each on 5,000 samples).

    python -m reference_implementations.disentangle.baselines dsprites --scale tiny --data-dir D
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import numpy as np

from ..common.config import ConfigError, load_config
from ..common.data import DataError
from . import metrics


def _split(data, cfg, files) -> tuple[np.ndarray, np.ndarray]:
    """(images as float32 in [0, 1], N x pixels; factors) of one split."""
    images, factors = data.reader(files, cfg.data).arrays()
    return images.reshape(len(images), -1).astype(np.float32) / (
        255.0 if images.max() > 1 else 1.0), factors


def measure(benchmark: str, scale: str, data_dir: Path, panel: bool = False) -> dict:
    from sklearn.decomposition import PCA

    cfg = load_config(benchmark, scale, overrides=[f"run.data_dir={data_dir}"])
    data = importlib.import_module(f"reference_implementations.{benchmark}.data")
    splits = data.list_splits(Path(data_dir), cfg.data)
    x_train, _ = _split(data, cfg, splits["train"])
    x_val, factors = _split(data, cfg, splits["validation"])
    out = {"mean image": {"reconstruction_error": float(np.mean(
        (x_val - x_train.mean(axis=0)) ** 2))}}

    pca = PCA(int(cfg.model["latent_dim"]), random_state=0).fit(x_train)
    codes = pca.transform(x_val)
    rebuilt = np.clip(pca.inverse_transform(codes), 0.0, 1.0)
    out["PCA of the pixels"] = _scores(factors, codes, float(np.mean((rebuilt - x_val) ** 2)),
                                       panel)
    import tensorflow as tf

    from . import vae

    shape = (-1, 64, 64, int(cfg.model["channels"]))
    for seed in (0, 1):
        tf.keras.utils.set_random_seed(seed)
        model = vae.build(cfg)
        codes, errors = [], []
        for start in range(0, len(x_val), 500):
            o = vae.predict(model, tf.constant(x_val[start:start + 500].reshape(shape)))
            codes.append(o["codes"].numpy())
            errors.append(o["squared_error"].numpy())
        out[f"untrained encoder (seed {seed})"] = _scores(
            factors, np.concatenate(codes), float(np.mean(np.concatenate(errors))), panel)
    return out


def _scores(factors, codes, reconstruction: float, panel: bool) -> dict:
    scores = dict(metrics.information_metrics(factors, codes))
    if panel:
        scores.update({k: v for k, v in metrics.panel(factors, codes).values.items()})
    return {**scores, "reconstruction_error": reconstruction}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m reference_implementations.disentangle.baselines",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("benchmark", choices=("dsprites", "shapes3d"))
    p.add_argument("--scale", default="tiny")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--panel", action="store_true", help="also score the whole panel (slow)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    a = p.parse_args(argv)
    try:
        out = measure(a.benchmark, a.scale, a.data_dir, a.panel)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.format == "json":
        print(json.dumps(out, indent=2))
        return 0
    for name, scores in out.items():
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" if v is not None else f"{k} -"
                                     for k, v in scores.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
