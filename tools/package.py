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

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sciperf import vocab  # noqa: E402

from tools import sysdesc  # noqa: E402

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


def results_of(org_dir: Path, system: str) -> dict[str, list[Path]]:
    """benchmark -> its result files under results/SYSTEM/{strong,weak}/."""
    out: dict[str, list[Path]] = {}
    base = org_dir / "results" / system
    for scaling in ("strong", "weak"):
        folder = base / scaling
        if not folder.is_dir():
            continue
        for bdir in sorted(folder.iterdir()):
            files = sorted(bdir.glob("result_*.txt")) if bdir.is_dir() else []
            if files:
                out.setdefault(bdir.name, []).extend(files)
    return out


def fields_from_logs(files: list[Path]) -> tuple[dict, list[str]]:
    """submitter, division, status and number_of_nodes as the runs logged them, where they all
    agree; notes on where they do not."""
    from compliance.parser import parse_file

    keys = {vocab.SUBMISSION_ORG: "submitter", vocab.SUBMISSION_DIVISION: "division",
            vocab.SUBMISSION_STATUS: "status", vocab.NUMBER_OF_NODES: "number_of_nodes",
            vocab.ACCELERATORS_PER_NODE: "accelerators_per_node"}
    seen: dict[str, Counter] = {f: Counter() for f in keys.values()}
    for path in files:
        for r in parse_file(path).records:
            if r.key in keys and r.value is not None:
                seen[keys[r.key]][str(r.value)] += 1
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
    runs = results_of(org_dir, system)
    if not runs:
        raise PackageError(f"no result_*.txt under {org_dir / 'results' / system}/{{strong,weak}}/"
                           f"<benchmark>/; run `sciperf run ... --out {root} --org {org} "
                           f"--system {system}` first")
    unknown = sorted(set(runs) - set(vocab.BENCHMARKS))
    if unknown:
        raise PackageError(f"results for unknown benchmark(s) {', '.join(unknown)} under "
                           f"{org_dir / 'results' / system}")

    from_logs, notes = fields_from_logs([f for files in runs.values() for f in files])
    desc, more = sysdesc.describe(org=org, system=system, overrides=overrides,
                                  from_logs={k: v for k, v in from_logs.items()
                                             if k != "accelerators_per_node"})
    logged_accel = from_logs.get("accelerators_per_node")
    if logged_accel is not None and logged_accel != desc["accelerators_per_node"]:
        notes.append(f"the runs log accelerators_per_node {logged_accel}, this machine has "
                     f"{desc['accelerators_per_node']}; the description says "
                     f"{desc['accelerators_per_node']} (set it in --overrides if the runs "
                     "used other nodes)")
    target = org_dir / "systems" / f"{system}.json"
    if target.is_symlink():
        raise PackageError(f"{target}: is a symlink; refusing to write through it")
    sysdesc.write(desc, target)
    print(f"wrote {target}")
    for bench in sorted(runs):
        dest = org_dir / "benchmarks" / bench / "implementations" / impl
        n = copy_implementation(bench, dest)
        print(f"copied {n} files of {bench} to {dest}")
    for n in notes + more:
        print(f"note: {n}")
    if not check:
        print(f"check it: check-compliance {root}")
        return 0
    return run_checks(org_dir)


def run_checks(org_dir: Path) -> int:
    from compliance.api import check_logs
    from compliance.package import check_package, package_verdict

    logs = {Path(fr.abspath): fr for fr in check_logs([org_dir / "results"])}
    diags = check_package(org_dir, None, logs)
    for d in diags:
        where = f"{d.path}:{d.line}" if d.line else d.path
        print(f"{where}: {d.severity} {d.code}: {d.message}")
    verdict = package_verdict(diags)
    print(f"package {org_dir}: {verdict}")
    return 0 if verdict == "pass" else 1


if __name__ == "__main__":
    raise SystemExit(main())
