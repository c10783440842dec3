"""dsprites data: DeepMind's dSprites grid rendered by sprites.py, and the reader of its `.npz`.

The published dataset is one file, `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`, holding
the whole grid (1 colour x 3 shapes x 6 scales x 40 orientations x 32 x 32 positions = 737,280
images) in C order:

    imgs             N x 64 x 64 uint8, 0 and 1
    latents_values   N x 6 float64: color (1), shape (1, 2, 3), scale (0.5 .. 1, 6 values),
                     orientation (0 .. 2 pi, 40 values), posX, posY (0 .. 1, 32 values)
    latents_classes  N x 6 int64: each value's index
    metadata         a pickled dict (latents_names, latents_sizes, latents_possible_values, ...)

SciPerf writes a scale as `train/` and `validation/` folders each holding a file of that name
and layout with the split's rows (disjoint samples of the scale's grid, grid.py), stored
uncompressed with fixed zip timestamps so the bytes, and the manifest's checksum, are the same
on every machine. The reader takes any file in the layout; one that holds the scale's whole
grid (the published file, linked into both folders) is read as its split's rows.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..common.data import DataError
from ..common.progress import Progress
from ..disentangle import reading
from ..disentangle.grid import (FactorGrid, generate_splits, list_split_files,
                                rows_of_split, split_seed)
from . import sprites

FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
GRID = FactorGrid(
    ("color", "shape", "scale", "orientation", "posX", "posY"),
    (np.array([1.0]), np.array([1.0, 2.0, 3.0]), np.linspace(0.5, 1.0, 6),
     np.linspace(0.0, 2 * np.pi, 40), np.linspace(0.0, 1.0, 32), np.linspace(0.0, 1.0, 32)))
FACTORS = GRID.names[1:]  # the factors that vary (colour is constant): the metrics' columns
KEYS = ("imgs", "latents_values", "latents_classes")
_CHUNK = 4096  # images rendered and written at a time
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _metadata(label: str, n: int) -> dict:
    return {"title": "dSprites (SciPerf synthetic)", "version": 1,
            "description": f"SciPerf {label}: {n} images of the dSprites grid",
            "latents_names": GRID.names, "latents_sizes": np.array(GRID.sizes),
            "latents_possible_values": dict(zip(GRID.names, GRID.values)),
            "author": "SciPerf"}


def _member(zf: zipfile.ZipFile, name: str):
    info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return zf.open(info, "w", force_zip64=True)


def write_split(path: Path, flat: np.ndarray, progress: Progress) -> None:
    """Render the grid points `flat` into one .npz in the published layout, streaming the
    images chunk by chunk."""
    classes = GRID.classes(flat)
    values = GRID.factor_values(classes)
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        with _member(zf, "imgs") as f:
            np.lib.format.write_array_header_1_0(f, {
                "descr": "|u1", "fortran_order": False,
                "shape": (len(flat), sprites.SIZE, sprites.SIZE)})
            for start in range(0, len(flat), _CHUNK):
                v = values[start:start + _CHUNK]
                f.write(sprites.render(v[:, 1].astype(int) - 1, v[:, 2], v[:, 3], v[:, 4],
                                       v[:, 5]).tobytes())
                progress.update(min(start + _CHUNK, len(flat)))
        for name, array in (("latents_values", values), ("latents_classes", classes)):
            with _member(zf, name) as f:
                np.lib.format.write_array(f, array)
        with _member(zf, "metadata") as f:
            np.lib.format.write_array(f, np.array(_metadata(progress.label, len(flat)),
                                                  dtype=object), allow_pickle=True)


def generate(out_dir: Path, cfg: dict, seed: int, part: int = 0, parts: int = 1) -> list[Path]:
    """Write this part's share of the two split files (train, validation)."""
    return generate_splits(out_dir, GRID, cfg, seed, part, parts, FILE_NAME, write_split,
                           "dsprites")


def list_splits(data_dir: Path, cfg: dict) -> dict[str, list[Path]]:
    return list_split_files(data_dir, FILE_NAME)


def _open(path: Path, cfg: dict, check_images: bool):
    """(imgs, latents_values, rows of this split) of one file, checked."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(path, f"cannot be read as .npz (truncated or corrupt?): {e}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise DataError(path, "is a single .npy array, expected the dSprites .npz archive")
    with data:
        for key in KEYS:
            if key not in data.files:
                raise DataError(path, f"missing (found: {', '.join(data.files) or 'nothing'})",
                                key=key)
        try:
            imgs, values, classes = (data[k] for k in KEYS)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise DataError(path, f"cannot be read (truncated or corrupt?): {e}") from None
    n = len(imgs)
    if imgs.ndim != 3 or imgs.shape[1:] != (sprites.SIZE, sprites.SIZE) or imgs.dtype.kind \
            not in "biu":
        raise DataError(path, f"shape {imgs.shape} {imgs.dtype}, expected (N, 64, 64) integers",
                        key="imgs")
    if n == 0:
        raise DataError(path, "holds no images", key="imgs")
    for key, a in (("latents_values", values), ("latents_classes", classes)):
        if a.shape != (n, len(GRID.names)):
            raise DataError(path, f"shape {a.shape}, expected ({n}, {len(GRID.names)}): one row "
                                  "of the 6 latents per image", key=key)
    if classes.dtype.kind not in "iu" or (classes < 0).any() or \
            (classes >= np.array(GRID.sizes)).any():
        raise DataError(path, f"class indices outside the grid {GRID.sizes}",
                        key="latents_classes")
    off = np.flatnonzero(np.abs(GRID.factor_values(classes) - values).max(axis=1) > 1e-6)
    if off.size:
        raise DataError(path, f"row {off[0]}: {values[off[0]].tolist()} are not the grid values "
                              f"of its classes {classes[off[0]].tolist()}",
                        key="latents_values")
    if check_images and imgs.max() > 1:
        raise DataError(path, f"image {int(np.argmax(imgs.reshape(n, -1).max(axis=1) > 1))} "
                              "holds values other than 0 and 1", key="imgs")
    flat = np.ravel_multi_index(classes.T, GRID.sizes)
    rows = rows_of_split(GRID, flat, cfg, split_seed(cfg), path.parent.name)
    return imgs, values, np.arange(n) if rows is None else rows


def check_file(path: Path, cfg: dict) -> int:
    """Check one split file (keys, shapes, dtypes, binary images, latents on the grid and
    consistent with their classes); return the number of images its split reads."""
    return len(_open(path, cfg, check_images=True)[2])


def reader(files: list[Path], cfg: dict) -> reading.SplitReader:
    parts = [_open(f, cfg, check_images=False) for f in files]
    return reading.SplitReader([(im, v[:, 1:], rows) for im, v, rows in parts],
                               (sprites.SIZE, sprites.SIZE, 1), len(FACTORS), 1.0)


def make_dataset(files: list[Path], cfg: dict, *, batch_size: int, training: bool,
                 shuffle_seed: int | None):
    """Training: (x, x), x N x 64 x 64 x 1 float32 of 0 and 1; evaluation: (x, factors), the
    5 varying latents (shape, scale, orientation, posX, posY). See disentangle/reading.py."""
    return reading.make_dataset(reader(files, cfg), batch_size=batch_size, training=training,
                                shuffle_seed=shuffle_seed)
