"""The factor grid of a dataset with known factors, what its scales keep of it, and the split
of a scale's grid into disjoint training and validation samples (dsprites and shapes3d).

A published dataset (dSprites, 3dshapes) is its whole grid, every combination of factor values
once, in C order (the first factor varying slowest) and without a split. A scale keeps every
s-th value of each factor (`data.grid`, s per factor) and draws `train_images` and
`validation_images` distinct points of that grid from the scale's seed; both splits are
written in the grid's order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.config import ConfigError
from ..common.data import DataError
from ..common.progress import Progress

SPLITS = ("train", "validation")
_SPLIT_STREAM = 0xD15E  # mixed into the seed of the split draw


@dataclass(frozen=True)
class FactorGrid:
    names: tuple[str, ...]  # in the published column order
    values: tuple[np.ndarray, ...]  # each factor's values, in class order

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)

    @property
    def size(self) -> int:
        return int(np.prod(self.sizes))

    def strides(self, cfg: dict) -> tuple[int, ...]:
        """`data.grid`: {factor: every s-th value kept}; a factor not named keeps all."""
        raw = cfg.get("grid") or {}
        unknown = set(raw) - set(self.names)
        if unknown:
            raise ConfigError(f"data.grid: unknown factor(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(self.names)}")
        out = []
        for name, size in zip(self.names, self.sizes):
            s = raw.get(name, 1)
            if not isinstance(s, int) or isinstance(s, bool) or not 1 <= s <= size:
                raise ConfigError(f"data.grid.{name}: every s-th value, s a whole number in "
                                  f"1..{size}, not {s!r}")
            out.append(s)
        return tuple(out)

    def subgrid(self, cfg: dict) -> np.ndarray:
        """Flat (published) indices of the scale's grid points, increasing."""
        kept = [np.arange(0, size, s) for size, s in zip(self.sizes, self.strides(cfg))]
        mesh = np.meshgrid(*kept, indexing="ij")
        return np.ravel_multi_index([m.ravel() for m in mesh], self.sizes)

    def classes(self, flat: np.ndarray) -> np.ndarray:
        return np.stack(np.unravel_index(flat, self.sizes), axis=1).astype(np.int64)

    def factor_values(self, classes: np.ndarray) -> np.ndarray:
        return np.stack([v[classes[:, i]] for i, v in enumerate(self.values)], axis=1)

    def classes_of_values(self, values: np.ndarray) -> np.ndarray | None:
        """Class index of every value, or None where a row holds a value off the grid."""
        out = np.empty(values.shape, dtype=np.int64)
        for i, v in enumerate(self.values):
            idx = np.clip(np.searchsorted(v, values[:, i]), 1, len(v) - 1) if len(v) > 1 \
                else np.zeros(len(values), dtype=np.int64)
            lower = np.clip(idx - 1, 0, None)
            pick = np.where(np.abs(v[lower] - values[:, i]) <= np.abs(v[idx] - values[:, i]),
                            lower, idx)
            if np.any(np.abs(v[pick] - values[:, i]) > 1e-6 * max(1.0, np.ptp(v))):
                return None
            out[:, i] = pick
        return out


def split_counts(cfg: dict) -> dict[str, int]:
    try:
        return {"train": int(cfg["train_images"]), "validation": int(cfg["validation_images"])}
    except (KeyError, TypeError, ValueError):
        raise ConfigError("data.train_images and data.validation_images: missing or not "
                          "integers") from None


def split_indices(grid: FactorGrid, cfg: dict, seed: int) -> dict[str, np.ndarray]:
    """{split: flat indices, increasing}: disjoint random samples of the scale's grid."""
    points = grid.subgrid(cfg)
    counts = split_counts(cfg)
    if min(counts.values()) < 1 or sum(counts.values()) > len(points):
        raise ConfigError(f"data: {counts['train']} training + {counts['validation']} "
                          f"validation images must be at least 1 each and fit in the scale's "
                          f"grid of {len(points)} points")
    order = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(len(points))
    n_val = counts["validation"]
    return {"validation": np.sort(points[order[:n_val]]),
            "train": np.sort(points[order[n_val:n_val + counts["train"]]])}


def rows_of_split(grid: FactorGrid, flat: np.ndarray, cfg: dict, seed: int,
                  split: str) -> np.ndarray | None:
    """A file that holds every point of the scale's grid (the published dataset, which has no
    split) is read as its split's rows: the indices of the rows whose points the split draws.
    None for a file that holds a split already (read whole)."""
    points = grid.subgrid(cfg)
    if len(flat) < len(points) or not np.isin(points, flat).all():
        return None
    order = np.argsort(flat, kind="stable")
    wanted = split_indices(grid, cfg, seed)[split]
    return np.sort(order[np.searchsorted(flat[order], wanted)])


def split_seed(cfg: dict) -> int:
    """`data.split_seed`: the seed the reader draws a published whole-grid file's split with
    (the scale's seed, which the generator draws it with)."""
    try:
        return int(cfg["split_seed"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError("data.split_seed: missing or not an integer (the seed of the "
                          "train/validation draw; the scale's seed)") from None


def generate_splits(out_dir: Path, grid: FactorGrid, cfg: dict, seed: int, part: int,
                    parts: int, file_name: str, write_split, label: str) -> list[Path]:
    """This part's share of the two split files (split i goes to part i % parts):
    `write_split(path, flat indices, progress)` writes one, to a temporary name renamed when
    complete, so an interrupted run leaves no file that looks whole."""
    indices = split_indices(grid, cfg, seed)
    written = []
    for i, split in enumerate(SPLITS):
        if i % parts != part:
            continue
        path = Path(out_dir) / split / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        progress = Progress(f"{label} {split}", len(indices[split]))
        try:
            write_split(tmp, indices[split], progress)
        except BaseException:
            tmp.unlink(missing_ok=True)  # the manifest hashes every file in the folder
            raise
        os.replace(tmp, path)
        progress.close()
        written.append(path)
    return written


def list_split_files(data_dir: Path, file_name: str) -> dict[str, list[Path]]:
    """{split: [data_dir/split/file_name]}, or DataError naming the missing file (with how to
    use a published file that lies in data_dir itself)."""
    data_dir = Path(data_dir)
    out = {}
    for split in SPLITS:
        path = data_dir / split / file_name
        if not path.is_file():
            hint = (" (the published file holds no split: link it into train/ and validation/,"
                    " and each reads its own rows)") if (data_dir / file_name).is_file() else ""
            raise DataError(path, f"missing: the {split} split is {split}/{file_name}{hint}")
        out[split] = [path]
    return out
