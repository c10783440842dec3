"""The dSprites sprites: a white square, ellipse or heart on black, 64 x 64 binary, at one of
6 scales, 40 orientations and 32 x 32 positions (Matthey et al. 2017, DeepMind's dSprites).

Each pixel is on when its centre lies inside the shape: the shape's implicit function is
evaluated in the sprite's own frame (translated to its position, turned by its orientation,
divided by its scale), so a sprite is exact at any sub-pixel position and angle.
"""

from __future__ import annotations

import numpy as np

SIZE = 64
SHAPES = ("square", "ellipse", "heart")  # latents_values shape 1, 2, 3
RADIUS_PX = 10.0  # a scale-1 sprite's half-extent
MARGIN_PX = 15.0  # posX = 0 puts the centre here, posY = 1 at SIZE - MARGIN_PX: always inside

_CENTRES = np.arange(SIZE) + 0.5


def inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether sprite-frame points (u right, v up, unit = the scale's half-extent) are inside
    shape 0 (square), 1 (ellipse) or 2 (heart)."""
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == 1:
        return u * u + 4.0 * v * v <= 1.0
    a, b = 1.15 * u, 1.15 * v + 0.15  # the classic heart curve, centred on its box
    a2 = a * a
    return (a2 + b * b - 1.0) ** 3 <= a2 * b ** 3


def render(shape: np.ndarray, scale: np.ndarray, orientation: np.ndarray, pos_x: np.ndarray,
           pos_y: np.ndarray) -> np.ndarray:
    """B sprites (shape as class 0..2; scale, orientation in radians, positions in [0, 1], as
    latents_values has them) -> B x 64 x 64 uint8 of 0 and 1."""
    shape = np.asarray(shape)
    span = SIZE - 2 * MARGIN_PX
    cx = (MARGIN_PX + np.asarray(pos_x, dtype=np.float64) * span)[:, None, None]
    cy = (MARGIN_PX + np.asarray(pos_y, dtype=np.float64) * span)[:, None, None]
    theta = np.asarray(orientation, dtype=np.float64)[:, None, None]
    r = RADIUS_PX * np.asarray(scale, dtype=np.float64)[:, None, None]
    cos, sin = np.cos(theta) / r, np.sin(theta) / r
    dx = _CENTRES[None, None, :] - cx  # columns: x
    dy = cy - _CENTRES[None, :, None]  # rows grow downwards; v points up
    out = np.zeros((len(shape), SIZE, SIZE), dtype=np.uint8)
    for s in np.unique(shape):
        m = shape == s
        u = cos[m] * dx[m] + sin[m] * dy[m]
        v = cos[m] * dy[m] - sin[m] * dx[m]
        out[m] = inside(int(s), u, v)
    return out
