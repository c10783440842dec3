"""check-compliance against mlperf-logging, and against the floor, in one run.

On the MLPerf HPC v2.0 corpus (../shared/corpus/mlperf-hpc-v2.0, as published), ruleset
hpc-2.0.0, each tool a fresh child process timed from here (interpreter start and imports
included), best of --repeat runs:

1. the logs: `check-compliance CORPUS --ruleset hpc-2.0.0 --jobs 2 --no-package` against
   mlperf-logging 4.1.68's checker called in a loop in one process
   (`mlp_compliance.make_checker(...).check_file(log, "hpc_2.0.0/common.yaml")` per log, as its
   CLI does, minus the CLI's process start per log), and against the floor: read every file and
   `json.loads` every MLLOG line, nothing else. Targets: 50x mlperf-logging, within 2x the floor.
   Both checkers' verdicts are compared with the recorded ones (expected/.../compliance-
   verdicts.tsv).
2. the whole job: `check-compliance CORPUS --ruleset hpc-2.0.0 --jobs 2` (every log, every
   package, RCPs included) against `python -m mlperf_logging.package_checker ORG hpc 2.0.0` once
   per submitter, one after the other, on a copy (its RCP check writes scaling.json into the
   trees it reads). Target: 50x.
3. peak memory (the child's own) of `check-compliance` on a generated 400,000-line SciPerf
   CosmoFlow log, beside the floor's and mlperf-logging's. Target: under 100 MB.

    python -m tools.perf.bench_compliance [--repeat N] [--lines N] [--corpus PATH]

Exit status: 1 when a verdict differs from the recorded ones or a target is missed (wall times
on a shared machine are noisy: the load average and the CPU seconds are printed beside them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from sciperf import vocab as K
from tools.perf.measure import CORPUS, EXPECTED, Targets, best, load, timed, writable_copy

RULESET = "hpc-2.0.0"
SPEEDUP_TARGET, FLOOR_TARGET, JOB_TARGET, MEMORY_TARGET_MB = 50.0, 2.0, 50.0, 100.0
VERDICTS = EXPECTED / "compliance-verdicts.tsv"

MLPERF_LOOP = r"""
import json, logging, sys
logging.disable(logging.CRITICAL)
from mlperf_logging.compliance_checker import mlp_compliance
verdicts = {}
for path in sys.stdin.read().splitlines():
    mlp_compliance.enqueued_configs.clear()
    checker = mlp_compliance.make_checker("hpc", "2.0.0", False, False)
    try:
        ok = checker.check_file(path, "hpc_2.0.0/common.yaml")
    except Exception:
        ok = False
    verdicts[path] = "pass" if ok else "fail"
print(json.dumps(verdicts))
"""

FLOOR_LOOP = r"""
import json, sys
n = 0
for path in sys.stdin.read().splitlines():
    with open(path, "rb") as f:
        for line in f:
            i = line.rfind(b":::MLLOG ")
            if i >= 0:
                json.loads(line[i + 9:])
                n += 1
