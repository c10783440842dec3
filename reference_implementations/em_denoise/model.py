"""em_denoise model: a convolutional encoder-decoder (U-Net shaped: skip connections from each
encoder level to the decoder level of the same size), and the quality metrics.

The metric is the mean over validation images of PSNR in dB against the clean image (scaled to
[0, 1] per image by the reader, so the peak is 1); MSE and SSIM are logged beside it.
Predictions are clipped to [0, 1] before scoring, as for any image whose valid range is known.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

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
    """MSE, PSNR (dB) and SSIM of each image of a batch (N x H x W x 1, peak 1)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.clip(np.asarray(y_pred, dtype=np.float64), 0.0, PEAK)
    mse = np.mean((y_pred - y_true) ** 2, axis=(1, 2, 3))
    psnr = 10.0 * np.log10(PEAK ** 2 / np.maximum(mse, MSE_FLOOR))
    return {"mse": mse, "psnr": psnr, "ssim": ssim(y_true[..., 0], y_pred[..., 0])}


SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def ssim(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SSIM (Wang et al. 2004) of each N x H x W image pair: Gaussian window 11 x 11 with sigma
    1.5, K1 0.01, K2 0.03, peak 1, averaged over the positions where the window fits (as
    tf.image.ssim, in double precision)."""
    offsets = np.arange(SSIM_WINDOW) - SSIM_WINDOW // 2
    g = np.exp(-offsets ** 2 / (2 * SSIM_SIGMA ** 2))
    g /= g.sum()
    edge = SSIM_WINDOW // 2

    def local_mean(a):  # the window is separable: two 1-D passes, then keep where it fits
        a = ndimage.correlate1d(a, g, axis=1, mode="constant")
        a = ndimage.correlate1d(a, g, axis=2, mode="constant")
        return a[:, edge:-edge, edge:-edge]

    mx, my = local_mean(x), local_mean(y)
    vx, vy = local_mean(x * x) - mx ** 2, local_mean(y * y) - my ** 2
    cov = local_mean(x * y) - mx * my
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    index = (2 * mx * my + c1) * (2 * cov + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return index.mean(axis=(1, 2))


def eval_sums(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    m = per_image(y_true, y_pred)
    return {"psnr_sum": float(m["psnr"].sum()), "mse_sum": float(m["mse"].sum()),
            "ssim_sum": float(m["ssim"].sum()), "images": float(len(m["psnr"]))}


def eval_finalize(sums: dict[str, float]) -> tuple[float, dict[str, float]]:
    n = sums["images"]
    return sums["psnr_sum"] / n, {"mse": sums["mse_sum"] / n, "ssim": sums["ssim_sum"] / n}
