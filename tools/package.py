"""`sciperf package ROOT --org ORG --system SYSTEM`: complete a submission tree that
`sciperf run --org ORG --system SYSTEM` filled with results.

1. writes ROOT/ORG/systems/SYSTEM.json: this machine's description (tools/sysdesc.py), with
   submitter, division, status and number_of_nodes taken from the runs' own logs, then the
   --overrides file on top; validated against the schema before it is written;
2. copies the implementation's code (reference_implementations/<benchmark>/, the shared
   reference_implementations/common/ and the sciperf.vocab module they import) to
   ROOT/ORG/benchmarks/<benchmark>/implementations/<impl>/ for every benchmark that has results
   under ROOT/ORG/results/SYSTEM/; a symlink that leaves the source tree is refused;
3. with --check, runs the package checks (those of `check-compliance`) on ROOT/ORG.

Exit 0: written (and, with --check, compliant); 1: --check found errors; 2: nothing or not all
was written (no results, a bad overrides file, a description the schema rejects).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

from sciperf import layout, vocab
from tools import sysdesc

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_IMPL = "sciperf-reference-tf"
# Name parts of the tree: what MLPerf folder names use (letters, digits, . _ + -).
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".ipynb_*")


class PackageError(Exception):
    """What stops packaging; the message names the file or flag."""


def implementation_sources(benchmark: str) -> list[Path]:
    """What a benchmark's implementation is, relative to the repository: its folder, the shared
    harness (and its blueprint's shared folder) and the vocabulary module the harness imports,
    with their packages' __init__.py."""
    parts = [Path("reference_implementations/__init__.py"),
             Path("reference_implementations/common"),
             Path("reference_implementations") / benchmark,
             Path("sciperf/__init__.py"), Path("sciperf/vocab.py")]
    blueprint = vocab.BENCHMARKS[benchmark].blueprint if benchmark in vocab.BENCHMARKS else None
    if blueprint:  # what the blueprint's benchmarks share (disentangle: metrics, grid, reader)
        parts.insert(2, Path("reference_implementations") / blueprint)
    missing = [p for p in parts if not (ROOT / p).exists()]
    if missing:
        raise PackageError(f"no reference implementation to copy for {benchmark!r}: "
                           f"{', '.join(str(ROOT / p) for p in missing)} missing")
    return parts


def copy_implementation(benchmark: str, dest: Path) -> int:
    """Copy the benchmark's implementation into dest (replaced if there); return the number of
    files copied. Symlinks inside the source tree are copied as the files they point to; a
    symlink that leaves it, or a symlinked folder, is refused."""
    sources = implementation_sources(benchmark)
    plan: list[tuple[Path, Path]] = []
    for rel in sources:
        src = ROOT / rel
        if src.is_file():
            plan.append((src, dest / rel))
            continue
        for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
            here = Path(dirpath)
            ignored = IGNORED(dirpath, dirnames + filenames)
            for d in list(dirnames):
                if d in ignored:
                    dirnames.remove(d)
                elif (here / d).is_symlink():
                    raise PackageError(f"{here / d}: a symlinked folder; the implementation "
                                       "must be copied as files")
            for f in sorted(filenames):
                if f in ignored:
                    continue
                p = here / f
                if p.is_symlink():
                    try:
                        real = p.resolve(strict=True)
                    except (OSError, RuntimeError):
                        raise PackageError(f"{p}: symlink dangles") from None
                    if not real.is_relative_to(ROOT):
                        raise PackageError(f"{p}: symlink to {real} leaves {ROOT}; refused "
                                           "(a submission must not carry files from elsewhere)")
                plan.append((p, dest / p.relative_to(ROOT)))
    if dest.is_symlink():
        raise PackageError(f"{dest}: is a symlink; refusing to write through it")
    if dest.exists():
        shutil.rmtree(dest)
    for src, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)  # follows an in-tree symlink: the file itself is copied
    (dest / "README.md").write_text(
        f"# {benchmark}: SciPerf reference implementation\n\n"
        f"Copied by `sciperf package` from SciPerf {_sciperf_version()}: "
        f"`reference_implementations/{benchmark}/`, the shared harness "
        "`reference_implementations/common/` and `sciperf/vocab.py` (the log vocabulary the "
        "harness imports).\n\n"
        f"Run one rank from this folder:\n\n"
        f"    python -m reference_implementations.{benchmark}.train --scale tiny --seed 1\n\n"
        "or several under Horovod, as `sciperf run` does:\n\n"
        f"    horovodrun -np 2 -H localhost:2 --gloo python -m "
        f"reference_implementations.{benchmark}.train --scale tiny --seed 1\n")
    return len(plan)


def _sciperf_version() -> str:
    import sciperf

    return sciperf.__version__


def results_of(org_dir: Path, system: str) -> list[layout.ResultFolder]:
    """The result folders of one system (under results/SYSTEM/{strong,weak}/) that hold logs,
    as the package scan finds them."""
    from compliance.package import scan

    return [r for r in scan(org_dir).results if r.system == system and r.logs]


