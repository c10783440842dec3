"""`make bench`: every perf script under tools/perf/, one after the other, in one run. Each
prints its figures beside its baseline; this only runs them and reports any that failed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tools.perf.measure import ROOT, bench_env

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    only = set(argv)
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not only or p.stem[6:] in only)
    failed = []
    for script in scripts:
        print(f"\n### {script.stem}", flush=True)
        start = time.perf_counter()
        rc = subprocess.run([sys.executable, "-m", f"tools.perf.{script.stem}"], cwd=ROOT,
                            env=bench_env()).returncode
        print(f"({script.stem}: {time.perf_counter() - start:.0f} s, exit {rc})", flush=True)
        if rc:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
