"""The per-pixel baselines a CloudMask model has to beat, measured on a dataset.

1. The best single-channel threshold: for each of the nine channels and both directions
   ("cloud if brighter/warmer than t" and "... darker/colder"), the threshold with the highest
   training pixel accuracy; the rule that wins on the training set is scored on validation.
2. A per-pixel logistic regression on the nine channels, fitted on the training pixels (scipy's
   L-BFGS on the mean log-loss), scored on validation.
3. For reference, not a rule: a per-pixel multilayer perceptron on the nine channels (two
   hidden layers of 64, Adam, 4 epochs): the best a classifier that sees one pixel at a time
   does here, so the U-Net's margin over it is what spatial context adds.

Both are fitted on the training scenes and scored on the validation scenes over exactly the
pixels the U-Net is scored on (the centre crop cut into patches), on the model's own input
(a fixed per-channel affine map of the stored reflectances and kelvins, so both baselines are
exactly as good as on the physical values; thresholds are reported in physical units). The
target must lie clearly above the better of them.

    python -m reference_implementations.cloudmask.baselines --data-dir data/cloudmask/tiny
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.data import DataError
from . import data as D

CHANNEL_NAMES = ("S1 0.555um", "S2 0.659um", "S3 0.865um", "S4 1.375um", "S5 1.61um",
                 "S6 2.25um", "S7 3.74um", "S8 10.85um", "S9 12.0um")


def scene_pixels(path, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, 9) model inputs and (pixels,) labels of the patched region of one scene."""
    x, y = D.load_patches(path, int(cfg["patch_size"]), D.scene_shape(cfg))
    return x.reshape(-1, D.N_CHANNELS).astype(np.float64), y.reshape(-1) > 0.5


def training_pixels(files, cfg, max_pixels: int, rng) -> tuple[np.ndarray, np.ndarray]:
    per_file = max(1, max_pixels // max(1, len(files)))
    xs, ys = [], []
    for f in files:
        x, y = scene_pixels(f, cfg)
        if len(y) > per_file:
            keep = rng.choice(len(y), per_file, replace=False)
            x, y = x[keep], y[keep]
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


@dataclass
class ThresholdRule:
    channel: int
    cloud_above: bool  # cloud where value > threshold (else where value <= threshold)
    threshold: float
    train_accuracy: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        above = x[:, self.channel] > self.threshold
        return above if self.cloud_above else ~above


def fit_threshold(x: np.ndarray, y: np.ndarray) -> ThresholdRule:
    """Exhaustive search: every cut between distinct sorted values of every channel."""
    n, n_cloud = len(y), int(y.sum())
    best = None
    for c in range(x.shape[1]):
        order = np.argsort(x[:, c], kind="stable")
        v, yc = x[order, c], y[order]
        # Cut after position i: values <= v[i] predicted clear, the rest cloud.
        clear_below = np.cumsum(~yc)
        cloud_below = np.arange(1, n + 1) - clear_below
        acc_above = (clear_below + (n_cloud - cloud_below)) / n
        valid = np.append(v[1:] > v[:-1], True)  # cut only where the value changes
        acc_above = np.where(valid, acc_above, -1.0)
        everything = n_cloud / n  # the cut below the smallest value: all cloud
        for cloud_above, acc in ((True, acc_above), (False, np.where(valid, 1 - acc_above, -1))):
            i = int(np.argmax(acc))
            cand = [(acc[i], float(v[i]) if i < n - 1 else float(v[-1]))]
            cand.append((everything if cloud_above else 1 - everything, float(v[0]) - 1.0))
            score, thr = max(cand)
            if best is None or score > best.train_accuracy:
                best = ThresholdRule(c, cloud_above, thr, float(score))
    return best


@dataclass
class LogisticModel:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # 9 + bias
    train_accuracy: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights[:-1] + self.weights[-1]
        return z > 0


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-6) -> LogisticModel:
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    mean, scale = x.mean(0), x.std(0) + 1e-9
    xs = (x - mean) / scale
    t = y.astype(np.float64)

    def loss(w):
        z = xs @ w[:-1] + w[-1]
        value = -np.mean(t * log_expit(z) + (1 - t) * log_expit(-z)) + l2 * w[:-1] @ w[:-1]
        r = expit(z) - t
        grad = np.append(xs.T @ r / len(t) + 2 * l2 * w[:-1], r.mean())
        return value, grad

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": 1000})
    model = LogisticModel(mean, scale, res.x, 0.0)
    model.train_accuracy = float((model.predict(x) == y).mean())
    return model


@dataclass
class PixelMLP:
    model: object
    mean: np.ndarray
    scale: np.ndarray
    train_accuracy: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale).astype(np.float32)
        return self.model.predict(z, batch_size=65536, verbose=0)[:, 0] > 0.5


