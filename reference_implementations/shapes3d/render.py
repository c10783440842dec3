"""The 3dshapes scenes: an object on the floor of a room in front of a back wall, seen by a
fixed camera under a fixed light, rendered by ray casting in numpy (Burgess & Kim 2018,
DeepMind's 3D Shapes: floor hue, wall hue, object hue, scale, shape, orientation).

The orientation turns the room with the object about the vertical axis through the object
(the wall's edge with the floor tilts, the cube turns), as in 3dshapes, where a sphere or a
cylinder shows its orientation only through the room. Shading: ambient plus Lambertian
diffuse light, with the object's shadow on the floor and the wall, and a white specular
highlight on the object; 2 x 2 rays per pixel.

Colours enter linearly: a scene's geometry gives per pixel how much of the floor's, the wall's
and the object's colour it shows (shading and coverage) and how much white (highlight), so
each of the 8 x 4 x 15 geometries is traced once and every image is those four weights times
its three hues' colours (`image`).
"""

from __future__ import annotations

import colorsys
import math
from functools import lru_cache

import numpy as np

SIZE = 64
SHAPES = ("cube", "cylinder", "sphere", "capsule")  # labels shape 0, 1, 2, 3
SUPERSAMPLE = 2
HALF_SIZE = 0.55  # a scale-1 object's half-width (world units)
WALL_Z = 3.0  # the back wall's distance behind the object
CAMERA = np.array([0.0, 1.7, -4.6])
LOOK_AT = np.array([0.0, 0.75, 0.0])
FOV_DEG = 46.0
LIGHT = np.array([-0.55, 1.0, -0.7])  # towards the light, camera frame (upper left, front)
AMBIENT, DIFFUSE, SPECULAR, SHININESS = 0.38, 0.62, 0.35, 24.0
SATURATION, VALUE = 0.9, 0.95
FLOOR, WALL, OBJECT = 0, 1, 2


