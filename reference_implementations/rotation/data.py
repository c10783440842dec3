"""rotation data: galaxies in the layout of Galaxy10 DECaLS, the training split upright, the
validation split at random angles, and the reader.

File format (astroNN's Galaxy10_DECals.h5, one file per split here):

    images    (N, S, S, 3)  uint8    the colour image of the g, r, z bands (channels z, r, g as
                                     red, green, blue, as the Legacy Survey's cutouts); S = 256
                                     in Galaxy10, smaller at SciPerf's tiny and small scales
    ans       (N,)          uint8    the class (galaxies.CLASSES; 0 .. data.classes - 1)
    redshift  (N,)          float64
    ra, dec   (N,)          float64  degrees
    pxscale   (N,)          float64  arcsec per pixel

and SciPerf's additions to it, required in the validation split:

    angle           (N,)            float32  the galaxy's position angle in `images`, degrees
                                             counter-clockwise from horizontal
    images_turned   (N, S, S, 3)    uint8    the same galaxy at angle + 45 degrees
    images_upright  (N, S, S, 3)    uint8    the same galaxy at angle 0

    <data_dir>/train/Galaxy10_DECals.h5        upright galaxies
    <data_dir>/validation/Galaxy10_DECals.h5   the same kinds of galaxies at angles uniform in
                                               [0, 360), with their turned and upright views

The turned and upright images are observations of the same galaxy (same seeing, their own
noise) rendered at their angle rather than interpolated from `images`: interpolation would
smooth the noise and measure the interpolation as much as the model. The reader makes the views
at angle + 90, 135, ..., 315 degrees from these two by quarter turns of the pixel grid (exact).
A site building a validation split from real galaxies writes the same keys (its turned image
then is interpolated).

The reader scales images to [0, 1]. Training batches are (x (B, S, S, 3), class (B,)); with
`data.augmentation: rotations8` (open division only) every training image is turned by a random
multiple of 45 degrees (bilinear) on every pass. Validation batches are (x (B, 9, S, S, 3), y
(B, 2)): each galaxy's views stacked (0-7: at its angle + 0, 45, ..., 315 degrees; 8: upright)
and its class and angle; model.predict folds the views into the batch.
"""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np

from ..common.config import ConfigError, split_counts
from ..common.data import (DataError, hdf5_dataset, open_hdf5, reads_by_file, split_files,
                           written_whole)
from . import galaxies

FILE_NAME = "Galaxy10_DECals.h5"
IMAGES, LABELS, ANGLE = "images", "ans", "angle"
TURNED, UPRIGHT = "images_turned", "images_upright"  # SciPerf's, in the validation split
SPLITS = ("train", "validation")
_SPLIT_STREAM = {"train": 0, "validation": 1}  # mixed into every galaxy's seed
TURNS = 8  # views at 0, 45, ..., 315 degrees
VIEWS = TURNS + 1  # and the upright one
UPRIGHT_VIEW = TURNS
AUGMENTATIONS = ("none", "rotations8")
PIXEL_SCALE_256 = 0.262  # arcsec per pixel of the DECaLS cutouts at 256 x 256
_WRITE_BLOCK = 256  # galaxies rendered per HDF5 write
_CHECK_BLOCK = 4096  # labels read per block


