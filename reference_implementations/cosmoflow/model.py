"""The CosmoFlow 3D CNN (MLPerf HPC reference, mlcommons/hpc cosmoflow/models/cosmoflow.py) and
its evaluation: the MAE of the normalised parameters.

Network: n_conv_layers blocks of Conv3D (filters doubling from conv_filters, `same` padding) +
LeakyReLU + 2x pooling (max, or average); Flatten; Dense(fc1) + LeakyReLU + Dropout;
Dense(fc2) + LeakyReLU + Dropout; Dense(4, tanh) scaled by 1.2 (the reference's scale_1p2: a
tanh reaching +-1.2 covers targets in [-1, 1] without saturating).

model: keys: conv_filters (reference 32), kernel_size (3 in MLPerf HPC v1.0+, 2 before),
n_conv_layers (5), fc1_size (128), fc2_size (64), pooling (max as the reference, or average),
loss (mse as the reference, or mae).
Dropout and weight decay (L2 on every kernel) come from the train: section.
"""

from __future__ import annotations

import numpy as np

from .cosmology import PARAMETERS
from .data import sample_shape

OUTPUT_SCALE = 1.2
POOLING = {"max": "MaxPool3D", "average": "AveragePooling3D"}  # the reference's pooling_type
MODEL_KEYS = {"conv_filters", "kernel_size", "n_conv_layers", "fc1_size", "fc2_size", "pooling",
              "loss"}


def build(cfg):
    import tensorflow as tf

    layers = tf.keras.layers
    m, t = cfg.model, cfg.train
    unknown = set(m) - MODEL_KEYS
    if unknown:
        raise ValueError(f"model: unknown keys {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(MODEL_KEYS))}")
    shape = sample_shape(cfg.data)
    n_conv = int(m["n_conv_layers"])
    if shape[0] % 2**n_conv:
        raise ValueError(f"model.n_conv_layers={n_conv}: {n_conv} poolings by 2 need a cube "
                         f"side divisible by {2**n_conv}, got data.sample_size={shape[0]}")
    wd = float(t.get("weight_decay", 0.0))
    reg = tf.keras.regularizers.L2(wd) if wd > 0 else None
    dropout = float(t.get("dropout", 0.0))
    pooling = str(m.get("pooling", "max"))
    if pooling not in POOLING:
        raise ValueError(f"model.pooling: {pooling!r} is not {' or '.join(POOLING)}")
    pool = getattr(layers, POOLING[pooling])

    model = tf.keras.Sequential(name="cosmoflow")
    model.add(tf.keras.Input(shape=shape))
    for i in range(n_conv):
        model.add(layers.Conv3D(int(m["conv_filters"]) * 2**i, int(m["kernel_size"]),
                                padding="same", kernel_regularizer=reg))
        model.add(layers.LeakyReLU())
        model.add(pool(pool_size=2))
    model.add(layers.Flatten())
    for size in (m["fc1_size"], m["fc2_size"]):
        model.add(layers.Dense(int(size), kernel_regularizer=reg))
        model.add(layers.LeakyReLU())
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(len(PARAMETERS), activation="tanh", kernel_regularizer=reg))
    model.add(layers.Rescaling(OUTPUT_SCALE))
    return model


def loss(cfg):
    import tensorflow as tf

    name = str(cfg.model.get("loss", "mse")).lower()
    if name == "mse":
        return tf.keras.losses.MeanSquaredError()
    if name == "mae":
        return tf.keras.losses.MeanAbsoluteError()
    raise ValueError(f"model.loss: {name!r} is not mse or mae")


def eval_sums(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Sums of absolute errors, per parameter, and the number of samples."""
    err = np.abs(np.asarray(y_true, np.float64) - np.asarray(y_pred, np.float64))
    sums = {f"abs_error_{p}": float(err[:, i].sum()) for i, p in enumerate(PARAMETERS)}
    sums["samples"] = float(err.shape[0])
    return sums


def eval_finalize(sums: dict[str, float]) -> tuple[float, dict[str, float]]:
    """-> (MAE over all parameters and samples, {"mae_<parameter>": ...})."""
    n = sums.get("samples", 0.0)
    if n <= 0:
        raise ValueError("eval_finalize: no validation samples were evaluated")
    per = {f"mae_{p}": sums[f"abs_error_{p}"] / n for p in PARAMETERS}
    return float(np.mean(list(per.values()))), per
