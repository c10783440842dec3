"""shapes3d data: DeepMind's 3dshapes grid rendered by render.py, and the reader of its `.h5`.

The published dataset is one HDF5 file, `3dshapes.h5`, holding the whole grid (10 floor hues x
10 wall hues x 10 object hues x 8 scales x 4 shapes x 15 orientations = 480,000 images) in C
order:

    images   N x 64 x 64 x 3 uint8
    labels   N x 6 float64, in this order: floor_hue, wall_hue, object_hue (0 .. 0.9, 10
             values), scale (0.75 .. 1.25, 8 values), shape (0 cube, 1 cylinder, 2 sphere,
             3 capsule), orientation (-30 .. 30 degrees, 15 values)

SciPerf writes a scale as `train/3dshapes.h5` and `validation/3dshapes.h5` in that layout with
the split's rows (disjoint samples of the scale's grid, disentangle/grid.py), streamed in
chunks. The reader takes any file in the layout; one that holds the scale's whole grid (the
published file, linked into both folders) is read as its split's rows.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..common.data import DataError
from ..common.progress import Progress
from ..disentangle import reading
from ..disentangle.grid import (FactorGrid, generate_splits, list_split_files,
                                rows_of_split, split_seed)
from . import render

FILE_NAME = "3dshapes.h5"
GRID = FactorGrid(
    ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"),
    (np.linspace(0.0, 0.9, 10), np.linspace(0.0, 0.9, 10), np.linspace(0.0, 0.9, 10),
     np.linspace(0.75, 1.25, 8), np.arange(4.0), np.linspace(-30.0, 30.0, 15)))
FACTORS = GRID.names
_CHUNK = 2048  # images rendered and written at a time
_CHECK_BLOCK = 4096


def write_split(path: Path, flat: np.ndarray, progress: Progress) -> None:
    """Render the grid points `flat` into one .h5 in the published layout, chunk by chunk."""
    labels = GRID.factor_values(GRID.classes(flat))
    with h5py.File(path, "w") as f:
        images = f.create_dataset("images", shape=(len(flat), render.SIZE, render.SIZE, 3),
                                  dtype="uint8")
        f.create_dataset("labels", data=labels)
        for start in range(0, len(flat), _CHUNK):
            stop = min(len(flat), start + _CHUNK)
            images[start:stop] = render.image(labels[start:stop])
            progress.update(stop)


def generate(out_dir: Path, cfg: dict, seed: int, part: int = 0, parts: int = 1) -> list[Path]:
    """Write this part's share of the two split files (train, validation)."""
    return generate_splits(out_dir, GRID, cfg, seed, part, parts, FILE_NAME, write_split,
                           "shapes3d")


def list_splits(data_dir: Path, cfg: dict) -> dict[str, list[Path]]:
    return list_split_files(data_dir, FILE_NAME)


def _open(path: Path, cfg: dict):
    """(h5 file, images dataset, labels, rows of this split), checked (not the pixels)."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except OSError as e:
        raise DataError(path, f"cannot be read as HDF5 (truncated or corrupt?): {e}") from None
    try:
        for key in ("images", "labels"):
            if not isinstance(f.get(key), h5py.Dataset):
                raise DataError(path, f"missing or not a dataset (found: "
                                      f"{', '.join(sorted(f.keys())) or 'nothing'})", key=key)
        images = f["images"]
        if images.ndim != 4 or images.shape[1:] != (render.SIZE, render.SIZE, 3) or \
                images.dtype != np.uint8:
            raise DataError(path, f"shape {images.shape} {images.dtype}, expected (N, 64, 64, 3) "
                                  "uint8", key="images")
        n = images.shape[0]
        if n == 0:
            raise DataError(path, "holds no images", key="images")
        try:
            labels = np.asarray(f["labels"][()], dtype=np.float64)
        except (OSError, TypeError, ValueError) as e:
            raise DataError(path, f"cannot be read as numbers: {e}", key="labels") from None
        if labels.shape != (n, len(GRID.names)):
            raise DataError(path, f"shape {labels.shape}, expected ({n}, {len(GRID.names)}): "
                                  f"one row of {', '.join(GRID.names)} per image", key="labels")
        classes = GRID.classes_of_values(labels) if np.isfinite(labels).all() else None
        if classes is None:
            bad = next(i for i, row in enumerate(labels) if not np.isfinite(row).all()
                       or GRID.classes_of_values(row[None]) is None)
            raise DataError(path, f"row {bad}: {labels[bad].tolist()} is not a point of the "
                                  "3dshapes grid", key="labels")
        flat = np.ravel_multi_index(classes.T, GRID.sizes)
        rows = rows_of_split(GRID, flat, cfg, split_seed(cfg), path.parent.name)
        return f, images, labels, np.arange(n) if rows is None else rows
    except BaseException:
        f.close()
        raise


def check_file(path: Path, cfg: dict) -> int:
    """Check one split file (keys, shapes, dtypes, every label a grid point, every image
    readable); return the number of images its split reads."""
    f, images, _, rows = _open(path, cfg)
    with f:
        for start in range(0, images.shape[0], _CHECK_BLOCK):
            try:
                images[start:start + _CHECK_BLOCK]
            except OSError as e:
                raise DataError(path, f"images {start}..: cannot be read (truncated or "
                                      f"corrupt?): {e}", key="images") from None
    return len(rows)


def reader(files: list[Path], cfg: dict) -> reading.SplitReader:
    """Files stay open for the reader's life (h5py reads the rows a batch asks for)."""
    parts = [_open(f, cfg)[1:] for f in files]
    return reading.SplitReader(parts, (render.SIZE, render.SIZE, 3), len(FACTORS), 1.0 / 255.0)


def make_dataset(files: list[Path], cfg: dict, *, batch_size: int, training: bool,
                 shuffle_seed: int | None):
    """Training: (x, x), x N x 64 x 64 x 3 float32 in [0, 1]; evaluation: (x, factors), the 6
    labels. See disentangle/reading.py."""
    return reading.make_dataset(reader(files, cfg), batch_size=batch_size, training=training,
                                shuffle_seed=shuffle_seed)