def fields_from_logs(summaries: list) -> tuple[dict, list[str]]:
    """submitter, division, status and number_of_nodes as the runs logged them (their run
    summaries), where they all agree; notes on where they do not."""
    keys = {vocab.SUBMISSION_ORG: "submitter", vocab.SUBMISSION_DIVISION: "division",
            vocab.SUBMISSION_STATUS: "status"}
    seen: dict[str, Counter] = {f: Counter() for f in (*keys.values(), "number_of_nodes",
                                                       "accelerators_per_node")}
    for s in summaries:
        for key, name in keys.items():
            if s.value(key) is not None:
                seen[name][str(s.value(key))] += 1
        for name in ("number_of_nodes", "accelerators_per_node"):
            if getattr(s, name) is not None:
                seen[name][str(getattr(s, name))] += 1
    fields, notes = {}, []
    for name, counts in seen.items():
        if len(counts) == 1:
            fields[name] = next(iter(counts))
        elif len(counts) > 1:
            notes.append(f"the runs log different {name} values ({', '.join(counts)}); "
                         "set it in --overrides")
    return fields, notes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="sciperf package", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", type=Path, help="the submission root (sciperf run --out)")
    p.add_argument("--org", required=True, help="the organisation folder under ROOT")
    p.add_argument("--system", required=True, help="the system folder under ORG/results/")
    p.add_argument("--overrides", type=Path,
                   help="YAML file of system description fields (storage, networking, "
                        "number_of_nodes, ...) that complete or override the capture")
    p.add_argument("--impl", default=DEFAULT_IMPL,
                   help=f"implementation folder name (default {DEFAULT_IMPL})")
    p.add_argument("--check", action="store_true",
                   help="then run the package checks on ROOT/ORG (exit 1 on errors)")
    a = p.parse_args(argv)
    try:
        return package(a.root, a.org, a.system, a.overrides, a.impl, a.check)
    except (PackageError, sysdesc.SysdescError) as e:
        print(f"sciperf package: error: {e}", file=sys.stderr)
        return 2


def package(root: Path, org: str, system: str, overrides: Path | None = None,
            impl: str = DEFAULT_IMPL, check: bool = False) -> int:
    for flag, value in (("--org", org), ("--system", system), ("--impl", impl)):
        if not SAFE_NAME.match(value):
            raise PackageError(f"{flag} {value!r}: use letters, digits and . _ + - only (it "
                               "names a folder of the tree)")
    org_dir = root / org
    results = results_of(org_dir, system)
    if not results:
        raise PackageError(f"no result_*.txt under {layout.system_results(org_dir, system)}/"
                           f"{{strong,weak}}/<benchmark>/; run `sciperf run ... --out {root} "
                           f"--org {org} --system {system}` first")
    unknown = sorted({r.benchmark for r in results} - set(vocab.BENCHMARKS))
    if unknown:
        raise PackageError(f"results for unknown benchmark(s) {', '.join(unknown)} under "
                           f"{layout.system_results(org_dir, system)}")

    from compliance.api import check_found

    # Each log is read once: its check gives the fields the description takes from the runs,
    # and, with --check, the verdicts the package checks use.
    logs = check_found([(str(p), Path(os.path.abspath(p))) for r in results for p in r.logs])
    from_logs, notes = fields_from_logs([fr.summary for fr in logs if fr.summary is not None])
    desc, more = sysdesc.describe(org=org, system=system, overrides=overrides,
                                  from_logs={k: v for k, v in from_logs.items()
                                             if k != "accelerators_per_node"})
    logged_accel = from_logs.get("accelerators_per_node")
    if logged_accel is not None and logged_accel != desc["accelerators_per_node"]:
        notes.append(f"the runs log accelerators_per_node {logged_accel}, this machine has "
                     f"{desc['accelerators_per_node']}; the description says "
                     f"{desc['accelerators_per_node']} (set it in --overrides if the runs "
                     "used other nodes)")
    target = layout.system_file(org_dir, system)
    if target.is_symlink():
        raise PackageError(f"{target}: is a symlink; refusing to write through it")
    sysdesc.write(desc, target)
    print(f"wrote {target}")
    for bench in sorted({r.benchmark for r in results}):
        dest = layout.implementations_dir(org_dir, bench) / impl
        n = copy_implementation(bench, dest)
        print(f"copied {n} files of {bench} to {dest}")
    for n in notes + more:
        print(f"note: {n}")
    if not check:
        print(f"check it: check-compliance {root}")
        return 0
    return run_checks(org_dir, {Path(fr.abspath): fr for fr in logs})


def run_checks(org_dir: Path, logs: dict) -> int:
    """The package checks of `check-compliance` on ORG, with the logs' results already made
    (a log of another system under ORG is checked there)."""
    from compliance.package import check_package, package_verdict
    from compliance.parser import printable

    diags = check_package(org_dir, None, logs)
    for d in diags:
        where = f"{d.path}:{d.line}" if d.line else d.path
        print(printable(f"{where}: {d.severity} {d.code}: {d.message}"))
    verdict = package_verdict(diags)
    print(f"package {org_dir}: {verdict}")
    return 0 if verdict == "pass" else 1


if __name__ == "__main__":
    raise SystemExit(main())
