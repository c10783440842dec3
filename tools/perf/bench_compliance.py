"""check-compliance against mlperf-logging's checker and against the floor, in one run.

Over every log of the MLPerf HPC v2.0 corpus (../shared/corpus/mlperf-hpc-v2.0), ruleset
hpc-2.0.0, each in a fresh child process timed from here (interpreter start and imports
included):

- ours: `check-compliance CORPUS --ruleset hpc-2.0.0 --jobs 2 --no-package --format json`
  (the logs only: mlperf-logging's checker checks logs, not packages);
- mlperf-logging 4.1.68's checker, its Python API called in a loop in one process
  (`mlp_compliance.make_checker(...).check_file(log, "hpc_2.0.0/common.yaml")` per log, as its
  CLI does, minus the CLI's process start per log);
- the floor: read every file and `json.loads` every MLLOG line, nothing else.

The verdicts of both checkers are compared with the recorded ones
(../shared/corpus/expected/mlperf-hpc-v2.0/compliance-verdicts.tsv). Then peak memory
(ru_maxrss of the child) of `check-compliance` on a generated 400,000-line SciPerf CosmoFlow
log, beside the floor's and mlperf-logging's on the same file.

Targets: at least 25x faster than mlperf-logging, within 4x the floor, under 200 MB. Each timing
is the best of --repeat runs (default 2); the machine may be shared, so the CPU seconds (user +
system of the child) are printed beside the wall times.

    python tools/perf/bench_compliance.py [--repeat N] [--lines N] [--corpus PATH]

Exit status: 1 if a checker's verdicts differ from the recorded ones, else 0 (a missed speed
target is printed as MISSED; wall time on a busy machine is not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sciperf import vocab as K  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "mlperf-hpc-v2.0"
EXPECTED = ROOT.parent / "shared" / "corpus" / "expected" / "mlperf-hpc-v2.0" / \
    "compliance-verdicts.tsv"
RULESET = "hpc-2.0.0"
SPEEDUP_TARGET, FLOOR_TARGET, MEMORY_TARGET_MB = 25.0, 4.0, 200.0

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


def run_child(argv: list[str], stdin: str = "") -> tuple[float, float, float, str]:
    """(wall s, cpu s, peak RSS MB, stdout) of one child process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    p = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # reap it ourselves: wait4 gives this child's own rusage (not the max over all children)
    p.stdin.write(stdin.encode())
    p.stdin.close()
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0, 1):
        raise SystemExit(f"{argv[:4]}... exited {p.returncode}:\n{err.decode()[-2000:]}")
    # ru_maxrss: kilobytes on Linux. Forked workers (--jobs) are reaped by the child itself,
    # so with --jobs 1 this is the whole checker's peak.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode()


def best(runs: list[tuple]) -> tuple:
    return min(runs, key=lambda r: r[0])


def ours_cmd(paths: list[str], jobs: int, fmt: str = "json") -> list[str]:
    return [sys.executable, "-m", "compliance", *paths, "--ruleset", RULESET, "--jobs",
            str(jobs), "--no-package", "--format", fmt]


def expected_verdicts(corpus: Path) -> dict[str, str]:
    rows = [line.split("\t") for line in EXPECTED.read_text().splitlines() if line.strip()]
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
    files = sorted(str(p) for p in corpus.rglob("result_*.txt"))
    size = sum(os.path.getsize(p) for p in files)
    listing = "\n".join(files)
    expected = expected_verdicts(corpus)
    load = os.getloadavg()[0]

    ours = best([run_child(ours_cmd([str(corpus)], 2)) for _ in range(args.repeat)])
    report = json.loads(ours[3])
    ours_verdicts = {str(corpus / f["path"]): f["verdict"] for f in report["files"]}
    theirs = best([run_child([sys.executable, "-c", MLPERF_LOOP], listing)
                   for _ in range(args.repeat)])
    theirs_verdicts = json.loads(theirs[3])
    floor = best([run_child([sys.executable, "-c", FLOOR_LOOP], listing)
                  for _ in range(args.repeat)])
    records = json.loads(floor[3])["records"]

    def verdicts(v: dict) -> str:
        ok = "= recorded" if v == expected else "DIFFER from the recorded ones"
        return (f"{sum(x == 'pass' for x in v.values())} pass / "
                f"{sum(x == 'fail' for x in v.values())} fail ({ok})")

    print(f"check-compliance vs mlperf-logging on the MLPerf HPC v2.0 corpus: {len(files)} logs, "
          f"{records:,} records, {size / 1e6:.1f} MB, ruleset {RULESET}")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start (a shared "
          f"machine makes wall times noisy; best of {args.repeat} runs each)\n")
    rows = [("check-compliance --jobs 2", ours, verdicts(ours_verdicts)),
            ("mlperf-logging checker, one process", theirs, verdicts(theirs_verdicts)),
            ("floor: read + json.loads every line", floor, "")]
    print(f"{'':38} {'wall s':>8} {'cpu s':>8}  verdicts")
    for name, r, v in rows:
        print(f"{name:38} {r[0]:8.2f} {r[1]:8.2f}  {v}")
    speedup = theirs[0] / ours[0]
    to_floor = ours[0] / floor[0]

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"\nspeed-up over mlperf-logging: {speedup:6.1f}x   (target >= {SPEEDUP_TARGET:.0f}x: "
          f"{mark(speedup >= SPEEDUP_TARGET)}; cpu {theirs[1] / ours[1]:.1f}x)")
    print(f"time over the floor:          {to_floor:6.2f}x   (target <= {FLOOR_TARGET:.0f}x: "
          f"{mark(to_floor <= FLOOR_TARGET)}; cpu {ours[1] / floor[1]:.2f}x)")

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "result_0.txt"
        n = generate_long_log(log, args.lines)
        # the ruleset the log names (sciperf-1.0.0); one process, so ru_maxrss is the checker's
        mem_ours = run_child([sys.executable, "-m", "compliance", str(log), "--jobs", "1"])
        mem_floor = run_child([sys.executable, "-c", FLOOR_LOOP], str(log))
        mem_theirs = run_child([sys.executable, "-c", MLPERF_LOOP], str(log))
        print(f"\npeak memory (ru_maxrss) on a generated {n:,}-line log "
              f"({log.stat().st_size / 1e6:.0f} MB):")
        print(f"  check-compliance ({K.RULESET})         "
              f"{mem_ours[2]:7.1f} MB  {mem_ours[0]:6.2f} s   (target < "
              f"{MEMORY_TARGET_MB:.0f} MB: {mark(mem_ours[2] < MEMORY_TARGET_MB)})")
        print(f"  mlperf-logging checker (hpc-2.0.0)     {mem_theirs[2]:7.1f} MB  "
              f"{mem_theirs[0]:6.2f} s")
        print(f"  floor                                  {mem_floor[2]:7.1f} MB  "
              f"{mem_floor[0]:6.2f} s")
    return 0 if ours_verdicts == expected and theirs_verdicts == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
