"""em_denoise model: a convolutional encoder-decoder (U-Net shaped: skip connections from each
encoder level to the decoder level of the same size), and the quality metrics.

The metric is the mean over validation images of PSNR in dB against the clean image (scaled to
[0, 1] per image by the reader, so the peak is 1); MSE and SSIM are logged beside it.
Predictions are clipped to [0, 1] before scoring, as for any image whose valid range is known.
"""

from __future__ import annotations

import functools

import numpy as np

PEAK = 1.0  # clean images are scaled to [0, 1]
MSE_FLOOR = 1e-10  # a perfect image scores 100 dB, not infinity


def build(cfg):
    import tensorflow as tf

    L = tf.keras.layers
    size = int(cfg.data["image_size"])
    base = int(cfg.model["base_channels"])
    depth = int(cfg.model["depth"])
    if size % (2 ** depth):
        raise ValueError(f"data.image_size {size} is not divisible by 2**model.depth "
                         f"({2 ** depth})")
    wd = float(cfg.train["weight_decay"])
    reg = tf.keras.regularizers.l2(wd) if wd > 0 else None
    dropout = float(cfg.train["dropout"])

    def block(x, channels, name):
        for i in (1, 2):
            x = L.Conv2D(channels, 3, padding="same", activation="relu",
                         kernel_regularizer=reg, name=f"{name}_conv{i}")(x)
        return x

    inputs = tf.keras.Input((size, size, 1), name="noisy")
    x, skips = inputs, []
    for level in range(depth):
        x = block(x, base * 2 ** level, f"enc{level}")
        skips.append(x)
        x = L.MaxPool2D(name=f"enc{level}_pool")(x)
    x = block(x, base * 2 ** depth, "bottleneck")
    if dropout > 0:
        x = L.SpatialDropout2D(dropout, name="bottleneck_dropout")(x)
    for level in reversed(range(depth)):
        x = L.UpSampling2D(name=f"dec{level}_up")(x)
        x = L.Concatenate(name=f"dec{level}_skip")([x, skips[level]])
        x = block(x, base * 2 ** level, f"dec{level}")
    outputs = L.Conv2D(1, 1, name="clean")(x)  # linear: a regression onto intensities
    return tf.keras.Model(inputs, outputs, name="em_denoise_unet")


def loss(cfg):
    """`mse`: mean squared error over all pixels of the batch. `psnr`: minus the mean PSNR of
    the batch's images (the metric itself, unclipped), which weighs every image alike where MSE
    lets the noisiest images dominate."""
    import tensorflow as tf

    kind = cfg.model["loss"]
    if kind == "mse":
        return tf.keras.losses.MeanSquaredError()
    if kind == "psnr":
        def negative_psnr(y_true, y_pred):
            mse = tf.reduce_mean(tf.square(y_pred - y_true), axis=[1, 2, 3])
            return 10.0 * tf.math.log(mse + MSE_FLOOR) / tf.math.log(10.0)

        return negative_psnr
    raise ValueError(f"model.loss: {kind!r} is not mse or psnr")


def per_image(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """MSE, PSNR (dB) and SSIM of each image of a batch (N x H x W x 1, peak 1). SSIM is
    TensorFlow's (Gaussian 11x11 window, sigma 1.5, K1 0.01, K2 0.03)."""
    import tensorflow as tf

    y_true = np.asarray(y_true, dtype=np.float32)
    y_pred = np.clip(np.asarray(y_pred, dtype=np.float32), 0.0, PEAK)
    mse = np.mean((y_pred.astype(np.float64) - y_true) ** 2, axis=(1, 2, 3))
    psnr = 10.0 * np.log10(PEAK ** 2 / np.maximum(mse, MSE_FLOOR))
    ssim = _ssim()(tf.constant(y_true), tf.constant(y_pred)).numpy()
    return {"mse": mse, "psnr": psnr, "ssim": ssim.astype(np.float64)}


@functools.cache
def _ssim():
    """tf.image.ssim as one traced graph: called eagerly it rebuilds its ops on every batch,
    which cost more than the model's own forward pass."""
    import tensorflow as tf

    return tf.function(lambda a, b: tf.image.ssim(a, b, max_val=PEAK), reduce_retracing=True)


def eval_sums(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    m = per_image(y_true, y_pred)
    return {"psnr_sum": float(m["psnr"].sum()), "mse_sum": float(m["mse"].sum()),
            "ssim_sum": float(m["ssim"].sum()), "images": float(len(m["psnr"]))}


def eval_finalize(sums: dict[str, float]) -> tuple[float, dict[str, float]]:
    n = sums["images"]
    return sums["psnr_sum"] / n, {"mse": sums["mse_sum"] / n, "ssim": sums["ssim_sum"] / n}
