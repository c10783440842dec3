"""Group-equivariant convolutions over the rotation group C_N, as tf.keras layers (Cohen &
Welling 2016, "Group equivariant convolutional networks"; filters in a steerable basis as
Weiler et al. 2018, "Learning steerable filters for rotation equivariant CNNs"). We write them
ourselves: no TensorFlow library provides them (e2cnn and escnn are PyTorch-only).

A feature map on C_N has N orientation channels per field: the tensor (B, H, W, F * N) with
channel f * N + r holding field f at orientation r (rotation by 360 r / N degrees,
counter-clockwise on the displayed image). Every layer here keeps that layout and is
equivariant: rotating the input by a multiple s of 360 / N rotates every feature map and shifts
its orientations cyclically by s. For quarter turns this is exact on the pixel grid (the
rotated filters are exact copies of the learnt one turned by np.rot90, 'same' padding is
symmetric for odd kernels and 2 x 2 pooling maps blocks onto blocks for even sizes); for the
other multiples the filters are the learnt one turned in the continuum and sampled on the
grid, so it holds approximately (tests/rotation/test_gcnn.py measures how nearly).

* `LiftingConv2D`: an image (B, H, W, C) to a C_N feature map: the learnt filter and its N - 1
  rotated copies, one output orientation each.
* `GroupConv2D`: C_N feature map to C_N feature map: for output orientation r the filter is
  rotated by r spatially and its input orientations shifted cyclically by r.
* `OrientationPool`: the mean (or maximum) over the N orientations of each field (invariant
  features); followed by any spatial global pooling, the network is invariant.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def steerable_basis(size: int, orientations: int, max_frequency: int | None = None,
                    sigma: float = 0.6) -> np.ndarray:
    """(N, size^2, B): B filter basis functions on the size x size grid (row-major), each at
    the N rotations by 360 r / N degrees counter-clockwise (on the displayed image: rows down,
    columns right). The functions are circular harmonics on Gaussian rings (Weiler et al. 2018,
    "Learning steerable filters for rotation equivariant CNNs"): exp(-(|p| - rho)^2 / 2
    sigma^2) cos(m phi) and sin(m phi), rings rho = 0, 1, ..., (size - 1) / 2, angular
    frequencies m up to 2 rho and max_frequency (m = 0 only at the centre), so a rotated
    filter is the learnt one
    turned in the continuum and sampled again, not an interpolation of its taps. Rotations by
    quarter turns are np.rot90 of the unrotated samples: exact copies on the pixel grid."""
    if orientations % 4:
        raise ValueError(f"{orientations} orientations: C_N needs N divisible by 4 here "
                         "(quarter turns exact on the pixel grid)")
    c = (size - 1) / 2.0
    rows, cols = np.mgrid[0:size, 0:size]
    x, y = cols - c, c - rows  # y up
    radius, phi = np.hypot(x, y), np.arctan2(y, x)
    quarter = orientations // 4
    per_rotation = []
    for r in range(quarter):
        a = 2 * math.pi * r / orientations
        functions = []
        for rho in range(int(c) + 1):
            ring = np.exp(-(radius - rho) ** 2 / (2 * sigma ** 2))
            top = 2 * rho if max_frequency is None else min(2 * rho, max_frequency)
            for m in range(top + 1):
                # a harmonic of m > 0 has no value at the centre (its angle is undefined there)
                harmonic = ring if m == 0 else ring * (radius > 0)
                functions.append(harmonic * np.cos(m * (phi - a)))
                if m:
                    functions.append(harmonic * np.sin(m * (phi - a)))
        per_rotation.append(np.stack(functions, axis=-1))  # (size, size, B)
    # unit norm at rotation 0, the same factor at every rotation
    norms = np.sqrt((per_rotation[0] ** 2).sum(axis=(0, 1)))
    out = np.empty((orientations, size * size, len(norms)))
    for q in range(4):
        for r in range(quarter):
            out[q * quarter + r] = (np.rot90(per_rotation[r], q, axes=(0, 1)) / norms).reshape(
                size * size, -1)
    return out


class _RotatedFilters(tf.keras.layers.Layer):
    """What both convolutions share: a learnt filter as weights of the steerable basis, its N
    rotated copies assembled into one ordinary conv2d kernel at every call, and a bias per
    output field."""

    def __init__(self, fields: int, kernel_size: int, orientations: int,
                 max_frequency: int | None = None, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.max_frequency = max_frequency
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size {kernel_size}: must be odd (symmetric 'same' padding)")
        self.fields, self.kernel_size, self.orientations = fields, kernel_size, orientations
        self.kernel_regularizer = tf.keras.regularizers.get(kernel_regularizer)
        basis = steerable_basis(kernel_size, orientations, max_frequency)
        self._basis = tf.constant(basis, tf.float32)  # (N, k^2, B)
        self._taps = basis.shape[-1]

    def _add_filter(self, in_shape: tuple[int, ...]):
        # He initialisation over the filter's taps: the basis is orthonormal-ish
        fan_in = self.kernel_size ** 2 * int(np.prod(in_shape))
        self.kernel = self.add_weight(
            name="kernel", shape=(self._taps,) + tuple(in_shape) + (self.fields,),
            initializer=tf.keras.initializers.RandomNormal(
                stddev=math.sqrt(2.0 / fan_in) * self.kernel_size / math.sqrt(self._taps)),
            regularizer=self.kernel_regularizer)
        self.bias = self.add_weight(name="bias", shape=(self.fields,), initializer="zeros")

    def _conv(self, x, kernel):
        k = self.kernel_size
        kernel = tf.reshape(kernel, (k, k, -1, self.fields * self.orientations))
        y = tf.nn.conv2d(x, kernel, strides=1, padding="SAME")
        return y + tf.repeat(self.bias, self.orientations)

    def get_config(self):
        return {**super().get_config(), "fields": self.fields, "kernel_size": self.kernel_size,
                "orientations": self.orientations, "max_frequency": self.max_frequency,
                "kernel_regularizer": tf.keras.regularizers.serialize(self.kernel_regularizer)
                if self.kernel_regularizer else None}


class LiftingConv2D(_RotatedFilters):
    """(B, H, W, C) -> (B, H, W, fields * N)."""

    def build(self, input_shape):
        self._add_filter((int(input_shape[-1]),))
        super().build(input_shape)

    def call(self, x):
        # output channel f * N + r: the filter rotated by r
        kernel = tf.einsum("rqb,bcf->qcfr", self._basis, self.kernel)
        return self._conv(x, kernel)


class GroupConv2D(_RotatedFilters):
    """(B, H, W, fields_in * N) -> (B, H, W, fields * N)."""

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if channels % self.orientations:
            raise ValueError(f"{channels} input channels are not fields x {self.orientations} "
                             "orientations")
        self._add_filter((channels // self.orientations, self.orientations))
        super().build(input_shape)

    def call(self, x):
        n = self.orientations
        # for output orientation r: input orientation s takes the filter learnt for s - r,
        # rotated by r
        shifted = tf.stack([tf.roll(self.kernel, shift=r, axis=2) for r in range(n)], axis=0)
        kernel = tf.einsum("rqb,rbcsf->qcsfr", self._basis, shifted)
        return self._conv(x, kernel)


class OrientationPool(tf.keras.layers.Layer):
    """(…, fields * N) -> (…, fields): the maximum (or mean) over each field's orientations."""

    def __init__(self, orientations: int, mode: str = "max", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "mean"):
            raise ValueError(f"orientation pooling {mode!r} is not max or mean")
        self.orientations, self.mode = orientations, mode

    def call(self, x):
        shape = tf.shape(x)
        fields = x.shape[-1] // self.orientations
        grouped = tf.reshape(x, tf.concat([shape[:-1], [fields, self.orientations]], axis=0))
        reduce = tf.reduce_max if self.mode == "max" else tf.reduce_mean
        return reduce(grouped, axis=-1)

    def get_config(self):
        return {**super().get_config(), "orientations": self.orientations, "mode": self.mode}
