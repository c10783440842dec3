"""Calibration evidence from reference runs: for each log, its seed, the first epoch at which
each candidate target is reached, the last and best metric and the time to train; then epochs
to each target as min / median / max over the runs, and how many runs reached it. rules.md's
calibration tables are this tool's Markdown output.

    sciperf run cloudmask --np 2 --scale tiny --runs 5 --seed 101 --out runs/cm \\
        --set train.target=0.999 --set train.max_epochs=15   # whole trajectories
    python -m tools.calibrate runs/cm --target 0.95 --target 0.96 [--markdown]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path


from compliance.parser import parse_file
from sciperf import vocab as K


def trajectory(path: Path) -> dict | None:
    """seed, benchmark, [(epoch, metric)], run_start..run_stop minutes of one log; None for a
    log that is not a whole run (still being written, or crashed before run_start)."""
    recs = parse_file(path).records
    first = {r.key: r for r in reversed(recs)}  # the first record of each key
    bench = K.BENCHMARKS.get(first[K.SUBMISSION_BENCHMARK].value) \
        if K.SUBMISSION_BENCHMARK in first else None
    if bench is None or K.RUN_START not in first or K.RUN_STOP not in first:
        print(f"{path}: skipped: not a whole SciPerf run (benchmark, run_start, run_stop)",
              file=sys.stderr)
        return None
    evals = [(r.metadata.get(K.EPOCH_NUM), r.value) for r in recs if r.key == bench.metric_key]
    minutes = (first[K.RUN_STOP].time_ms - first[K.RUN_START].time_ms) / 60_000
    return {"path": path, "bench": bench, "seed": first[K.SEED].value if K.SEED in first else None,
            "evals": evals, "minutes": minutes}


def epochs_to(run: dict, target: float) -> int | None:
    return next((e for e, v in run["evals"] if run["bench"].reached(v, target)), None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.calibrate", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", type=Path, help="result logs or folders of them")
    p.add_argument("--target", type=float, action="append", required=True,
                   help="a candidate target (repeatable)")
    p.add_argument("--markdown", action="store_true", help="a Markdown table (for rules.md)")
    a = p.parse_args(argv)
    logs = sorted(f for path in a.paths
                  for f in (path.rglob("result_*.txt") if path.is_dir() else [path]))
    if not logs:
        raise SystemExit("no result_*.txt logs found")
    runs = [r for r in map(trajectory, logs) if r is not None]
    if not runs:
        raise SystemExit("no whole run among the logs")
    higher = runs[0]["bench"].higher_is_better
    best = max if higher else min
    head = ["seed"] + [f"epochs to {t:g}" for t in a.target] + ["epochs run", "last", "best",
                                                                "minutes"]
    rows = []
    for r in runs:
        values = [v for _, v in r["evals"]]
        rows.append([str(r["seed"])] + [str(epochs_to(r, t) or "-") for t in a.target] +
                    [str(len(values)), f"{values[-1]:.4f}" if values else "-",
                     f"{best(values):.4f}" if values else "-", f"{r['minutes']:.2f}"])
    summary = ["min / median / max"]
    for t in a.target:
        reached = [n for n in (epochs_to(r, t) for r in runs) if n is not None]
        summary.append(f"{min(reached)} / {statistics.median(reached):g} / {max(reached)} "
                       f"({len(reached)} of {len(runs)})" if reached else f"0 of {len(runs)}")
    summary += ["", "", "", ""]
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + " --- |" * len(head))
        for row in rows + [summary]:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *rows, summary)]
        for row in [head] + rows + [summary]:
            print("  ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