def image_size(cfg: dict) -> int:
    try:
        return int(cfg["image_size"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError("data.image_size: missing or not an integer") from None


def classes(cfg: dict) -> int:
    n = cfg.get("classes", len(galaxies.CLASSES))
    if not isinstance(n, int) or n < 2:
        raise ConfigError(f"data.classes: {n!r} is not a number of classes (2 or more)")
    return n


def augmentation(cfg: dict) -> str:
    a = cfg.get("augmentation", "none")
    if a not in AUGMENTATIONS:
        raise ConfigError(f"data.augmentation: {a!r} is not one of {', '.join(AUGMENTATIONS)}")
    return a


# -- the generator ------------------------------------------------------------------------------

def galaxy(seed: int, split: str, index: int, cfg: dict,
           obs: galaxies.Observing | None = None) -> tuple[np.ndarray, int, float, float]:
    """Galaxy `index` of `split`: (images, class, position angle, redshift). It depends only on
    (seed, split, index), so any process can render any galaxy; classes take turns, so every
    split is balanced. Training: one upright image (1, S, S, 3); validation: three, at the
    angle, at the angle + 45 degrees and upright."""
    obs = obs or galaxies.Observing.from_cfg(cfg.get("observing"))
    rng = np.random.default_rng([seed, _SPLIT_STREAM[split], index])
    label = index % min(classes(cfg), len(galaxies.CLASSES))
    if split == "train":
        angles = [0.0]
    else:
        angle = float(np.float32(rng.uniform(0.0, 360.0)))  # as stored
        angles = [angle, (angle + 45.0) % 360.0, 0.0]
    images, g = galaxies.galaxy_images(rng, label, image_size(cfg), angles, obs)
    return images, label, angles[0], g.redshift


def file_plan(cfg: dict) -> list[tuple[str, Path, int, int]]:
    """(split, file relative to the data folder, first galaxy, end) of every file: data.files
    per split (default 1, named as Galaxy10's one file), galaxies in contiguous blocks. More
    files than ranks let every rank read its own (the harness shards by file)."""
    files = int(cfg.get("files", 1))
    if files < 1:
        raise ConfigError(f"data.files: {files} is not a positive number of files per split")
    plan = []
    for split, n in split_counts(cfg, "images").items():
        if n < files:
            raise ConfigError(f"data.{split}_images: {n} galaxies cannot fill {files} files")
        for i in range(files):
            name = FILE_NAME if files == 1 else f"{Path(FILE_NAME).stem}_{i:03d}.h5"
            plan.append((split, Path(split) / name, i * n // files, (i + 1) * n // files))
    return plan


def generate(out_dir: Path, cfg: dict, seed: int, part: int = 0, parts: int = 1) -> list[Path]:
    """Write this part's files (file j of file_plan when j mod parts is part). Each file is
    written under a temporary name and renamed when complete, so an interrupted run leaves no
    file that looks whole."""
    obs = galaxies.Observing.from_cfg(cfg.get("observing"))
    size = image_size(cfg)
    written = []
    for j, (split, rel, first, end) in enumerate(file_plan(cfg)):
        if j % parts != part:
            continue
        n = end - first
        path = Path(out_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sky = np.random.default_rng([seed, _SPLIT_STREAM[split], 1 << 30, first])
        keys = (IMAGES, TURNED, UPRIGHT) if split == "validation" else (IMAGES,)
        with written_whole(path) as tmp, h5py.File(tmp, "w") as f:
            stored = {key: f.create_dataset(key, shape=(n, size, size, 3), dtype="uint8",
                                            chunks=(1, size, size, 3)) for key in keys}
            labels = np.empty(n, np.uint8)
            angles = np.empty(n, np.float32)
            redshifts = np.empty(n, np.float64)
            for start in range(0, n, _WRITE_BLOCK):
                stop = min(n, start + _WRITE_BLOCK)
                drawn = [galaxy(seed, split, first + k, cfg, obs) for k in range(start, stop)]
                block = np.stack([d[0] for d in drawn])
                for view, key in enumerate(keys):  # at the angle, + 45 degrees, upright
                    stored[key][start:stop] = block[:, view]
                for k, (_, label, angle, z) in enumerate(drawn, start):
                    labels[k], angles[k], redshifts[k] = label, angle, z
            f.create_dataset(LABELS, data=labels)
            f.create_dataset(ANGLE, data=angles)
            f.create_dataset("redshift", data=redshifts)
            f.create_dataset("ra", data=sky.uniform(0.0, 360.0, n))
            # rounded to 1e-7 degrees: libm's arcsin differs in the last bit between CPUs (its
            # FMA path or not), which changed the file's bytes and so the dataset checksum
            f.create_dataset("dec", data=np.round(
                np.degrees(np.arcsin(sky.uniform(-0.3, 1.0, n))), 7))
            f.create_dataset("pxscale", data=np.full(n, PIXEL_SCALE_256 * 256 / size))
        written.append(path)
    return written


# -- the reader ---------------------------------------------------------------------------------

def list_splits(data_dir: Path, cfg: dict) -> dict[str, list[Path]]:
    return split_files(data_dir, SPLITS, ("*.h5",), "a rotation dataset",
                       f"Galaxy10-layout HDF5 files ({FILE_NAME})")


def _read(ds: h5py.Dataset, path: Path, key: str, start: int, stop: int) -> np.ndarray:
    try:
        return ds[start:stop]
    except (OSError, RuntimeError) as e:
        raise DataError(path, f"entries {start}..{stop - 1} cannot be read (truncated or "
                              f"corrupt?): {str(e).splitlines()[0]}", key=key) from None


def is_validation(path: Path) -> bool:
    return Path(path).parent.name == "validation"


def check_file(path: Path, cfg: dict) -> int:
    """Check one Galaxy10-layout file: `images` N x S x S x 3 uint8 and `ans` N labels, each a
    class of this config; in the validation split also `angle` (N position angles in [0, 360)),
    `images_turned` and `images_upright` (N x S x S x 3 each). The last entry of
    each image dataset must be readable (a file cut short fails there or on opening). Returns
    N."""
    path = Path(path)
    size, n_classes = image_size(cfg), classes(cfg)
    with open_hdf5(path) as f:
        images = hdf5_dataset(f, path, IMAGES)
        n = int(images.shape[0]) if images.ndim else 0
        expected = {IMAGES: (size, size, 3)}
        if is_validation(path):
            expected.update({TURNED: (size, size, 3), UPRIGHT: (size, size, 3)})
        for key, shape in expected.items():
            ds = hdf5_dataset(f, path, key)
            if ds.dtype != np.uint8 or ds.shape != (n,) + shape:
                raise DataError(path, f"{ds.dtype} {ds.shape}, expected uint8 "
                                      f"{(n,) + shape} at this scale", key=key)
            if n == 0:
                raise DataError(path, "holds no images", key=key)
            _read(ds, path, key, n - 1, n)
        labels = hdf5_dataset(f, path, LABELS)
        if labels.shape != (n,) or labels.dtype.kind not in "iu":
            raise DataError(path, f"{labels.dtype} {labels.shape}, expected {n} integer "
                                  "labels, one per image", key=LABELS)
        for start in range(0, n, _CHECK_BLOCK):
            block = _read(labels, path, LABELS, start, min(n, start + _CHECK_BLOCK))
            bad = (block < 0) | (block >= n_classes)
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(path, f"label {int(block[i])} of image {start + i} is not a "
                                      f"class (0 .. {n_classes - 1})", key=LABELS)
        if is_validation(path):
            angles = hdf5_dataset(f, path, ANGLE)
            if angles.shape != (n,):
                raise DataError(path, f"shape {angles.shape}, expected ({n},): one position "
                                      "angle per image", key=ANGLE)
            a = _read(angles, path, ANGLE, 0, n)
            bad = ~(np.isfinite(a) & (a >= 0) & (a < 360))
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(path, f"angle {a[i]} of image {i} is not in [0, 360)",
                                key=ANGLE)
    return n


class Reader:
    """Random access to the images (with `views`: every view), labels and angles of several
    files. Files open on first use and stay open."""

    def __init__(self, files: list[Path], cfg: dict, views: bool = False):
        self.size, self.views = image_size(cfg), views
        self.files = [Path(f) for f in files]
        self.counts = [check_file(f, cfg) for f in self.files]
        self.offsets = np.cumsum([0] + self.counts)
        self._open: dict[int, h5py.File] = {}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _file(self, i: int) -> h5py.File:
        if i not in self._open:
            self._open[i] = open_hdf5(self.files[i])
        return self._open[i]

    def read(self, indices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(images float32 in [0, 1]: B x S x S x 3, or with views B x VIEWS x S x S x 3;
        labels int32; angles float32, 0 where the file has none) in the order given."""
        indices = np.asarray(indices, dtype=np.int64)
        s = self.size
        x = np.empty((len(indices),) + ((VIEWS,) if self.views else ()) + (s, s, 3), np.float32)
        labels = np.empty(len(indices), np.int32)
        angles = np.zeros(len(indices), np.float32)
        for i, at, unique, inverse in reads_by_file(self.offsets, indices):
            f = self._file(i)
            if self.views:
                # views 2t and 2t + 1: the image and the one turned by 45 degrees, t quarter
                # turns further
                for key, first in ((IMAGES, 0), (TURNED, 1)):
                    images = f[key][unique][inverse]
                    for t in range(TURNS // 2):
                        x[at, first + 2 * t] = np.rot90(images, t, axes=(1, 2))
                x[at, UPRIGHT_VIEW] = f[UPRIGHT][unique][inverse]
            else:
                x[at] = f[IMAGES][unique][inverse]
            labels[at] = f[LABELS][unique][inverse]
            if ANGLE in f:
                angles[at] = f[ANGLE][unique][inverse]
        x /= np.float32(255.0)
        return x, labels, angles

    def close(self) -> None:
        for f in self._open.values():
            f.close()
        self._open.clear()


# -- turning training images (augmentation; TensorFlow, so it runs in C++) ---------------------

def rotation_transforms(angles_deg, size: int):
    """ImageProjectiveTransformV3 transforms (B, 8) that turn S x S images counter-clockwise by
    angles_deg about the pixel grid's centre; quarter turns take exact cosines and sines, so
    they move pixels without interpolating."""
    import tensorflow as tf

    a = tf.cast(angles_deg, tf.float32)
    quarter = tf.math.round(a / 90.0)
    exact = tf.abs(a - 90.0 * quarter) < 1e-6
    rad = a * (math.pi / 180.0)
    k = tf.math.floormod(tf.cast(quarter, tf.int32), 4)
    cos = tf.where(exact, tf.gather(tf.constant([1.0, 0.0, -1.0, 0.0]), k), tf.cos(rad))
    sin = tf.where(exact, tf.gather(tf.constant([0.0, 1.0, 0.0, -1.0]), k), tf.sin(rad))
    c = (size - 1) / 2.0
    # output (column, row) samples the input at the point turned back by the angle
    zero = tf.zeros_like(cos)
    return tf.stack([cos, -sin, c * (1 - cos + sin), sin, cos, c * (1 - sin - cos),
                     zero, zero], axis=-1)


def rotate(images, angles_deg):
    """Turn each image of a batch (B, S, S, C) by its angle (bilinear; borders reflected)."""
    import tensorflow as tf

    size = int(images.shape[1])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=rotation_transforms(angles_deg, size),
        output_shape=tf.constant([size, size]), fill_value=0.0, interpolation="BILINEAR",
        fill_mode="REFLECT")


def make_dataset(files: list[Path], cfg: dict, *, batch_size: int, training: bool,
                 shuffle_seed: int | None):
    """Training: (x (B, S, S, 3), class (B,)) shuffled from shuffle_seed anew on every pass,
    full batches only, turned by random multiples of 45 degrees under data.augmentation
    rotations8. Evaluation: (views (B, VIEWS, S, S, 3), [class, angle] (B, 2)) in file order.
    Reads lazily by index, so no split has to fit in memory."""
    import tensorflow as tf

    reader = Reader(files, cfg, views=not training)
    size = reader.size
    ds = tf.data.Dataset.range(len(reader))
    if training:
        ds = ds.shuffle(len(reader), seed=shuffle_seed, reshuffle_each_iteration=True)
    turning = training and augmentation(cfg) == "rotations8"
    if turning:
        # a turn per image per pass, from a stream drawn anew on every pass
        turns = tf.data.Dataset.random(seed=None if shuffle_seed is None else shuffle_seed + 1,
                                       rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, turns.map(lambda r: r % TURNS)))
    else:
        ds = ds.map(lambda i: (i, tf.zeros((), tf.int64)))
    ds = ds.batch(batch_size, drop_remainder=training)
    shape = (size, size, 3) if training else (VIEWS, size, size, 3)

    def load(indices, turn):
        x, labels, angles = tf.numpy_function(reader.read, [indices],
                                              [tf.float32, tf.int32, tf.float32],
                                              stateful=False)
        x = tf.ensure_shape(x, (None,) + shape)
        labels, angles = tf.ensure_shape(labels, (None,)), tf.ensure_shape(angles, (None,))
        if turning:
            return rotate(x, tf.cast(turn, tf.float32) * (360.0 / TURNS)), labels
        if training:
            return x, labels
        return x, tf.stack([tf.cast(labels, tf.float32), angles], axis=1)

    return ds.map(load).prefetch(2)
