"""What a CosmoFlow model must beat: MAE of the normalised parameters on the validation split
for two predictors that learn no features.

* mean: predict the training set's mean target for every cube.
* power spectrum: ridge regression of the targets on the log binned power spectrum of every
  channel (the textbook summary statistic of a cosmological field), with the ridge strength
  chosen by 5-fold cross-validation on the training set. Two variants: the spectrum of the
  overdensity counts / mean - 1 (standard), and of log(1 + counts) (the network's own input).

    python -m reference_implementations.cosmoflow.baselines --scale tiny [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import data as cosmo_data
from .cosmology import PARAMETERS

N_BINS = 8
_ALPHAS = 10.0 ** np.arange(-4, 4)


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def power_spectrum_features(x: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """log of the binned power spectrum of each channel of a (D, D, D, C) field, as one vector
    of C * n_bins features. Bins are log-spaced in |k| from the fundamental mode to Nyquist."""
    size = x.shape[0]
    k1 = np.fft.fftfreq(size) * size
    kz = np.fft.rfftfreq(size) * size
    kmag = np.sqrt(k1[:, None, None] ** 2 + k1[None, :, None] ** 2 + kz[None, None, :] ** 2)
    edges = np.geomspace(1.0, size / 2, n_bins + 1)
    edges[-1] += 1e-9
    which = np.digitize(kmag, edges) - 1  # -1: k = 0 mode; n_bins: beyond Nyquist
    inside = (which >= 0) & (which < n_bins)
    counts = np.bincount(which[inside], minlength=n_bins)
    feats = []
    for c in range(x.shape[-1]):
        field = x[..., c] - x[..., c].mean()
        power = np.abs(np.fft.rfftn(field)) ** 2
        sums = np.bincount(which[inside], weights=power[inside], minlength=n_bins)
        feats.append(np.log(sums / np.maximum(counts, 1) + 1e-12))
    return np.concatenate(feats)


def _ridge_fit(a: np.ndarray, y: np.ndarray, alpha: float):
    mu, sd = a.mean(0), a.std(0) + 1e-12
    z = (a - mu) / sd
    ym = y.mean(0)
    w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - ym))
    return lambda b: ((b - mu) / sd) @ w + ym


def ridge_cv(a: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0):
    """Ridge regression with its strength chosen by k-fold CV (lowest MAE); refit on all."""
    order = np.random.default_rng(seed).permutation(len(a))
    parts = np.array_split(order, folds)
    best = None
    for alpha in _ALPHAS:
        err = 0.0
        for i in range(folds):
            train = np.concatenate([p for j, p in enumerate(parts) if j != i])
            err += mae(y[parts[i]], _ridge_fit(a[train], y[train], alpha)(a[parts[i]]))
        if best is None or err < best[0]:
            best = (err, alpha)
    return _ridge_fit(a, y, best[1]), best[1]


def load_split(files, cfg: dict, apply_log: bool):
    """(power spectrum features, targets) of every sample in files, read by the benchmark's
    reader (apply_log False gives counts / mean, i.e. 1 + overdensity)."""
    plain = {**cfg, "apply_log": apply_log, "input_offset": 0.0, "input_scale": 1.0}
    ds = cosmo_data.make_dataset(files, plain, batch_size=16, training=False, shuffle_seed=None)
    feats, ys = [], []
    for x, y in ds:
        feats.extend(power_spectrum_features(xi) for xi in x.numpy())
        ys.append(y.numpy())
    return np.array(feats), np.concatenate(ys)


def baselines(data_dir, cfg: dict) -> dict[str, dict[str, float]]:
    """{predictor: {"mae": ..., "mae_<parameter>": ...}} on the validation split."""
    splits = cosmo_data.list_splits(data_dir, cfg)
    results = {}
    for name, apply_log in (("power_spectrum_overdensity", False),
                            ("power_spectrum_log1p", True)):
        a_train, y_train = load_split(splits["train"], cfg, apply_log)
        a_valid, y_valid = load_split(splits["validation"], cfg, apply_log)
        if "mean" not in results:
            results["mean"] = _scores(y_valid, np.broadcast_to(y_train.mean(0), y_valid.shape))
        predict, alpha = ridge_cv(a_train, y_train)
        results[name] = {**_scores(y_valid, predict(a_valid)), "ridge_alpha": alpha}
    return results


def _scores(y_true, y_pred) -> dict[str, float]:
    out = {"mae": mae(y_true, y_pred)}
    for i, p in enumerate(PARAMETERS):
        out[f"mae_{p}"] = mae(y_true[:, i], y_pred[:, i])
    return out


def main(argv=None) -> int:
    from ..common.config import ConfigError, load_config
    from ..common.data import DataError

    p = argparse.ArgumentParser(prog="python -m reference_implementations.cosmoflow.baselines",
                                description="MAE of the no-learning baselines on a CosmoFlow "
                                            "dataset's validation split.")
    p.add_argument("--scale", default="tiny")
    p.add_argument("--data-dir", help="default: data/cosmoflow/<scale>")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, as for training (e.g. data.sample_size=16)")
    a = p.parse_args(argv)
    try:
        cfg = load_config("cosmoflow", a.scale, overrides=(
            [f"run.data_dir={a.data_dir}"] if a.data_dir else []) + a.set)
        results = baselines(cfg.data_dir, cfg.data)
    except (ConfigError, DataError) as e:
        print(f"sciperf: error: {e}", file=sys.stderr)
        return 2
    print(f"CosmoFlow baselines, {cfg.data_dir} (validation MAE of the normalised parameters)")
    print(f"{'predictor':30s} {'mae':>7s} " + " ".join(f"{q:>8s}" for q in PARAMETERS))
    for name, r in results.items():
        print(f"{name:30s} {r['mae']:7.4f} "
              + " ".join(f"{r['mae_' + q]:8.4f}" for q in PARAMETERS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
