"""`make bench`: one tiny run of each benchmark of the blueprint `disentangle` (2 ranks under
horovodrun, as `sciperf run` starts it) and what its panel of the final model costs after
run_stop (outside the time to train), beside the run's own time to train.

Targets: the run reaches its target (status success), and the panel takes at most
PANEL_TARGET_S seconds after run_stop (about a minute on two free cores: docs/disentanglement.md,
"Cost"; it is the run's wall time beyond its time to train that a user waits for).

    python -m tools.perf.bench_disentangle_runs [BENCH ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tools.perf.measure import Targets, load
from tools.perf.tiny_run import tiny_run

PANEL_TARGET_S = 120.0


def panel_seconds(log: Path) -> float | None:
    """Seconds from run_stop to the last record of the panel logged after it."""
    from compliance.parser import parse_file
    from sciperf import vocab as K

    recs = parse_file(log).records
    stop = next((r.time_ms for r in recs if r.key == K.RUN_STOP), None)
    after = [r.time_ms for r in recs if r.key in K.DISENTANGLE_PANEL and stop is not None
             and r.time_ms >= stop]
    return (max(after) - stop) / 1000 if after else None


def main(argv: list[str]) -> int:
    from reference_implementations.common.generate import generate
    from sciperf import vocab as K

    ruled = Path(__file__).resolve().parents[2] / "compliance" / "rulesets" / K.RULESET
    benches = argv or [b for b, v in K.BENCHMARKS.items() if v.blueprint == "disentangle"
                       and (ruled / f"{b}.yaml").is_file()]
    targets = Targets()
    for bench in benches:
        with tempfile.TemporaryDirectory() as tmp:
            generate(bench, "tiny", Path(tmp) / "data")
            run = tiny_run(bench, Path(tmp) / "data", Path(tmp) / "runs")
            panel = panel_seconds(Path(tmp) / "runs" / "result_0.txt")
        metric = f"{run.metric:.4f}" if run.metric is not None else "-"
        print(f"{bench}: {run.summary()}, {K.BENCHMARKS[bench].metric_name} {metric} "
              f"(load average {load()})")
        print("  " + targets.check(f"{bench} reaches its target", run.status == K.SUCCESS,
                                   f"status {run.status}"))
        shown = f"{panel:.1f} s" if panel is not None else "not logged"
        print("  " + targets.check(f"{bench} panel", panel is not None
                                   and panel <= PANEL_TARGET_S,
                                   f"panel of the final model after run_stop {shown} "
                                   f"(target <= {PANEL_TARGET_S:.0f} s; time to train "
                                   f"{run.ttt or 0:.1f} s beside it)"))
    return targets.status()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
