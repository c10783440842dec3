"""`sciperf report` against mlperf-logging's result_summarizer over the MLPerf HPC v2.0 corpus.

In one run, on one copy of the corpus (the summarizer writes scaling.json files into the tree it
reads, so it never gets the shared one):

- ours: `sciperf report COPY --ruleset hpc-2.0.0 --out DIR` as a user runs it, a fresh process,
  the compliance checks (every log) and the package checks (every org) included;
- baseline: `python -m mlperf_logging.result_summarizer COPY/ORG hpc 2.0.0 --csv ...` for each
  submitter, one after the other (it takes one submission at a time), after ours (so it finds
  the tree as published: its first run on a tree writes the scaling.json it then reads).

Prints both wall times side by side and their ratio (target: ours at least 50x faster), the CPU
times beside them, and checks that the score of every result we tabulate equals the
summarizer's of the same run, float for float. Exit status 1 when a score differs, a tool
fails, or the target is missed (wall times on a shared machine are noisy: the load average is
printed before and after).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path

from tools.perf.measure import CORPUS, Targets, load, timed, writable_copy

TARGET = 50.0


def _summarizer_scores(csv_path: Path) -> dict:
    """(system file stem, division, scaling, benchmark) -> score, from a summarizer CSV."""
    scores = {}
    sections, current = [], None
    for line in csv_path.read_text().splitlines(keepends=True):
        if line.startswith("division,"):
            current = [line]
            sections.append(current)
        elif current is not None:
            current.append(line)
    for lines in sections:
        for row in csv.DictReader(io.StringIO("".join(lines))):
            system = Path(row["details_url"]).stem
            for col, value in row.items():
                if not value:
                    continue
                if col in ("cosmoflow", "deepcam", "oc20"):
                    scores[(system, row["division"], "strong", col)] = float(value)
                elif col.endswith(":time_to_train_all"):
                    scores[(system, row["division"], "weak", col.split(":")[0])] = float(value)
    return scores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"bench_reports: the corpus is not at {args.corpus.resolve()}; nothing measured")
        return 0
    targets = Targets()
    with tempfile.TemporaryDirectory(prefix="bench_reports.") as tmp:
        tmp = Path(tmp)
        tree = writable_copy(args.corpus, tmp / "mlperf-hpc-v2.0")
        orgs = sorted(d.name for d in tree.iterdir() if (d / "results").is_dir())
        logs = sum(1 for _ in tree.rglob("result_*.txt"))
        print(f"corpus: {args.corpus.resolve()} ({len(orgs)} submitters, {logs} logs), "
              f"copied to {tree}")
        print(f"load average before: {load()} (2 cores shared with other work: wall times are "
              "noisy)")

        out = tmp / "report"
        ours = timed([sys.executable, "-m", "sciperf.cli", "report", str(tree), "--out",
                      str(out), "--ruleset", "hpc-2.0.0", "--jobs", str(args.jobs)])
        print(ours.out.rstrip())
        if ours.rc != 0:
            print(f"bench_reports: sciperf report failed (exit {ours.rc}):\n{ours.err[-2000:]}")
            return 1

        per_org, summary = [], {}
        for org in orgs:
            csv_path = tmp / f"summarizer-{org}.csv"
            r = timed([sys.executable, "-m", "mlperf_logging.result_summarizer",
                       str(tree / org), "hpc", "2.0.0", "--csv", str(csv_path)], cwd=tmp)
            per_org.append((org, r))
            if r.rc:
                targets.missed.append(f"result_summarizer {org} (exit {r.rc})")
            if csv_path.is_file():
                summary.update({(org, *k): v for k, v in _summarizer_scores(csv_path).items()})
        theirs = sum(r.wall for _, r in per_org)
        theirs_cpu = sum(r.cpu for _, r in per_org)
        print(f"load average after: {load()}")

        rows = json.loads((out / "results.json").read_text())
        differ = []
        for r in rows:
            k = (r["org"], r["system_id"], r["division"], r["scaling"], r["benchmark"])
            score = (r["time_to_train_minutes"] if r["scaling"] == "strong"
                     else r["time_to_train_all_minutes"])
            if summary.get(k) != score:
                differ.append((k, score, summary.get(k)))
        rejected = json.loads((out / "rejected.json").read_text())

        print()
        print(f"{'':42} {'wall s':>9} {'CPU s':>9}")
        print(f"{'sciperf report (checks + scores + outputs)':42} {ours.wall:9.2f} {ours.cpu:9.2f}")
        for org, r in per_org:
            print(f"{'  result_summarizer ' + org:42} {r.wall:9.2f} {r.cpu:9.2f}")
        print(f"{'result_summarizer, all submitters':42} {theirs:9.2f} {theirs_cpu:9.2f}")
        speedup = theirs / ours.wall
        print(targets.check("50x result_summarizer", speedup >= TARGET,
                            f"speed-up {speedup:.1f}x (CPU {theirs_cpu / ours.cpu:.1f}x), "
                            f"target >= {TARGET:g}x"))
        print(targets.check("scores", not differ,
                            f"scores: {len(rows) - len(differ)} of {len(rows)} tabulated results "
                            f"equal the summarizer's; {len(rejected)} kept out by the checks"))
        for k, a, b in differ:
            print(f"  differs: {k}: ours {a!r}, summarizer {b!r}")
    return targets.status()


if __name__ == "__main__":
    raise SystemExit(main())
