"""What every benchmark's data module shares: the error type, listing the split folders and
sharding by rank."""

from __future__ import annotations

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


def files_below(entries: list[Path]) -> list[Path]:
    """The files a split's entries stand for: a file itself, or every file below an entry that
    is a folder of files that belong together (EM denoise's noisy and clean pair)."""
    return [p for e in map(Path, entries) for p in (sorted(e.rglob("*")) if e.is_dir() else [e])
            if p.is_file()]
