"""From submission trees to result rows: gate every result through the checks, then score it.

A *result* is one system x benchmark x scaling: the `result_*.txt` files directly inside
ORG/results/SYSTEM/{strong,weak}/BENCHMARK/ (as mlperf-logging's summarizer and package checker
read them; sub-folders such as weak scaling's `pruned_results/` are not part of it).

Gating (always on in the CLI): the compliance checker (`compliance.api.check_logs`) runs over
every ROOT and the package checker (`compliance.package.check_package`) over every org. A result
enters the tables when
  * every run that finished (run_stop with status success) has a log that passes its checks:
    one broken log keeps the whole result out;
  * at most one run missed the target (run_stop aborted, or no run_stop): olympic scoring drops
    it as the slowest run, weak scaling does not count it as a model;
  * its package findings (org-wide ones, its system's, its benchmark's, its folder's and its
    logs') hold no error (waived findings are warnings);
  * it can be scored (enough finished runs, one instance scale, a usable system description).
Anything else goes to the rejected list with the diagnostics that kept it out.

`build_report(..., gate=False)` skips the checks and scores every log that can be read: it is
what the exactness tests use to compare the arithmetic with the summarizer's on its own terms.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from compliance.diagnostics import ERROR, Diagnostic
from reports.logscan import LogReadError, LogScan, scan_log
from reports.schema import RESULT_FIELD_NAMES
from reports.scoring import MAX_DROPPED_RUNS, score_strong, score_weak
from reports.systems import SystemDescError, SystemInfo, load_system
from sciperf.vocab import RUN_START, RUN_STOP

SCALINGS = ("strong", "weak")

# Diagnostic codes of the report tool itself (the checkers' own codes pass through unchanged).
RP_SYSTEM = "RP001"  # the system description cannot be tabulated
RP_LOG = "RP002"  # a log scoring cannot use (unreadable, no run_start)
RP_FAILED_RUNS = "RP003"  # more runs missed the target than olympic scoring can drop
RP_TOO_FEW = "RP004"  # not enough finished runs to score
RP_SCALE = "RP005"  # weak scaling runs with different instance scales
RP_NO_LOGS = "RP006"  # a result folder without result_*.txt
RP_NOT_CHECKED = "RP007"  # a log the compliance checker did not report on
RP_RULESET = "RP008"  # no ruleset known for a result (weak scaling needs its minimum count)


class ReportError(Exception):
    """The report cannot be made at all (no submission found, checker unavailable, ...)."""


@dataclass
class ResultDir:
    org_dir: Path
    system_id: str
    scaling: str
    benchmark: str
    path: Path
    logs: list[Path]


@dataclass
class Report:
    results: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    systems: dict = field(default_factory=dict)  # (org folder, system_id) -> SystemInfo
    orgs: list[Path] = field(default_factory=list)
    gated: bool = True


# -- discovery ----------------------------------------------------------------------------------

def find_orgs(roots: list[str | Path]) -> list[Path]:
    from compliance.package import find_submissions  # lazy: owned by the submissions helper

    seen, orgs = set(), []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise ReportError(f"{root}: no such file or directory")
        for org in find_submissions(root):
            key = Path(org).resolve()
            if key not in seen:
                seen.add(key)
                orgs.append(Path(org))
    return orgs


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir())
    except OSError:
        return []


def find_result_dirs(org_dir: Path) -> list[ResultDir]:
    found = []
    for system_dir in _subdirs(org_dir / "results"):
        for scaling in SCALINGS:
            for bench_dir in _subdirs(system_dir / scaling):
                logs = sorted(p for p in bench_dir.glob("result_*.txt") if p.is_file())
                found.append(ResultDir(org_dir, system_dir.name, scaling, bench_dir.name,
                                       bench_dir, logs))
    return found


class _Resolver:
    """Path.resolve() for many files in few folders: each folder is resolved once, and a file
    that is not a symbolic link is its resolved folder / its name (one lstat, where
    Path.resolve() takes one per path component)."""

    def __init__(self):
        self._dirs: dict[Path, Path] = {}

    def __call__(self, path: Path) -> Path:
        if path.name in ("", ".", "..") or path.is_symlink():
            return path.resolve()
        parent = path.parent
        d = self._dirs.get(parent)
        if d is None:
            d = self._dirs[parent] = parent.resolve()
        return d / path.name


# -- rulesets -----------------------------------------------------------------------------------

def weak_min_runs(ruleset: str, benchmark: str, data_scale: str | None) -> int | None:
    """The least number of runs a weak-scaling result needs under `ruleset` (None: unknown).
    The package rules' own reader answers, for MLPerf HPC (mlperf-logging's counts) and SciPerf
    (package.yaml, per data scale) alike."""
    from compliance.package import PackageConfigError, package_rules  # lazy: see find_orgs

    try:
        return package_rules(ruleset).runs("weak", benchmark, data_scale)
    except (PackageConfigError, KeyError):
        return None


def _scaling_factor(result_path: Path) -> float | None:
    # scaling.json: a review committee's normalisation factor, written by mlperf-logging's RCP
    # check. Reported beside the score, not applied: see README "Differences from the summarizer".
    f = result_path / "scaling.json"
    if not f.is_file():
        return None
    try:
        return float(json.loads(f.read_text())["scaling_factor"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- diagnostics --------------------------------------------------------------------------------

def _diag(code: str, message: str, path: Path | str, key: str | None = None,
          line: int | None = None, hint: str = "") -> Diagnostic:
    return Diagnostic(code=code, severity=ERROR, message=message, path=str(path), line=line,
                      key=key, hint=hint)


def _scope_of(diag_path: str, org_dir: Path) -> tuple | None:
    """Where in the org a package finding lies: (system, scaling, benchmark) with None for 'all'.
    None when the finding is outside this org."""
    if not diag_path:
        return (None, None, None)
    p = Path(diag_path)
    if not p.is_absolute():
        candidates = [Path.cwd() / p, org_dir / p]
    else:
        candidates = [p]
    org_abs = org_dir.resolve()
    for c in candidates:
        try:
            rel = Path(os.path.normpath(c.absolute())).relative_to(org_abs)
        except ValueError:
            try:
                rel = c.resolve().relative_to(org_abs)
            except (ValueError, OSError):
                continue
        parts = rel.parts
        if len(parts) >= 2 and parts[0] == "systems":
            return (Path(parts[1]).stem, None, None)
        if len(parts) >= 2 and parts[0] == "results":
            system = parts[1]
            scaling = parts[2] if len(parts) >= 3 and parts[2] in SCALINGS else None
            bench = parts[3] if scaling and len(parts) >= 4 else None
            return (system, scaling, bench)
        if len(parts) >= 2 and parts[0] == "benchmarks":
            return (None, None, parts[1])
        return (None, None, None)
    return None


def _applies(scope: tuple, rd: ResultDir) -> bool:
    system, scaling, bench = scope
    return ((system is None or system == rd.system_id)
            and (scaling is None or scaling == rd.scaling)
            and (bench is None or bench == rd.benchmark))


# -- the report ---------------------------------------------------------------------------------

def build_report(roots: list[str | Path], ruleset: str | None = None, jobs: int = 1,
                 gate: bool = True, bypass: dict | None = None,
                 while_checking: Callable[[], None] | None = None) -> Report:
    """Score every result under `roots`. `gate`: run the compliance and package checks first
    (the CLI always does); `bypass`: compliance.package.load_bypass()'s waivers;
    `while_checking`: work for the main process while the compliance checks run in worker
    processes (the CLI loads its renderers then)."""
    orgs = find_orgs(roots)
    if not orgs:
        raise ReportError(
            "no submission found under " + ", ".join(str(r) for r in roots)
            + " (a submission is a folder ORG/ holding results/ and systems/)")
    report = Report(orgs=orgs, gated=gate)
    result_dirs = [find_result_dirs(org_dir) for org_dir in orgs]
    scans: dict[Path, LogScan | LogReadError] = {}

    def scan_all():
        # Reading the logs for their scores does not wait for the verdicts: it runs while the
        # compliance checks do, and the verdicts decide afterwards which scores count.
        for rd in (rd for dirs in result_dirs for rd in dirs):
            for log in rd.logs:
                try:
                    scans[log] = scan_log(log)
                except LogReadError as e:
                    scans[log] = e
        if while_checking is not None:
            while_checking()

    file_results: dict[Path, object] = {}  # resolved path -> the checker's FileResult
    resolve = _Resolver()
    findings: list[list[Diagnostic]] = [[] for _ in orgs]
    org_rulesets: list[str | None] = [ruleset] * len(orgs)
    if gate:
        from compliance.api import check_logs  # lazy: owned by the compliance helper

        # The main process reads the logs for their scores and runs `while_checking` while the
        # compliance workers check the logs (the longest part): it would otherwise only wait.
        for fr in check_logs([str(r) for r in roots], ruleset=ruleset, jobs=jobs,
                             meanwhile=scan_all):
            file_results[resolve(Path(fr.abspath))] = fr
        org_rulesets, findings = _check_packages(orgs, ruleset, file_results, jobs, bypass)
    else:
        scan_all()

    for org_dir, dirs, org_ruleset, diags in zip(orgs, result_dirs, org_rulesets, findings):
        package_findings = [(scope, d) for d in diags if d.is_error
                            if (scope := _scope_of(d.path, org_dir)) is not None]
        for rd in dirs:
            _add_result(report, rd, org_ruleset, file_results, package_findings, scans, gate,
                        resolve)

    key = lambda r: (SCALINGS.index(r["scaling"]), r["division"], r["benchmark"],
                     r["submitter"].lower(), r["system"].lower(), r["system_id"])
    report.results.sort(key=key)
    report.rejected.sort(key=key)
    return report


# Read by the package-check workers, which inherit it through fork (FileResults are not sent).
_PACKAGE_WORK: tuple = ()


def _package_findings(i: int) -> list[Diagnostic]:
    from compliance.package import check_package  # lazy: owned by the submissions helper

    org_dir, org_ruleset, org_logs, bypass = _PACKAGE_WORK[i]
    return check_package(org_dir, org_ruleset, org_logs, bypass=bypass)


def _check_packages(orgs: list[Path], ruleset: str | None, file_results: dict, jobs: int,
                    bypass: dict | None) -> tuple[list, list]:
    """Each org's ruleset (the one given, else the one most of its logs were checked under) and
    its package findings; orgs are checked in `jobs` processes, largest first."""
    global _PACKAGE_WORK
    work, rulesets = [], []
    for org_dir in orgs:
        inside = os.path.join(org_dir.resolve(), "")  # file_results' keys are resolved paths
        org_logs = {p: fr for p, fr in file_results.items() if str(p).startswith(inside)}
        org_ruleset = ruleset
        if org_ruleset is None:
            claimed = Counter(fr.ruleset for fr in org_logs.values() if fr.ruleset)
            org_ruleset = claimed.most_common(1)[0][0] if claimed else None
        rulesets.append(org_ruleset)
        # No ruleset: every log of the org already failed with the checker's SP301 ("pass
        # --ruleset"); package rules of a guessed ruleset would only add noise.
        work.append((org_dir, org_ruleset, org_logs, bypass) if org_ruleset else None)
    todo = sorted((i for i, w in enumerate(work) if w), key=lambda i: -len(work[i][2]))
    findings: list[list[Diagnostic]] = [[] for _ in orgs]
    from compliance.package import prepare  # lazy: see find_orgs

    for r in sorted({work[i][1] for i in todo}):
        prepare(r)  # rules and RCP tables loaded once, before the workers fork
    _PACKAGE_WORK = tuple(work)
    try:
        jobs = min(jobs, len(todo))
        if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for i in todo:
                findings[i] = _package_findings(i)
        else:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                pending = [(i, pool.apply_async(_package_findings, (i,))) for i in todo]
                for i, result in pending:
                    findings[i] = result.get()
    finally:
        _PACKAGE_WORK = ()
    return rulesets, findings


def _system(report: Report, rd: ResultDir) -> SystemInfo:
    k = (rd.org_dir.name, rd.system_id)
    if k not in report.systems:
        try:
            report.systems[k] = load_system(rd.org_dir, rd.system_id)
        except SystemDescError as e:
            report.systems[k] = e
    got = report.systems[k]
    if isinstance(got, SystemDescError):
        raise got
    return got


def _identity(rd: ResultDir, system: SystemInfo | None) -> dict:
    return {
        "submitter": system.submitter if system else rd.org_dir.name,
        "org": rd.org_dir.name,
        "system": system.system if system else rd.system_id,
        "system_id": rd.system_id,
        "division": system.division if system else "",
        "benchmark": rd.benchmark,
        "scaling": rd.scaling,
        "path": str(rd.path),
    }


def _add_result(report: Report, rd: ResultDir, org_ruleset: str | None, file_results: dict,
                package_findings: list, scans: dict, gate: bool,
                resolve: Callable[[Path], Path] = Path.resolve) -> None:
    errors: list[Diagnostic] = []
    try:
        system = _system(report, rd)
    except SystemDescError as e:
        system = None
        errors.append(_diag(RP_SYSTEM, str(e), rd.org_dir / "systems" / f"{rd.system_id}.json",
                            hint="add the description with every field the tables show"))
    errors.extend(d for scope, d in package_findings if _applies(scope, rd))

    passing: list[LogScan] = []
    missed: list[str] = []  # runs that did not reach the target: olympic scoring drops them
    rulesets = Counter()
    for log in rd.logs:
        fr = file_results.get(resolve(log)) if gate else None
        if gate and fr is None:
            errors.append(_diag(RP_NOT_CHECKED, "the compliance checker did not report on this "
                                "log", log))
            continue
        if fr is not None and fr.ruleset:
            rulesets[fr.ruleset] += 1
        scan = scans[log]
        if isinstance(scan, LogReadError):
            scan, read_error = None, scan
        if scan is not None and not scan.finished:
            # A run that stopped short of the target (run_stop "aborted", or none: it did not
            # finish) counts as the slowest run, whatever else its log says; more than one such
            # run is the package check's SP403 and leaves no olympic mean.
            missed.append(log.name)
            continue
        if fr is not None and fr.verdict != "pass":
            # A finished run whose log breaks the rules keeps the whole result out. The checker
            # shows paths relative to the ROOT they were found under; with several ROOTs that
            # is ambiguous, so the rejected list names the log as found.
            errors.extend(replace(d, path=str(log)) if d.path == fr.path else d
                          for d in fr.diagnostics if d.is_error)
            continue
        if scan is None:
            errors.append(_diag(RP_LOG, str(read_error), log))
            continue
        if scan.run_start_ms is None:
            errors.append(_diag(RP_LOG, f"no {RUN_START} record", log, key=RUN_START,
                                hint="a scored run needs run_start and run_stop"))
            continue
        if scan.run_stop_ms < scan.run_start_ms:
            errors.append(_diag(RP_LOG, f"run_stop (line {scan.run_stop_line}) is earlier than "
                                f"run_start (line {scan.run_start_line})", log,
                                line=scan.run_stop_line, key=RUN_STOP))
            continue
        passing.append(scan)
    # The ruleset the checker applied to these logs; ungated, the one given or the logs' claim.
    ruleset = (rulesets.most_common(1)[0][0] if rulesets else None) or org_ruleset or (
        next((s.ruleset for s in passing if s.ruleset), None))

    row = dict.fromkeys(RESULT_FIELD_NAMES)
    row.update(_identity(rd, system))
    if system is not None:
        row.update(system.columns())
    row.update({
        "ruleset": ruleset,
        "data_scale": next((s.data_scale for s in passing if s.data_scale), None),
        "runs": len(rd.logs),
        "runs_dropped": len(missed),
        "dropped_logs": missed,
    })

    if not rd.logs:
        errors.append(_diag(RP_NO_LOGS, "no result_*.txt in this result folder", rd.path))
    elif rd.scaling == "strong":
        s = score_strong(passing, len(missed))
        row.update({
            "time_to_train_minutes": s.time_to_train_minutes,
            "run_times_minutes": s.run_times_minutes,
            "global_batch_size": _common(p.global_batch_size for p in passing),
            "scaling_factor": _scaling_factor(rd.path),
        })
        if s.time_to_train_minutes is None:
            code = RP_FAILED_RUNS if len(missed) > MAX_DROPPED_RUNS else RP_TOO_FEW
            errors.append(_diag(code, s.reason, rd.path))
    else:
        required = weak_min_runs(ruleset, rd.benchmark, row["data_scale"]) if ruleset else None
        if required is None:
            errors.append(_diag(RP_RULESET, f"no weak-scaling run count known for {rd.benchmark!r}"
                                f" under ruleset {ruleset!r}", rd.path,
                                hint="give --ruleset, or use a benchmark the ruleset defines"))
        else:
            try:
                w = score_weak(passing, len(missed), required)
            except (TypeError, ValueError):
                bad = next(p for p in passing if not _has_scale(p))
                errors.append(_diag(RP_LOG, f"{bad.path}: number_of_nodes / accelerators_per_node "
                                    "missing or not whole numbers", bad.path))
            else:
                row.update({
                    "number_of_models": w.number_of_models,
                    "instance_scale": w.instance_scale,
                    "time_to_train_all_minutes": w.time_to_train_all_minutes,
                    "models_per_minute": w.models_per_minute,
                    "global_batch_size": _common(p.global_batch_size for p in passing),
                })
                if w.time_to_train_all_minutes is None:
                    code = RP_SCALE if w.number_of_models >= required else RP_TOO_FEW
                    errors.append(_diag(code, w.reason, rd.path))

    if errors:
        rejected = _identity(rd, system)
        rejected["ruleset"] = ruleset
        rejected["diagnostics"] = [d.to_json() for d in _dedup(errors)]
        report.rejected.append(rejected)
    else:
        report.results.append(row)


def _has_scale(scan: LogScan) -> bool:
    try:
        scan.instance_scale
        return True
    except (TypeError, ValueError):
        return False


def _common(values):
    vals = {v for v in values if v is not None}
    return vals.pop() if len(vals) == 1 else None


def _dedup(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diags:
        k = (d.code, d.path, d.line, d.key, d.message)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return out
