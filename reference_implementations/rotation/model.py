"""rotation model: a rotation-invariant group-equivariant CNN over C_N (the closed division's
reference), a plain CNN of about the same number of parameters (the baselines' and an open
division method), and the metrics.

`model.method`:
  gcnn  a lifting convolution, then group convolutions (gcnn.py), each followed by ReLU, 2 x 2
        max pooling after the layers in `pool_after`, then the mean (or maximum) over each
        field's orientations and the mean over space: invariant by construction, exactly to
        quarter turns and nearly to the other multiples of 360 / N (and to angles between them
        as far as the filters turn smoothly);
  cnn   the same stack of ordinary convolutions with `cnn_channels` channels (about the group
        network's parameter count at an N-th of its arithmetic), global mean pool.
No batch normalisation: its moving statistics made the evaluations of these short runs swing
by up to 45 points from one epoch to the next (batch statistics in training did not).

The metric is top-1 accuracy on the rotated validation split (view 0 of data's validation
batches). Its panel, one record each: accuracy on the galaxies upright (view 8), accuracy per
45-degree bin of the galaxies' angle, and rotation consistency: the share of galaxies given one
class at all 8 turns (views 0-7).
"""

from __future__ import annotations

import numpy as np

from sciperf import vocab as K

from .data import TURNS, UPRIGHT_VIEW

PANEL = K.BENCHMARKS["rotation"].panel
UPRIGHT_KEY, *ANGLE_KEYS, CONSISTENCY_KEY = PANEL
BIN_DEGREES = 360 // len(ANGLE_KEYS)
METHODS = ("gcnn", "cnn")


def build(cfg):
    import tensorflow as tf

    from . import gcnn

    L = tf.keras.layers
    m, size = cfg.model, int(cfg.data["image_size"])
    method, n = m["method"], int(m["orientations"])
    if len(m["cnn_channels"]) != len(m["fields"]):
        raise ValueError("model.cnn_channels and model.fields: one entry per layer each")
    if method not in METHODS:
        raise ValueError(f"model.method: {method!r} is not one of {', '.join(METHODS)}")
    fields, pool_after = [int(f) for f in m["fields"]], set(m["pool_after"])
    if size % 2 ** len(pool_after):
        raise ValueError(f"data.image_size {size} is not divisible by 2**{len(pool_after)} "
                         "(model.pool_after): quarter turns must map pooling blocks onto blocks")
    wd = float(cfg.train["weight_decay"])
    reg = tf.keras.regularizers.l2(wd) if wd > 0 else None
    n_classes = int(cfg.data.get("classes", 7))

    inputs = tf.keras.Input((size, size, 3), name="image")
    x = inputs
    for i, f in enumerate(fields):
        k = int(m["lifting_kernel"] if i == 0 else m["kernel"])
        if method == "gcnn":
            conv = gcnn.LiftingConv2D if i == 0 else gcnn.GroupConv2D
            x = conv(f, k, n, m.get("max_frequency"), kernel_regularizer=reg,
                     name=f"gconv{i}")(x)
        else:
            x = L.Conv2D(int(m["cnn_channels"][i]), k, padding="same", kernel_regularizer=reg,
                         kernel_initializer="he_normal",
                         name=f"conv{i}")(x)
        x = L.ReLU(name=f"relu{i}")(x)
        if i in pool_after:
            x = L.MaxPool2D(2, name=f"pool{i}")(x)
    if method == "gcnn":
        x = gcnn.OrientationPool(n, m.get("orientation_pool", "max"), name="orientation_pool")(x)
    x = L.GlobalAveragePooling2D(name="spatial_pool")(x)
    dropout = float(cfg.train["dropout"])
    if dropout > 0:
        x = L.Dropout(dropout, name="dropout")(x)
    outputs = L.Dense(n_classes, kernel_regularizer=reg, name="logits")(x)
    return tf.keras.Model(inputs, outputs, name=f"rotation_{method}")


def loss(cfg):
    import tensorflow as tf

    return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def predict(model, views):
    """(B, V, S, S, 3) views of each galaxy -> (B, V, classes) logits, the views folded into the
    batch."""
    import tensorflow as tf

    shape = tf.shape(views)
    logits = model(tf.reshape(views, tf.concat([[-1], shape[2:]], 0)), training=False)
    return tf.reshape(logits, tf.concat([shape[:2], [-1]], 0))


def eval_sums(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """y_true (B, 2): class and angle; y_pred (B, VIEWS, classes)."""
    label = y_true[:, 0].astype(np.int64)
    angle_bin = np.floor(y_true[:, 1] / BIN_DEGREES).astype(np.int64) % len(ANGLE_KEYS)
    pred = np.argmax(y_pred, axis=-1)
    correct = pred[:, 0] == label
    sums = {"galaxies": float(len(label)), "correct": float(correct.sum()),
            "upright": float((pred[:, UPRIGHT_VIEW] == label).sum()),
            "consistent": float((pred[:, :TURNS] == pred[:, :1]).all(axis=1).sum())}
    for b in range(len(ANGLE_KEYS)):
        in_bin = angle_bin == b
        sums[f"bin{b}"] = float(in_bin.sum())
        sums[f"bin{b}_correct"] = float(correct[in_bin].sum())
    return sums


def eval_finalize(sums: dict[str, float]) -> tuple[float, dict[str, float]]:
    """(top-1 accuracy, the panel)."""
    n = sums["galaxies"]
    panel = {UPRIGHT_KEY: sums["upright"] / n, CONSISTENCY_KEY: sums["consistent"] / n}
    for b, key in enumerate(ANGLE_KEYS):
        if not sums[f"bin{b}"]:  # the official splits (hundreds at uniform angles) have none
            raise ValueError(f"no validation galaxy has an angle in [{b * BIN_DEGREES}, "
                             f"{(b + 1) * BIN_DEGREES}) degrees: {key} is undefined")
        panel[key] = sums[f"bin{b}_correct"] / sums[f"bin{b}"]
    return sums["correct"] / n, panel
