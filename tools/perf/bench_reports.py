"""`sciperf report` against mlperf-logging's result_summarizer over the MLPerf HPC v2.0 corpus.

In one run, on one copy of the corpus (so the summarizer, which writes scaling.json files into
the tree it reads, cannot touch the shared one):

- ours: `sciperf report COPY --ruleset hpc-2.0.0 --out DIR` as a user runs it, a fresh process,
  the compliance checks (every log) and the package checks (every org) included; the corpus
  carries no benchmarks/ code, so its SP410 finding is waived with --bypass, which changes what
  is tabulated, not the work done;
- baseline: `python -m mlperf_logging.result_summarizer COPY/ORG hpc 2.0.0 --csv ...` for each
  submitter, one after the other (it takes one submission at a time).

Prints both wall times side by side and their ratio (target: ours at least 20x faster), the CPU
times beside them, and checks that the scores of every result we tabulate equal the
summarizer's of the same run. Wall times on a shared machine are noisy: the load average is
printed before and after.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT / ".." / "shared" / "corpus" / "mlperf-hpc-v2.0"
TARGET = 20.0
BYPASS = """waive:
  - check: implementation
    reason: the corpus holds the published logs and system descriptions, not the benchmarks/ code
"""


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished children and their workers
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str], log: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, worker processes included) and exit status."""
    cpu, start = _cpu(), time.perf_counter()
    with open(log, "w") as out:
        rc = subprocess.run(cmd, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT).returncode
    return time.perf_counter() - start, _cpu() - cpu, rc


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


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
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"bench_reports: the corpus is not at {args.corpus.resolve()}; nothing measured")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_reports.") as tmp:
        tmp = Path(tmp)
        tree = tmp / "mlperf-hpc-v2.0"
        shutil.copytree(args.corpus, tree)
        for p_ in tree.rglob("*"):
            p_.chmod(p_.stat().st_mode | stat.S_IWUSR)
        for d in [tree, *(q for q in tree.rglob("*") if q.is_dir())]:
            d.chmod(d.stat().st_mode | stat.S_IWUSR)
        bypass = tmp / "bypass.yaml"
        bypass.write_text(BYPASS)
        orgs = sorted(d.name for d in tree.iterdir() if (d / "results").is_dir())
        logs = sum(1 for _ in tree.rglob("result_*.txt"))
        print(f"corpus: {args.corpus.resolve()} ({len(orgs)} submitters, {logs} logs), "
              f"copied to {tree}")
        print(f"load average before: {_load()} (2 cores shared with other work: wall times are "
              "noisy)")

        out = tmp / "report"
        ours, ours_cpu, rc = _timed([sys.executable, "-m", "sciperf.cli", "report", str(tree), "--out",
                           str(out), "--ruleset", "hpc-2.0.0", "--jobs", str(args.jobs),
                           "--bypass", str(bypass)], tmp / "ours.log")
        print((tmp / "ours.log").read_text().rstrip())
        if rc != 0:
            print(f"bench_reports: sciperf report failed (exit {rc})")
            return 1

        theirs, theirs_cpu, per_org, summary = 0.0, 0.0, [], {}
        for org in orgs:
            csv_path = tmp / f"summarizer-{org}.csv"
            t, c, rc = _timed([sys.executable, "-m", "mlperf_logging.result_summarizer",
                            str(tree / org), "hpc", "2.0.0", "--csv", str(csv_path)],
                           tmp / f"summarizer-{org}.log")
            theirs += t
            theirs_cpu += c
            per_org.append((org, t, c, rc))
            if csv_path.is_file():
                summary.update({(org, *k): v for k, v in _summarizer_scores(csv_path).items()})
        print(f"load average after: {_load()}")

        # Same tree, same numbers: every tabulated score against the summarizer's. It applies
        # the tree's scaling.json; we report that factor beside an unscaled score.
        rows = json.loads((out / "results.json").read_text())
        agree, differ = 0, []
        for r in rows:
            k = (r["org"], r["system_id"], r["division"], r["scaling"], r["benchmark"])
            ours_score = (r["time_to_train_minutes"] * (r["scaling_factor"] or 1.0)
                          if r["scaling"] == "strong" else r["time_to_train_all_minutes"])
            if k in summary and abs(summary[k] - ours_score) <= 1e-9 * abs(summary[k]):
                agree += 1
            else:
                differ.append((k, ours_score, summary.get(k)))
        rejected = json.loads((out / "rejected.json").read_text())

        print()
        print(f"{'':42} {'wall s':>9} {'CPU s':>9}")
        print(f"{'sciperf report (checks + scores + outputs)':42} {ours:9.2f} {ours_cpu:9.2f}")
        for org, t, c, rc in per_org:
            print(f"{'  result_summarizer ' + org:42} {t:9.2f} {c:9.2f}"
                  + (f"  (exit {rc})" if rc else ""))
        print(f"{'result_summarizer, all submitters':42} {theirs:9.2f} {theirs_cpu:9.2f}")
        speedup = theirs / ours
        print(f"speed-up (wall): {speedup:.1f}x (target {TARGET:.0f}x: "
              f"{'met' if speedup >= TARGET else 'NOT met'}); CPU time ratio "
              f"{theirs_cpu / ours_cpu:.1f}x (less sensitive to other load on the machine)")
        print(f"scores: {agree} of {len(rows)} tabulated results equal the summarizer's "
              f"(scaling.json applied as it does); {len(rejected)} kept out by the checks")
        for k, a, b in differ:
            print(f"  differs: {k}: ours {a!r}, summarizer {b!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
