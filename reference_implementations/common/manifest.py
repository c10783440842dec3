"""Dataset manifests: per-file sha256 written beside the data by the generator, verified before
the clock starts. The manifest's own sha256 is the dataset checksum a log carries, so the checker
can tell the official data from any other."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sciperf.vocab import MANIFEST_NAME

from .data import DataError

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(data_dir: Path, benchmark: str, scale: str, seed: int) -> str:
    """Hash every data file below data_dir into MANIFEST.json; return the manifest checksum."""
    data_dir = Path(data_dir)
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    manifest = {
        "benchmark": benchmark,
        "scale": scale,
        "seed": seed,
        "files": {p.relative_to(data_dir).as_posix(): file_sha256(p) for p in files},
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    (data_dir / MANIFEST_NAME).write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def verify_manifest(data_dir: Path, files: list[Path]) -> str | None:
    """Check the files a run reads against data_dir's manifest; return the manifest checksum,
    or None when the folder has no manifest (real data as published). A file missing from the
    manifest or whose hash differs raises DataError naming it."""
    path = Path(data_dir) / MANIFEST_NAME
    if not path.exists():
        return None
    raw = path.read_bytes()
    try:
        listed = json.loads(raw)["files"]
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(path, f"not a SciPerf manifest ({e}); regenerate the data") from None
    for f in files:
        rel = Path(f).relative_to(data_dir).as_posix()
        if rel not in listed:
            raise DataError(f, f"not listed in {MANIFEST_NAME}; the data folder holds a file "
                               "the generator did not write")
        if file_sha256(Path(f)) != listed[rel]:
            raise DataError(f, f"sha256 differs from {MANIFEST_NAME}: the file is corrupt or was "
                               "modified; regenerate it with `sciperf data generate`")
    return hashlib.sha256(raw).hexdigest()
