"""What every benchmark's data module shares: the error type, listing the split folders,
sharding by rank, writing a file whole, and opening HDF5 files with errors that name file and
key."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


class DataError(Exception):
    """Bad or missing input data. Always names the file (and the record or dataset key)."""

    def __init__(self, path: str | Path, message: str, key: str | None = None):
        self.path = str(path)
        self.key = key
        self.message = message
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + message)


def shard_files(files: list[Path], rank: int, size: int) -> list[Path] | None:
    """This rank's files when there are enough files to give every rank at least one
    (round-robin, so shards differ in size by one file at most); None when records must be
    sharded instead (fewer files than ranks)."""
    if len(files) >= size:
        return files[rank::size]
    return None


def split_files(data_dir: str | Path, splits: tuple[str, ...], patterns: tuple[str, ...],
                dataset: str, kind: str) -> dict[str, list[Path]]:
    """{split: sorted files matching any pattern in data_dir/split}; a missing or empty folder
    is a DataError naming it. `dataset` and `kind` word the error ("a CosmoFlow dataset has
    train and validation folders of <kind>")."""
    out = {}
    for split in splits:
        folder = Path(data_dir) / split
        if not folder.is_dir():
            raise DataError(folder, f"missing: {dataset} has {' and '.join(splits)} folders of "
                                    f"{kind}")
        files = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
        if not files:
            raise DataError(folder, f"holds no {kind}")
        out[split] = files
    return out


@contextmanager
def written_whole(path: Path):
    """Yield a temporary name beside `path` to write to; it becomes `path` when the block ends
    and is deleted when it fails, so an interrupted generator leaves no file that looks whole
    (and none that the manifest would hash)."""
    tmp = Path(path).with_name(Path(path).name + ".partial")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def open_hdf5(path: str | Path):
    """An HDF5 file open for reading; DataError naming it when it is missing, truncated or not
    HDF5."""
    import h5py

    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except OSError as e:  # truncated, not HDF5, unreadable
        raise DataError(path, "cannot be read as HDF5 (truncated or corrupt?): "
                              f"{str(e).splitlines()[0]}") from None


def hdf5_dataset(f, path: str | Path, key: str):
    """Dataset `key` of an open file; DataError naming file and key when it is absent or a
    group."""
    import h5py

    if key not in f:
        raise DataError(path, f"no dataset {key!r} (found: "
                              f"{', '.join(sorted(f.keys())) or 'nothing'})", key=key)
    ds = f[key]
    if not isinstance(ds, h5py.Dataset):
        raise DataError(path, "is a group, expected a dataset", key=key)
    return ds


def reads_by_file(offsets, indices):
    """Global indices into files laid end to end (offsets: 0 and the running totals of their
    sample counts), as reads per file: yield (file, at, unique, inverse), file `file` read at
    the increasing, distinct local indices `unique` (what h5py wants), then `read[inverse]`
    holding the samples for output positions `at`."""
    import numpy as np

    indices = np.asarray(indices, dtype=np.int64)
    which = np.searchsorted(offsets, indices, side="right") - 1
    for i in np.unique(which):
        positions = np.flatnonzero(which == i)
        local = indices[positions] - offsets[i]
        order = np.argsort(local)
        unique, inverse = np.unique(local[order], return_inverse=True)
        yield int(i), positions[order], unique, inverse
def files_below(entries: list[Path]) -> list[Path]:
    """The files a split's entries stand for: a file itself, or every file below an entry that
    is a folder of files that belong together (EM denoise's noisy and clean pair)."""
    return [p for e in map(Path, entries) for p in (sorted(e.rglob("*")) if e.is_dir() else [e])
            if p.is_file()]
