"""`sciperf`: one command, seven sub-commands.

    sciperf data generate BENCH --scale tiny [--out DIR]    make a dataset (with its manifest)
    sciperf run BENCH --np 2 --scale tiny --runs N --out DIR  reference runs under horovodrun
    sciperf check PATH...                                    = check-compliance
    sciperf package ROOT --org ORG --system SYSTEM           system description + code
    sciperf report ROOT... --out DIR                         results tables and page
    sciperf infer BENCH --model DIR --scenario S --out OUT  time a model with LoadGen
    sciperf metrics disentangle --factors F --codes C       score a representation
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sciperf.vocab import BENCHMARKS, DIVISIONS, SCALES, STATUSES

# Sub-commands owned by other packages take their own argv; they are imported only when used,
# so `sciperf check` never pays for TensorFlow.
DELEGATED = {
    "check": ("compliance.cli", "check-compliance: check MLPerf logs and submission trees"),
    "package": ("tools.package", "lay out a submission: system description and code"),
    "report": ("reports.cli", "score valid submissions into tables, a page and plots"),
    "infer": ("reference_implementations.common.inference",
              "time a trained model with MLPerf Inference LoadGen"),
    "metrics": ("reference_implementations.disentangle.cli",
                "score a representation: the disentanglement metric panel"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        module = importlib.import_module(DELEGATED[argv[0]][0])
        return module.main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sciperf", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(metavar="COMMAND")

    data = sub.add_parser("data", help="generate datasets").add_subparsers(metavar="ACTION")
    g = data.add_parser("generate", help="generate a benchmark's synthetic dataset")
    g.add_argument("benchmark", choices=sorted(BENCHMARKS))
    g.add_argument("--scale", default="tiny", choices=SCALES)
    g.add_argument("--out", type=Path, help="dataset folder (default data/BENCH/SCALE)")
    g.add_argument("--seed", type=int, help="generation seed (default: the scale's official "
                                            "seed; another seed gives data the checker rejects)")
    g.add_argument("--workers", type=int, default=1, help="processes to split the files over")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (gives unofficial data)")
    g.set_defaults(func=cmd_data_generate)

    r = sub.add_parser("run", help="run a reference implementation under horovodrun")
    r.add_argument("benchmark", choices=sorted(BENCHMARKS))
    r.add_argument("--scale", default="tiny", choices=SCALES)
    r.add_argument("--np", type=int, default=1, help="ranks per run (per instance with --models)")
    r.add_argument("--hosts", help="horovodrun -H value, e.g. node1:4,node2:4 "
                                   "(default localhost:NP)")
    r.add_argument("--launcher", default="horovodrun", choices=["horovodrun", "mpirun", "srun",
                                                                "none"])
    r.add_argument("--runs", type=int, default=1, help="runs one after the other (strong)")
    r.add_argument("--models", type=int, default=0,
                   help="throughput mode: M concurrent instances of --np ranks (weak scaling)")
    r.add_argument("--out", type=Path, required=True, help="where the result_<i>.txt go (the "
                                                          "submission root with --org/--system)")
    r.add_argument("--data-dir", help="dataset folder (default data/BENCH/SCALE)")
    r.add_argument("--seed", type=int, help="seed of the first run; run i gets seed+i "
                                            "(default: random)")
    r.add_argument("--org", help="submitter: write the submission layout under OUT/ORG")
    r.add_argument("--system", help="system name (submission_platform); with --org")
    r.add_argument("--division", default="closed", choices=DIVISIONS)
    r.add_argument("--status", default="research", choices=STATUSES)
    r.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value of every run")
    from tools.launcher import DEFAULT_TIMEOUT_MINUTES

    r.add_argument("--timeout", type=float, metavar="MINUTES",
                   help="stop a run still going after MINUTES (its log ends aborted, reason "
                        "timeout); default per scale: "
                        + ", ".join(f"{s} {m}" for s, m in DEFAULT_TIMEOUT_MINUTES.items())
                        + "; 0: none")
    r.add_argument("--resume", action="store_true",
                   help="run only the runs whose log is missing or did not finish, with the "
                        "seeds they had; finished logs are kept (docs/faults.md)")
    r.set_defaults(func=cmd_run)

    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return p


def cmd_data_generate(a) -> int:
    from reference_implementations.common.config import ConfigError
    from reference_implementations.common.data import DataError
    from reference_implementations.common.generate import generate

    out = a.out or Path("data") / a.benchmark / a.scale
    try:
        checksum, n, seconds = generate(a.benchmark, a.scale, out, a.seed, a.workers,
                                        tuple(a.set))
    except (ConfigError, DataError, OSError) as e:
        print(f"sciperf: error: {e}", file=sys.stderr)
        return 2
    print(f"sciperf data: {n} files of {a.benchmark} {a.scale} in {out} ({seconds:.1f} s); "
          f"dataset checksum {checksum}")
    return 0


def cmd_run(a) -> int:
    import importlib.util

    from tools.launcher import Interrupted, ResumeError, RunPlan, result_dir, run_many

    if importlib.util.find_spec(f"reference_implementations.{a.benchmark}.train") is None:
        print(f"sciperf: error: {a.benchmark} has data but no training entry point yet "
              f"(reference_implementations/{a.benchmark}/train.py)", file=sys.stderr)
        return 2

    if (a.org is None) != (a.system is None):
        print("sciperf: error: --org and --system go together", file=sys.stderr)
        return 2
    if a.np < 1 or a.runs < 1 or a.models < 0:
        print("sciperf: error: --np and --runs must be at least 1", file=sys.stderr)
        return 2
    if a.timeout is not None and a.timeout < 0:
        print("sciperf: error: --timeout must be 0 (none) or a number of minutes", file=sys.stderr)
        return 2
    if a.resume and a.models:
        print("sciperf: error: --resume is for strong-scaling runs: the --models instances of a "
              "throughput result must run together", file=sys.stderr)
        return 2
    overrides = list(a.set) + [f"run.division={a.division}", f"run.status={a.status}"]
    if a.org:
        overrides += [f"run.org={a.org}", f"run.platform={a.system}"]
    plan = RunPlan(a.benchmark, a.scale, a.np, a.hosts, a.launcher, a.data_dir, overrides)
    out = result_dir(a.out, a.benchmark, a.org, a.system, weak=a.models > 0)
    try:
        results = run_many(plan, out, a.runs, a.seed, a.models, timeout_minutes=a.timeout,
                           resume=a.resume)
    except ResumeError as e:
        print(f"sciperf: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"sciperf: error: {e.filename or out}: {e.strerror or e}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(f"sciperf run: stopped by {e}; the runs in flight were stopped (their logs end "
              f"with run_stop aborted); finished logs in {out} are kept: `sciperf run ... "
              "--resume` goes on from there", file=sys.stderr)
        return 1
    failed = [o for o in results if o.returncode != 0 or o.status != "success"]
    print(f"sciperf run: {len(results) - len(failed)} of {len(results)} runs reached the target"
          f"; logs in {out}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
