"""From submission trees to result rows: gate every result through the checks, then score it.

A *result* is one system x scaling x benchmark folder (sciperf/layout.py). The compliance
pipeline (compliance.pipeline.check_paths) checks every log once and every submission's
package; the rows are made from what it learnt: each log's verdict and run summary, each
package's findings (with their scope), result folders and system descriptions. No log or
description is read again here.

A result enters the tables when
  * every run that finished (run_stop with status success) has a log that passes its checks:
    one broken log keeps the whole result out;
  * at most one run missed the target (run_stop aborted, or no run_stop): olympic scoring drops
    it as the slowest run, weak scaling does not count it as a model;
  * no package finding whose scope covers it is an error (waived findings are warnings);
  * it can be scored (enough finished runs, one instance scale, a usable system description).
Anything else goes to the rejected list with the diagnostics that kept it out.

`build_report(..., gate=False)` skips the checks and scores every log that can be read: it is
what the exactness tests use to compare the arithmetic with the summarizer's on its own terms.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from compliance import codes
from compliance.api import FileResult, summarize_file
from compliance.diagnostics import Diagnostic
from compliance.package import PackageConfigError, choose_ruleset, package_rules, scan
from compliance.pipeline import PackageResult, check_paths
from compliance.summary import RunSummary
from reports.schema import RESULT_FIELD_NAMES
from reports.scoring import MAX_DROPPED_RUNS, score_strong, score_weak
from reports.systems import SystemDescError, SystemInfo, system_info
from sciperf import layout
from sciperf.layout import ResultFolder
from sciperf.vocab import BENCHMARKS, RUN_START, RUN_STOP


class ReportError(Exception):
    """The report cannot be made at all (no submission found, ...)."""


@dataclass
class Report:
    results: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    systems: dict = field(default_factory=dict)  # (org folder, system_id) -> SystemInfo
    orgs: list[Path] = field(default_factory=list)
    gated: bool = True
    inference: list[dict] = field(default_factory=list)  # reports/inference.py's rows


def weak_min_runs(ruleset: str, benchmark: str, data_scale: str | None) -> int | None:
    """The least number of runs a weak-scaling result needs under `ruleset` (None: unknown).
    The package rules' own reader answers, for MLPerf HPC (mlperf-logging's counts) and SciPerf
    (package.yaml, per data scale) alike."""
    try:
        return package_rules(ruleset).runs(layout.WEAK, benchmark, data_scale)
    except (PackageConfigError, KeyError):
        return None


def _diag(code: str, message: str, path: Path | str, scope: layout.Scope, key: str | None = None,
          line: int | None = None, hint: str | None = None) -> Diagnostic:
    return replace(codes.make(code, message, path=str(path), line=line, key=key, hint=hint),
                   scope=scope)


# -- the report ---------------------------------------------------------------------------------

def build_report(roots: list[str | Path], ruleset: str | None = None, jobs: int = 1,
                 gate: bool = True, bypass: list | None = None,
                 while_checking: Callable[[], None] | None = None) -> Report:
    """Score every result under `roots`. `gate`: run the compliance and package checks first
    (the CLI always does); `bypass`: compliance.waivers.load_bypass()'s waivers;
    `while_checking`: work for the main process while the compliance checks run in worker
    processes (the CLI loads its renderers then)."""
    for root in roots:
        if not Path(root).exists():
            raise ReportError(f"{root}: no such file or directory")
    if gate:
        checked = check_paths(roots, ruleset, jobs, bypass=bypass, paths_as_found=True,
                              meanwhile=while_checking)
        packages, logs = checked.packages, checked.by_path
    else:
        packages, logs = _unchecked(roots, ruleset)
        if while_checking is not None:
            while_checking()
    if not packages:
        raise ReportError(
            "no submission found under " + ", ".join(str(r) for r in roots)
            + " (a submission is a folder ORG/ holding results/ and systems/)")
    report = Report(orgs=[p.org_dir for p in packages], gated=gate)
    for pkg in packages:
        errors = [d for d in pkg.diagnostics if d.is_error]
        for rf in pkg.results:
            _add_result(report, pkg, rf, logs, errors, gate)
        if gate:  # inference results are only ever reported checked
            for rf in pkg.inference:
                _add_inference(report, pkg, rf, logs, errors)

    def key(r):
        return (layout.RESULT_KINDS.index(r["scaling"]), r["division"], r["benchmark"],
                r.get("scenario") or "", r["submitter"].lower(), r["system"].lower(),
                r["system_id"])

    report.results.sort(key=key)
    report.rejected.sort(key=key)
    report.inference.sort(key=key)
    return report


def _unchecked(roots, ruleset) -> tuple[list[PackageResult], dict]:
    """The trees scanned and their logs summarised, without any check (gate=False)."""
    packages, logs, seen = [], {}, set()
    for root in roots:
        for org in layout.find_submissions(Path(root)):
            if org.resolve() in seen:
                continue
            seen.add(org.resolve())
            sub = scan(org)
            for log in sub.logs():
                summary = summarize_file(log)
                logs[_key(log)] = FileResult(str(log), _key(log), "pass", summary.ruleset, None,
                                             [], summary)
            org_ruleset = choose_ruleset(ruleset, (logs[_key(p)].ruleset for p in sub.logs()))
            packages.append(PackageResult(str(org), org.absolute(), "pass", org_ruleset, [],
                                          sub.results, sub.descriptions, org))
    return packages, logs


def _system(report: Report, pkg: PackageResult, system_id: str) -> SystemInfo:
    k = (pkg.org_dir.name, system_id)
    if k not in report.systems:
        path = layout.system_file(pkg.org_dir, system_id)
        try:
            report.systems[k] = system_info(system_id, path, pkg.descriptions.get(system_id))
        except SystemDescError as e:
            report.systems[k] = e
    got = report.systems[k]
    if isinstance(got, SystemDescError):
        raise got
    return got


def _add_inference(report: Report, pkg: PackageResult, rf: ResultFolder, logs: dict,
                   package_errors: list[Diagnostic]) -> None:
    from reports.inference import add_inference

    system_errors = []
    try:
        system = _system(report, pkg, rf.system)
    except SystemDescError as e:
        system = None
        system_errors.append(_diag("RP001", str(e), layout.system_file(rf.org_dir, rf.system),
                                   layout.Scope(rf.org_dir.name, rf.system)))
    add_inference(report, pkg, rf, logs, package_errors, system, _identity(rf, system),
                  system_errors)


def _identity(rf: ResultFolder, system: SystemInfo | None) -> dict:
    return {
        "submitter": system.submitter if system else rf.org_dir.name,
        "org": rf.org_dir.name,
        "system": system.system if system else rf.system,
        "system_id": rf.system,
        "division": system.division if system else "",
        "benchmark": rf.benchmark,
        "scaling": rf.scaling,
        "path": str(rf.path),
    }


def _add_result(report: Report, pkg: PackageResult, rf: ResultFolder, logs: dict,
                package_errors: list[Diagnostic], gate: bool) -> None:
    scope = rf.scope
    errors: list[Diagnostic] = []
    try:
        system = _system(report, pkg, rf.system)
    except SystemDescError as e:
        system = None
        errors.append(_diag("RP001", str(e), layout.system_file(rf.org_dir, rf.system),
                            layout.Scope(scope.org, rf.system)))
    errors.extend(d for d in package_errors if d.scope is None or d.scope.covers(scope))

    passing: list[RunSummary] = []
    passing_logs: list[Path] = []
    missed: list[str] = []  # runs that did not reach the target: olympic scoring drops them
    rulesets = Counter()
    for log in rf.logs:
        log_scope = replace(scope, log=log.name)
        fr = logs.get(_key(log))
        if fr is None:
            errors.append(_diag("RP007", "the compliance checker did not report on this log",
                                log, log_scope))
            continue
        if gate and fr.ruleset:
            rulesets[fr.ruleset] += 1
        s = fr.summary
        if s is None:  # unreadable: its own finding (SP006) says why
            errors.extend(replace(d, path=str(log)) for d in fr.diagnostics if d.is_error)
            continue
        if s.logged and not s.finished:
            # A run that stopped short of the target (run_stop "aborted", or none: it did not
            # finish) counts as the slowest run, whatever else its log says; more than one such
            # run is the package check's SP403 and leaves no olympic mean.
            missed.append(log.name)
            continue
        if gate and fr.verdict != "pass":
            # A finished run whose log breaks the rules keeps the whole result out; the
            # rejected list names the log as found under ROOT.
            errors.extend(replace(d, path=str(log)) if d.path == fr.path else d
                          for d in fr.diagnostics if d.is_error)
            continue
        if s.run_start is None:
            errors.append(_diag("RP002", f"no {RUN_START} record", log, log_scope,
                                key=RUN_START, hint="a scored run needs run_start and run_stop"))
            continue
        if s.run_stop is None:
            errors.append(_diag("RP002", f"no {RUN_STOP} record", log, log_scope, key=RUN_STOP))
            continue
        if s.run_stop.time_ms < s.run_start.time_ms:
            errors.append(_diag("RP002", f"run_stop (line {s.run_stop.line}) is earlier than "
                                f"run_start (line {s.run_start.line})", log, log_scope,
                                line=s.run_stop.line, key=RUN_STOP))
            continue
        passing.append(s)
        passing_logs.append(log)
    # The ruleset the checker applied to these logs; ungated, the one given or the logs' claim.
    ruleset = (rulesets.most_common(1)[0][0] if rulesets else None) or pkg.ruleset or (
        next((s.ruleset for s in passing if s.ruleset), None))

    row = dict.fromkeys(RESULT_FIELD_NAMES)
    row.update(_identity(rf, system))
    if system is not None:
        row.update(system.columns())
    row.update({
        "ruleset": ruleset,
        "data_scale": next((s.data_scale for s in passing if s.data_scale), None),
        "method": _common(s.method for s in passing),
        "runs": len(rf.logs),
        "runs_dropped": len(missed),
        "dropped_logs": missed,
    })
    row.update(_panel(rf.benchmark, passing))

    if not rf.logs:
        errors.append(_diag("RP006", "no result_*.txt in this result folder", rf.path, scope))
    elif rf.scaling == layout.STRONG:
        s = score_strong([p.time_to_train_minutes for p in passing], len(missed))
        factor = rf.scaling_factor
        row.update({
            "time_to_train_minutes": (s.time_to_train_minutes * factor
                                      if factor is not None and s.time_to_train_minutes
                                      is not None else s.time_to_train_minutes),
            "unscaled_time_to_train_minutes": s.time_to_train_minutes,
            "run_times_minutes": s.run_times_minutes,
            "global_batch_size": _common(p.global_batch_size for p in passing),
            "scaling_factor": factor,
        })
        if s.time_to_train_minutes is None:
            code = "RP003" if len(missed) > MAX_DROPPED_RUNS else "RP004"
            errors.append(_diag(code, s.reason, rf.path, scope))
    else:
        required = weak_min_runs(ruleset, rf.benchmark, row["data_scale"]) if ruleset else None
        if required is None:
            errors.append(_diag("RP008", f"no weak-scaling run count known for "
                                f"{rf.benchmark!r} under ruleset {ruleset!r}", rf.path, scope))
        else:
            try:
                w = score_weak(passing, len(missed), required)
            except (TypeError, ValueError, OverflowError):
                bad = next(log for log, p in zip(passing_logs, passing) if not _has_scale(p))
                errors.append(_diag("RP002", "number_of_nodes / accelerators_per_node missing "
                                    "or not whole numbers", bad, replace(scope, log=bad.name)))
            else:
                row.update({
                    "number_of_models": w.number_of_models,
                    "instance_scale": w.instance_scale,
                    "time_to_train_all_minutes": w.time_to_train_all_minutes,
                    "models_per_minute": w.models_per_minute,
                    "global_batch_size": _common(p.global_batch_size for p in passing),
                })
                if w.time_to_train_all_minutes is None:
                    code = "RP005" if w.number_of_models >= required else "RP004"
                    errors.append(_diag(code, w.reason, rf.path, scope))

    if errors:
        rejected = _identity(rf, system)
        rejected["ruleset"] = ruleset
        rejected["diagnostics"] = [d.to_json() for d in _dedup(errors)]
        report.rejected.append(rejected)
    else:
        report.results.append(row)


def _panel(benchmark: str, runs: list[RunSummary]) -> dict:
    """A blueprint result's panel: each metric's mean over the runs that log it, and the
    spread (max - min)."""
    bench = BENCHMARKS.get(benchmark)
    if bench is None or not bench.panel:
        return {"panel": None}
    panel = {}
    for key in bench.panel:
        values = [float(s.panel[key].value) for s in runs if key in s.panel
                  and isinstance(s.panel[key].value, (int, float))
                  and not isinstance(s.panel[key].value, bool)]
        if values:
            panel[key] = {"mean": sum(values) / len(values), "spread": max(values) - min(values),
                          "runs": len(values)}
    return {"panel": panel or None}


def _key(path: Path) -> Path:
    """How the pipeline keys its log results: the absolute path, normalised."""
    return Path(os.path.abspath(path))


def _has_scale(s: RunSummary) -> bool:
    try:
        s.instance_scale
        return True
    except (TypeError, ValueError, OverflowError):
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