def hue_rgb(hue: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(float(hue) % 1.0, SATURATION, VALUE))


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of ... x 3 arrays (elementwise, no BLAS)."""
    a, b = np.broadcast_arrays(a, b)
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.sqrt(_dot(v, v))[..., None]


def _rot_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _camera_rays() -> np.ndarray:
    """Unit ray directions through every sub-pixel, (SIZE*S)^2 x 3, world frame (x right,
    y up, z into the scene), the first row of pixels at the top."""
    n = SIZE * SUPERSAMPLE
    forward = _normalise(LOOK_AT - CAMERA)
    right = _normalise(np.cross([0.0, 1.0, 0.0], forward))
    up = np.cross(forward, right)
    half = math.tan(math.radians(FOV_DEG) / 2)
    t = (np.arange(n) + 0.5) / n * 2 - 1
    sx, sy = np.meshgrid(t * half, -t * half)
    rays = forward + sx[..., None] * right + sy[..., None] * up
    return _normalise(rays.reshape(-1, 3))


def _quadratic(a, b, c):
    """Roots of a t^2 + 2 b t + c = 0: the smallest > 1e-6, and both (inf where none)."""
    disc = b * b - a * c
    ok = (disc >= 0) & (np.abs(a) > 1e-12)
    root = np.sqrt(np.where(ok, disc, 0.0))
    a_safe = np.where(ok, a, 1.0)
    t1 = np.where(ok, (-b - root) / a_safe, np.inf)
    t2 = np.where(ok, (-b + root) / a_safe, np.inf)
    t = np.where(t1 > 1e-6, t1, np.where(t2 > 1e-6, t2, np.inf))
    return t, t1, t2


def _sphere(o, d, centre, radius):
    oc = o - centre
    t, _, _ = _quadratic(_dot(d, d), _dot(oc, d), _dot(oc, oc) - radius ** 2)
    return t


def _object_hit(o, d, shape: int, a: float):
    """Distance along each ray to the object (inf where missed) and the normal there, for the
    object resting on y = 0, centred on the vertical axis, half-width a, height 2a."""
    n = len(d)
    normal = np.zeros((n, 3))
    if shape == 0:  # cube: slabs
        lo, hi = np.array([-a, 0.0, -a]), np.array([a, 2 * a, a])
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / np.where(np.abs(d) > 1e-12, d, 1e-12)
        t0, t1 = (lo - o) * inv, (hi - o) * inv
        near, far = np.minimum(t0, t1), np.maximum(t0, t1)
        t_near, t_far = near.max(-1), far.min(-1)
        t = np.where((t_near <= t_far) & (t_near > 1e-6), t_near, np.inf)
        axis = near.argmax(-1)
        normal[np.arange(n), axis] = -np.sign(d[np.arange(n), axis])
        return t, normal
    if shape == 2:  # sphere
        t = _sphere(o, d, np.array([0.0, a, 0.0]), a)
        p = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
        return t, _normalise(p - [0.0, a, 0.0])
    # cylinder (radius a, y in [0, 2a]) and capsule (radius r, axis from y = r to 2a - r)
    r = a if shape == 1 else 0.75 * a
    y0, y1 = (0.0, 2 * a) if shape == 1 else (r, 2 * a - r)
    dxz, oxz = d * [1.0, 0.0, 1.0], o * [1.0, 0.0, 1.0]
    _, s1, s2 = _quadratic(_dot(dxz, dxz), _dot(oxz, dxz), _dot(oxz, oxz) - r * r)
    best = np.full(n, np.inf)
    for s in (s1, s2):  # the side, within its height
        y = o[:, 1] + s * d[:, 1]
        ok = np.isfinite(s) & (s > 1e-6) & (y >= y0) & (y <= y1) & (s < best)
        best = np.where(ok, s, best)
        side = o + np.where(ok, s, 0.0)[:, None] * d
        normal = np.where(ok[:, None], _normalise(side * [1.0, 0.0, 1.0] + [0, 1e-12, 0]), normal)
    if shape == 1:  # flat caps
        for y, ny in ((0.0, -1.0), (2 * a, 1.0)):
            with np.errstate(divide="ignore", invalid="ignore"):
                s = (y - o[:, 1]) / d[:, 1]
            p = o + np.where(np.isfinite(s), s, 0.0)[:, None] * d
            inside = (p[:, 0] ** 2 + p[:, 2] ** 2) <= r * r
            ok = np.isfinite(s) & (s > 1e-6) & inside & (s < best)
            best = np.where(ok, s, best)
            normal = np.where(ok[:, None], [0.0, ny, 0.0], normal)
    else:  # hemispherical caps
        for y in (y0, y1):
            centre = np.array([0.0, y, 0.0])
            s = _sphere(o, d, centre, r)
            p = o + np.where(np.isfinite(s), s, 0.0)[:, None] * d
            ok = np.isfinite(s) & (s < best) & ((p[:, 1] <= y0) if y == y0 else (p[:, 1] >= y1))
            best = np.where(ok, s, best)
            normal = np.where(ok[:, None], _normalise(p - centre), normal)
    return best, normal


@lru_cache(maxsize=None)
def geometry(scale: float, shape: int, orientation_deg: float) -> np.ndarray:
    """SIZE x SIZE x 4 weights of (floor colour, wall colour, object colour, white) for one
    scene geometry. The camera and light turn by -orientation about the vertical axis: the
    room and the object turn by +orientation before them."""
    turn = _rot_y(-math.radians(orientation_deg))
    o = np.broadcast_to(turn @ CAMERA, (SIZE * SIZE * SUPERSAMPLE ** 2, 3))
    d = _camera_rays() @ turn.T
    light = _normalise(turn @ LIGHT)
    a = HALF_SIZE * scale
    t_obj, n_obj = _object_hit(o, d, shape, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(d[:, 1] < -1e-9, -o[:, 1] / d[:, 1], np.inf)
        t_wall = np.where(d[:, 2] > 1e-9, (WALL_Z - o[:, 2]) / d[:, 2], np.inf)
    t_floor = np.where(t_floor < t_wall, t_floor, np.inf)  # the wall stands on the floor
    surface = np.select([t_obj <= np.minimum(t_floor, t_wall), t_floor <= t_wall],
                        [OBJECT, FLOOR], WALL)
    t = np.where(surface == OBJECT, t_obj, np.where(surface == FLOOR, t_floor, t_wall))
    point = o + t[:, None] * d
    normal = np.where((surface == OBJECT)[:, None], n_obj,
                      np.where((surface == FLOOR)[:, None], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]))
    lambert = np.clip(_dot(normal, light), 0.0, None)
    # shadow: does a ray from a floor or wall point towards the light meet the object?
    t_shadow, _ = _object_hit(point + 1e-4 * normal, np.broadcast_to(light, d.shape), shape, a)
    lit = np.where(surface == OBJECT, 1.0, np.where(np.isfinite(t_shadow), 0.0, 1.0))
    shade = AMBIENT + DIFFUSE * lambert * lit
    half = _normalise(light - d)
    gloss = SPECULAR * np.clip(_dot(n_obj, half), 0.0, None) ** SHININESS
    highlight = np.where(surface == OBJECT, gloss, 0.0)
    weights = np.zeros((len(d), 4))
    weights[np.arange(len(d)), surface] = shade
    weights[:, 3] = highlight
    s = SUPERSAMPLE
    return weights.reshape(SIZE, s, SIZE, s, 4).mean(axis=(1, 3)).astype(np.float32)


def image(labels: np.ndarray) -> np.ndarray:
    """B scenes from their 3dshapes labels (floor, wall, object hue in [0, 1); scale; shape
    0..3; orientation in degrees) -> B x 64 x 64 x 3 uint8. Colours as float32 elementwise
    products and sums (no BLAS), so the bytes do not depend on the machine's matrix kernels."""
    labels = np.asarray(labels, dtype=np.float64)
    out = np.empty((len(labels), SIZE, SIZE, 3), dtype=np.uint8)
    scenes, which = np.unique(np.round(labels[:, 3:], 6), axis=0, return_inverse=True)
    weights = np.stack([geometry(scale, int(shape), orient) for scale, shape, orient in scenes])
    palette = {h: hue_rgb(h) for h in np.unique(labels[:, :3])}
    colours = np.array([[palette[h] for h in row] for row in labels[:, :3]], dtype=np.float32)
    for start in range(0, len(labels), 256):
        w = weights[which.ravel()[start:start + 256]]  # b x 64 x 64 x 4
        c = colours[start:start + 256, :, None, None, :]  # b x 3 x 1 x 1 x 3
        rgb = (w[..., 0:1] * c[:, 0] + w[..., 1:2] * c[:, 1] + w[..., 2:3] * c[:, 2]
               + w[..., 3:4])
        out[start:start + 256] = np.rint(np.clip(rgb, 0.0, 1.0) * np.float32(255.0))
    return out
