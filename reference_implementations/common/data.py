"""What every benchmark's data module shares: the error type and sharding by rank."""

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
