"""CloudMask model: the SciML-Bench slstr_cloud U-Net (two 3x3 convolutions per level, max-pool
down, upsample and concatenate the skip up, sigmoid per pixel), with its width and depth taken
from the config so the tiny scale trains in seconds on a CPU. In front of it, optionally, a
per-channel batch norm of the nine inputs and a "spectral stem" of 1x1 convolutions (both
measured to cut the epochs to target several-fold; see the config comments). Evaluation sums
for pixel accuracy and the cloud-class F1."""

from __future__ import annotations

import itertools

import numpy as np

from .data import N_CHANNELS


def build(cfg):
    import tensorflow as tf
    from tensorflow.keras import layers

    m, t = cfg.model, cfg.train
    patch = int(cfg.data["patch_size"])
    depth, width = int(m["depth"]), int(m["base_filters"])
    if patch % (2 ** depth):
        raise ValueError(f"data.patch_size {patch} is not divisible by 2**model.depth "
                         f"({2 ** depth})")
    reg = tf.keras.regularizers.L2(t["weight_decay"]) if t["weight_decay"] else None
    bn_class, bn_count = _batch_norm_class(m.get("sync_batch_norm", True)), itertools.count()

    def batch_norm():  # unique names: Horovod's layer has one fixed default
        return bn_class(momentum=m.get("batch_norm_momentum", 0.99),
                        name=f"batch_norm_{next(bn_count)}")

    def block(x, filters):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_normal",
                              use_bias=not m.get("batch_norm", False),
                              kernel_regularizer=reg)(x)
            if m.get("batch_norm", False):
                x = batch_norm()(x)
            x = layers.ReLU()(x)
        return x

    inputs = layers.Input((patch, patch, N_CHANNELS))
    x, skips = inputs, []
    if m.get("input_norm", False):
        # The reader's fixed scaling leaves S4-S6 with a tenth of the visible channels' spread;
        # a per-channel batch normalisation of the input lets every band count from step one.
        x = batch_norm()(x)
    for _ in range(2 if m.get("stem_filters") else 0):
        # A spectral stem: 1x1 convolutions that learn per-pixel combinations of the nine
        # bands (the tests behind classical cloud masks) at a fraction of a 3x3 layer's cost,
        # leaving the U-Net's narrow full-resolution levels for spatial context.
        x = layers.Conv2D(int(m["stem_filters"]), 1, kernel_initializer="he_normal",
                          use_bias=not m.get("batch_norm", False), kernel_regularizer=reg)(x)
        if m.get("batch_norm", False):
            x = batch_norm()(x)
        x = layers.ReLU()(x)
    for level in range(depth):
        x = block(x, width * 2 ** level)
        skips.append(x)
        x = layers.MaxPool2D(2)(x)
    x = block(x, width * 2 ** depth)
    if t["dropout"]:
        x = layers.Dropout(t["dropout"])(x)
    for level in reversed(range(depth)):
        x = layers.UpSampling2D(2)(x)
        x = layers.Concatenate()([x, skips[level]])
        x = block(x, width * 2 ** level)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", kernel_regularizer=reg)(x)
    return tf.keras.Model(inputs, outputs, name="cloudmask_unet")


def _batch_norm_class(sync: bool):
    """Keras' BatchNormalization: each rank normalises with its own batch's statistics and keeps
    its own moving averages (the usual Horovod practice; the ranks' moving statistics then
    differ slightly, the trained weights do not). With `model.sync_batch_norm` and several
    ranks, Horovod's SyncBatchNormalization: statistics over the global batch and identical
    moving averages everywhere, at one allreduce per layer per step (5x the epoch time of the
    tiny run over Gloo on 2 CPU cores; cheap over NCCL)."""
    from tensorflow.keras import layers

    if not sync:
        return layers.BatchNormalization
    try:
        import horovod.tensorflow as hvd
        from horovod.tensorflow.sync_batch_norm import SyncBatchNormalization
    except ImportError:
        return layers.BatchNormalization
    if hvd.is_initialized() and hvd.size() > 1:
        return SyncBatchNormalization
    return layers.BatchNormalization


def loss(cfg):
    import tensorflow as tf

    return tf.keras.losses.BinaryCrossentropy()


def eval_sums(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    truth, pred = y_true > 0.5, y_pred > 0.5
    tp = np.count_nonzero(truth & pred)
    return {"pixels": float(truth.size), "correct": float(np.count_nonzero(truth == pred)),
            "tp": float(tp), "fp": float(np.count_nonzero(pred) - tp),
            "fn": float(np.count_nonzero(truth) - tp)}


def eval_finalize(sums: dict[str, float]) -> tuple[float, dict[str, float]]:
    accuracy = sums["correct"] / sums["pixels"] if sums.get("pixels") else 0.0
    denom = 2 * sums.get("tp", 0.0) + sums.get("fp", 0.0) + sums.get("fn", 0.0)
    f1 = 2 * sums["tp"] / denom if denom else 1.0  # no cloud anywhere and none predicted
    return accuracy, {"f1_cloud": f1}