def fit_mlp(x: np.ndarray, y: np.ndarray, seed: int = 0, width: int = 64,
            epochs: int = 4) -> PixelMLP:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    model = tf.keras.Sequential([tf.keras.layers.Input((x.shape[1],)),
                                 tf.keras.layers.Dense(width, activation="relu"),
                                 tf.keras.layers.Dense(width, activation="relu"),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile(tf.keras.optimizers.Adam(3e-3), "binary_crossentropy")
    model.fit(((x - mean) / scale).astype(np.float32), y.astype(np.float32), batch_size=2048,
              epochs=epochs, verbose=0, shuffle=True)
    mlp = PixelMLP(model, mean, scale, 0.0)
    mlp.train_accuracy = float((mlp.predict(x) == y).mean())
    return mlp


def score(files, cfg, predictors: dict) -> dict[str, float]:
    """Validation pixel accuracy of each predictor, streaming scene by scene."""
    correct = dict.fromkeys(predictors, 0)
    total = clear = 0
    for f in files:
        x, y = scene_pixels(f, cfg)
        for name, p in predictors.items():
            correct[name] += int((p.predict(x) == y).sum())
        total += len(y)
        clear += int((~y).sum())
    out = {name: c / total for name, c in correct.items()}
    out["all_clear"] = clear / total
    out["pixels"] = total
    return out


def measure(data_dir: Path, cfg: dict, max_train_pixels: int = 2_000_000, seed: int = 0,
            mlp: bool = True) -> dict:
    splits = D.list_splits(data_dir, cfg)
    x, y = training_pixels(splits["train"], cfg, max_train_pixels, np.random.default_rng(seed))
    predictors = {"threshold": fit_threshold(x, y), "logistic": fit_logistic(x, y)}
    if mlp:
        predictors["mlp"] = fit_mlp(x, y, seed)
    rule, logistic = predictors["threshold"], predictors["logistic"]
    val = score(splits["validation"], cfg, predictors)
    return {
        "data_dir": str(data_dir),
        "train_pixels": int(len(y)),
        "validation_pixels": val["pixels"],
        "validation_cloud_fraction": 1.0 - val["all_clear"],
        "all_clear": val["all_clear"],
        "threshold": {"channel": CHANNEL_NAMES[rule.channel],
                      "rule": f"cloud if {'>' if rule.cloud_above else '<='} "
                              f"{D.to_physical(rule.channel, rule.threshold):.4g}"
                              f"{' K' if rule.channel >= D.N_REFS else ''}",
                      "train_accuracy": rule.train_accuracy,
                      "validation_accuracy": val["threshold"]},
        "logistic": {"train_accuracy": logistic.train_accuracy,
                     "validation_accuracy": val["logistic"]},
        **({"mlp": {"train_accuracy": predictors["mlp"].train_accuracy,
                    "validation_accuracy": val["mlp"]}} if mlp else {}),
    }


def format_report(r: dict) -> str:
    t, lg = r["threshold"], r["logistic"]
    majority = "clear" if r["all_clear"] >= 0.5 else "cloud"
    rows = [(f"majority class (always {majority})", "-", max(r["all_clear"], 1 - r["all_clear"])),
            (f"best single-channel threshold: {t['channel']}, {t['rule']}",
             f"{t['train_accuracy']:.4f}", t["validation_accuracy"]),
            ("logistic regression on the 9 channels", f"{lg['train_accuracy']:.4f}",
             lg["validation_accuracy"])]
    if "mlp" in r:
        rows.append(("(reference) per-pixel MLP, 2 x 64, on the 9 channels",
                     f"{r['mlp']['train_accuracy']:.4f}", r["mlp"]["validation_accuracy"]))
    lines = [f"CloudMask per-pixel baselines on {r['data_dir']}",
             f"  fitted on {r['train_pixels']:,} training pixels, scored on "
             f"{r['validation_pixels']:,} validation pixels (cloud fraction "
             f"{r['validation_cloud_fraction']:.4f})",
             f"  {'baseline':<62} {'train acc':>9} {'val acc':>8}"]
    lines += [f"  {name:<62} {tr:>9} {va:>8.4f}" for name, tr, va in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    from ..common.config import ConfigError, load_config

    p = argparse.ArgumentParser(prog="python -m reference_implementations.cloudmask.baselines",
                                description="Measure the per-pixel baselines on a dataset.")
    p.add_argument("--data-dir", required=True, help="folder with train/ and validation/")
    p.add_argument("--scale", default="tiny", help="tiny | small | full (default tiny)")
    p.add_argument("--config", help="a config YAML of your own instead of configs/<scale>.yaml")
    p.add_argument("--max-train-pixels", type=int, default=2_000_000,
                   help="training pixels sampled for fitting (default 2,000,000)")
    p.add_argument("--no-mlp", action="store_true",
                   help="skip the per-pixel MLP reference (needs TensorFlow; slowest part)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args(argv)
    try:
        cfg = load_config("cloudmask", a.scale, a.config)
        r = measure(Path(a.data_dir), cfg.data, a.max_train_pixels, mlp=not a.no_mlp)
    except (DataError, ConfigError) as e:
        print(f"sciperf: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(r, indent=1) if a.json else format_report(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