print(json.dumps({"records": n}))
"""



def ours_cmd(paths: list[str], jobs: int, package: bool) -> list[str]:
    return [sys.executable, "-m", "compliance", *paths, "--ruleset", RULESET, "--jobs",
            str(jobs), "--format", "json", *([] if package else ["--no-package"])]


def expected_verdicts(corpus: Path) -> dict[str, str]:
    rows = [line.split("\t") for line in VERDICTS.read_text().splitlines() if line.strip()]
    return {str(corpus / rel): v.lower() for rel, v in rows}


def generate_long_log(path: Path, lines: int) -> int:
    """A SciPerf CosmoFlow log of about `lines` lines: the init records, then epochs of
    epoch_start, 15 per-step records, epoch_stop, eval_start, eval_error, eval_stop (the shape a
    long run logging training progress has), then run_stop. Written in mllog's format."""
    t = [1_700_000_000_000]

    def rec(key, value=None, metadata=None, event="POINT_IN_TIME") -> str:
        t[0] += 7
        return ":::MLLOG " + json.dumps({
            "namespace": "", "time_ms": t[0], "event_type": event, "key": key, "value": value,
            "metadata": {"file": "train.py", "lineno": 42, **(metadata or {})}}) + "\n"

    head = [rec(K.CACHE_CLEAR, True), rec(K.INIT_START, event="INTERVAL_START")]
    for key, value in ((K.SUBMISSION_BENCHMARK, "cosmoflow"), (K.SUBMISSION_ORG, "bench"),
                       (K.SUBMISSION_PLATFORM, "2xCPU"), (K.SUBMISSION_DIVISION, "closed"),
                       (K.SUBMISSION_STATUS, "research"), (K.SCIPERF_RULESET, K.RULESET),
                       (K.DATA_SCALE, "full"), (K.DATASET_CHECKSUM, "0" * 64), (K.SEED, 1),
                       (K.GLOBAL_BATCH_SIZE, 64), (K.TRAIN_SAMPLES, 524288),
                       (K.EVAL_SAMPLES, 65536), (K.NUMBER_OF_NODES, 1),
                       (K.ACCELERATORS_PER_NODE, 0), (K.OPT_NAME, "sgd"), (K.OPT_BASE_LR, 0.001),
                       (K.OPT_LR_WARMUP_EPOCHS, 4), (K.OPT_LR_WARMUP_FACTOR, 1),
                       (K.OPT_LR_DECAY_BOUNDARY_EPOCHS, [32, 64]),
                       (K.OPT_LR_DECAY_FACTOR, 0.25), (K.OPT_WEIGHT_DECAY, 0.0),
                       (K.DROPOUT, 0.5)):
        head.append(rec(key, value))
    head += [rec(K.INIT_STOP, event="INTERVAL_END"), rec(K.RUN_START, event="INTERVAL_START")]
    n = len(head)
    epoch = 0
    with open(path, "w") as f:
        f.writelines(head)
        while n < lines - 1:
            epoch += 1
            block = [rec(K.EPOCH_START, metadata={K.EPOCH_NUM: epoch}, event="INTERVAL_START")]
            block += [rec("train_loss", 0.5 / epoch, {"step": s, K.EPOCH_NUM: epoch})
                      for s in range(15)]
            block += [rec(K.EPOCH_STOP, metadata={K.EPOCH_NUM: epoch}, event="INTERVAL_END"),
                      rec(K.EVAL_START, metadata={K.EPOCH_NUM: epoch}, event="INTERVAL_START"),
                      rec(K.EVAL_ERROR, 0.5 + 1.0 / epoch,
                          {K.EPOCH_NUM: epoch, K.METRIC_NAME: "mae"}),
                      rec(K.EVAL_STOP, metadata={K.EPOCH_NUM: epoch}, event="INTERVAL_END")]
            f.writelines(block)
            n += len(block)
        f.write(rec(K.RUN_STOP, metadata={K.STATUS: K.ABORTED}, event="INTERVAL_END"))
    return n + 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs (default 2)")
    ap.add_argument("--lines", type=int, default=400_000, help="lines of the memory log")
    args = ap.parse_args(argv)
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"bench_compliance: no corpus at {corpus} (it lies beside the project in "
              "../shared); nothing to measure")
        return 0
    targets = Targets()
    files = sorted(str(p) for p in corpus.rglob("result_*.txt"))
    size = sum(os.path.getsize(p) for p in files)
    listing = "\n".join(files)
    expected = expected_verdicts(corpus)
    print(f"MLPerf HPC v2.0 corpus: {len(files)} logs, {size / 1e6:.1f} MB, ruleset {RULESET}; "
          f"{os.cpu_count()} cores, load average {load()} at the start (best of {args.repeat} "
          "runs each; CPU seconds beside the wall times)\n")

    # 1. the logs
    ours = best([timed(ours_cmd([str(corpus)], 2, package=False)) for _ in range(args.repeat)])
    ours_verdicts = {str(corpus / f["path"]): f["verdict"]
                     for f in json.loads(ours.out)["files"]}
    theirs = best([timed([sys.executable, "-c", MLPERF_LOOP], listing)
                   for _ in range(args.repeat)])
    theirs_verdicts = json.loads(theirs.out)
    floor = best([timed([sys.executable, "-c", FLOOR_LOOP], listing)
                  for _ in range(args.repeat)])
    records = json.loads(floor.out)["records"]

    def verdicts(v: dict) -> str:
        ok = v == expected
        if not ok:
            targets.missed.append("verdicts")
        return (f"{sum(x == 'pass' for x in v.values())} pass / "
                f"{sum(x == 'fail' for x in v.values())} fail "
                f"({'= recorded' if ok else 'DIFFER from the recorded ones'})")

    print(f"1. the logs ({records:,} records)")
    print(f"  {'':44} {'wall s':>8} {'cpu s':>8}  verdicts")
    for name, r, v in (("check-compliance --jobs 2 --no-package", ours, verdicts(ours_verdicts)),
                       ("mlperf-logging checker, one process", theirs,
                        verdicts(theirs_verdicts)),
                       ("floor: read + json.loads every line", floor, "")):
        print(f"  {name:44} {r.wall:8.2f} {r.cpu:8.2f}  {v}")
    speedup, to_floor = theirs.wall / ours.wall, ours.wall / floor.wall
    print("  " + targets.check("50x mlperf-logging", speedup >= SPEEDUP_TARGET,
                               f"speed-up over mlperf-logging {speedup:.1f}x (cpu "
                               f"{theirs.cpu / ours.cpu:.1f}x), target >= {SPEEDUP_TARGET:g}x"))
    print("  " + targets.check("within 2x the floor", to_floor <= FLOOR_TARGET,
                               f"time over the floor {to_floor:.2f}x (cpu "
                               f"{ours.cpu / floor.cpu:.2f}x), target <= {FLOOR_TARGET:g}x"))

    # 2. the whole job, on a copy
    with tempfile.TemporaryDirectory(prefix="bench_compliance.") as tmp:
        tree = writable_copy(corpus, Path(tmp) / "mlperf-hpc-v2.0")
        orgs = sorted(d.name for d in tree.iterdir() if (d / "results").is_dir())
        job = best([timed(ours_cmd([str(tree)], 2, package=True)) for _ in range(args.repeat)])
        report = json.loads(job.out)
        pkg_errors = {p["path"]: sum(d["severity"] == "error" for d in p["diagnostics"])
                      for p in report["packages"]}
        per_org = []
        for org in orgs:
            r = timed([sys.executable, "-m", "mlperf_logging.package_checker", str(tree / org),
                       "hpc", "2.0.0", "--log_output", str(Path(tmp) / f"{org}.log")],
                      cwd=Path(tmp))
            per_org.append((org, r))
        total = sum(r.wall for _, r in per_org)
        total_cpu = sum(r.cpu for _, r in per_org)
        print(f"\n2. the whole job: every log and every package of the {len(orgs)} submitters "
              "(RCPs included)")
        print(f"  {'':44} {'wall s':>8} {'cpu s':>8}")
        print(f"  {'check-compliance --jobs 2 (all trees)':44} {job.wall:8.2f} {job.cpu:8.2f}"
              f"  exit {job.rc}; package errors: "
              + ", ".join(f"{k} {v}" for k, v in sorted(pkg_errors.items())))
        for org, r in per_org:
            print(f"  {'  mlperf-logging package_checker ' + org:44} {r.wall:8.2f} {r.cpu:8.2f}"
                  + (f"  exit {r.rc}" if r.rc else ""))
        print(f"  {'mlperf-logging package_checker, all':44} {total:8.2f} {total_cpu:8.2f}")
        job_speedup = total / job.wall
        print("  " + targets.check("50x package_checker", job_speedup >= JOB_TARGET,
                                   f"speed-up {job_speedup:.1f}x (cpu {total_cpu / job.cpu:.1f}x)"
                                   f", target >= {JOB_TARGET:g}x"))
        if job.rc not in (0, 1) or any(r.rc for _, r in per_org):
            targets.missed.append("a tool failed")

    # 3. memory on one long log
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "result_0.txt"
        n = generate_long_log(log, args.lines)
        # the ruleset the log names (sciperf-1.0.0); one process, so the peak is the checker's
        mem_ours = timed([sys.executable, "-m", "compliance", str(log), "--jobs", "1"])
        mem_floor = timed([sys.executable, "-c", FLOOR_LOOP], str(log))
        mem_theirs = timed([sys.executable, "-c", MLPERF_LOOP], str(log))
        print(f"\n3. peak memory on a generated {n:,}-line log ({log.stat().st_size / 1e6:.0f} "
              "MB)")
        print("  " + targets.check("memory", mem_ours.peak_mb < MEMORY_TARGET_MB,
                                   f"check-compliance ({K.RULESET})         "
                                   f"{mem_ours.peak_mb:7.1f} MB  {mem_ours.wall:6.2f} s   (target"
                                   f" < {MEMORY_TARGET_MB:g} MB)"))
        print(f"  mlperf-logging checker (hpc-2.0.0)     {mem_theirs.peak_mb:7.1f} MB  "
              f"{mem_theirs.wall:6.2f} s")
        print(f"  floor                                  {mem_floor.peak_mb:7.1f} MB  "
              f"{mem_floor.wall:6.2f} s")
    print(f"\nload average at the end: {load()}")
    return targets.status()


if __name__ == "__main__":
    raise SystemExit(main())
