"""`sciperf data generate`: run a benchmark's deterministic generator (split across worker
processes by file index), then write the manifest the runs verify before the clock starts."""

from __future__ import annotations

import importlib
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .config import load_config
from .manifest import write_manifest


def _part(benchmark: str, scale: str, out: str, seed: int, part: int, parts: int,
          overrides: tuple[str, ...]) -> int:
    cfg = load_config(benchmark, scale, overrides=overrides)
    data = importlib.import_module(f"reference_implementations.{benchmark}.data")
    return len(data.generate(Path(out), cfg.data, seed, part=part, parts=parts))


def generate(benchmark: str, scale: str, out: Path, seed: int | None = None, workers: int = 1,
             overrides: tuple[str, ...] = ()) -> tuple[str, int, float]:
    """Generate the dataset into `out`; return (manifest checksum, files written, seconds)."""
    cfg = load_config(benchmark, scale, overrides=overrides)
    seed = cfg.seed if seed is None else seed
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if workers <= 1:
        n = _part(benchmark, scale, str(out), seed, 0, 1, overrides)
    else:
        with ProcessPoolExecutor(workers) as pool:
            jobs = [pool.submit(_part, benchmark, scale, str(out), seed, i, workers, overrides)
                    for i in range(workers)]
            n = sum(j.result() for j in jobs)
    checksum = write_manifest(out, benchmark, cfg.scale, seed)
    return checksum, n, time.perf_counter() - start
