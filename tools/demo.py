"""`make demo`: the main job end to end on this machine, in demo/.

1. generate each benchmark's tiny dataset (skipped when its manifest is already there),
2. run each benchmark's required number of runs on two ranks under horovodrun, laid out as the
   submission of org `demo` on a system named after this host,
3. time one benchmark's first model (INFER_BENCHMARK) in both inference scenarios through
   MLPerf LoadGen (`sciperf infer --quick`: shortened settings, marked unofficial),
4. package it (system description + code), 5. check it, 6. publish the report.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
ORG = "demo"
RUNS = int(os.environ.get("SCIPERF_DEMO_RUNS", "3"))  # tiny scale's required runs (rules.md)
NP = int(os.environ.get("SCIPERF_DEMO_NP", "2"))
INFER_BENCHMARK = "em_denoise"  # its tiny model answers fastest (docs/performance.md)


def main() -> int:
    from sciperf.vocab import BENCHMARKS, MANIFEST_NAME

    system = "cpu-" + "".join(c if c.isalnum() else "-" for c in socket.gethostname())[:40]
    # Benchmarks that can train (a blueprint's datasets may come before its models).
    benchmarks = [b for b in BENCHMARKS
                  if (ROOT / "reference_implementations" / b / "train.py").is_file()]
    sciperf = [sys.executable, "-m", "sciperf.cli"]
    start = time.perf_counter()
    submission = DEMO / "submission"
    step(f"SciPerf demo: {', '.join(benchmarks)} at tiny scale, {RUNS} runs each on {NP} ranks")
    for b in benchmarks:
        data = DEMO / "data" / b
        if not (data / MANIFEST_NAME).exists():
            sh(sciperf + ["data", "generate", b, "--scale", "tiny", "--out", str(data)])
    results = submission / ORG / "results"
    if results.exists():
        subprocess.run(["rm", "-rf", str(results)], check=True)
    for b in benchmarks:
        sh(sciperf + ["run", b, "--scale", "tiny", "--np", str(NP), "--runs", str(RUNS),
                      "--data-dir", str(DEMO / "data" / b), "--out", str(submission),
                      "--org", ORG, "--system", system, "--seed", "1000"], check=False)
    from sciperf import layout

    model = layout.model_dir(layout.result_dir(submission / ORG, system, layout.STRONG,
                                               INFER_BENCHMARK) / layout.result_name(0))
    if INFER_BENCHMARK in benchmarks and model.is_dir():
        for scenario in layout.SCENARIOS:
            sh(sciperf + ["infer", INFER_BENCHMARK, "--model", str(model), "--scenario",
                          scenario, "--quick", "--out", str(submission), "--org", ORG,
                          "--system", system], check=False)
    sh(sciperf + ["package", str(submission), "--org", ORG, "--system", system])
    checked = sh(sciperf + ["check", str(submission)], check=False)
    sh(sciperf + ["report", str(submission), "--out", str(DEMO / "report")])
    step(f"done in {time.perf_counter() - start:.0f} s; check-compliance exit {checked}; "
         f"open {DEMO / 'report' / 'index.html'}")
    return checked


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def sh(cmd: list[str], check: bool = True) -> int:
    step(" ".join(cmd[2:]))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    if check and rc != 0:
        sys.exit(f"demo: `{' '.join(cmd[2:])}` failed with exit {rc}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
