"""The consumer side as one pipeline: find, scan, check each log once, check each package.

    checked = check_paths(["submissions/"], jobs=2)
    checked.logs       # FileResult per log: verdict, diagnostics, run summary
    checked.packages   # PackageResult per submission found: findings, result folders, systems

`check-compliance` prints it; `sciperf report` scores from it. Each log is opened and parsed
once (in worker processes); the package checks and the report work from the run summaries
that pass made. Submission trees are scanned before any log is opened, so a link that leaves
a tree (SP408) is never followed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sciperf import layout
from sciperf.layout import ResultFolder

from . import package, registry
from .api import FAIL, PASS, FileResult, PathError, check_found, find_logs
from .diagnostics import ERROR, Diagnostic
from .sysdesc import SystemDoc
from .waivers import Waiver


@dataclass
class PackageResult:
    path: str  # the submission folder, relative to the PATH argument it was found under
    abspath: Path
    verdict: str
    ruleset: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    results: list[ResultFolder] = field(default_factory=list)
    descriptions: dict[str, SystemDoc] = field(default_factory=dict)  # by system id
    org_dir: Path | None = None  # as found under the PATH argument
    inference: list[ResultFolder] = field(default_factory=list)  # inference results

    def to_json(self) -> dict:
        return {"path": self.path, "verdict": self.verdict, "ruleset": self.ruleset,
                "diagnostics": [d.to_json() for d in self.diagnostics]}


@dataclass
class Checked:
    logs: list[FileResult]
    packages: list[PackageResult]
    # the log results by absolute path, for the consumers that go from a tree to its logs
    by_path: dict[Path, FileResult] = field(default_factory=dict)


class PackageRequestError(Exception):
    """--package on a PATH that holds no submission: the tool cannot run."""


def check_paths(paths: list[str | Path], ruleset: str | None = None, jobs: int = 1, *,
                werror: bool = False, package_checks: bool | None = None,
                bypass: list[Waiver] | None = None, paths_as_found: bool = False,
                meanwhile: Callable[[], None] | None = None) -> Checked:
    """Check every log under `paths` and, unless `package_checks` is False, every submission
    tree at or below them (True: every PATH must hold one). Package findings name their files
    relative to the PATH they were found under, as the per-log results do, or, with
    `paths_as_found`, as found (the PATH joined with the path below it). Raises PathError,
    UnknownRuleset, RulesError, PackageConfigError and PackageRequestError: the tool cannot
    run."""
    if ruleset is not None:
        registry.load(ruleset)
    scans: list[tuple[Path, str, package.Submission]] = []  # (org as found, shown, scan)
    if package_checks is not False:
        seen: set[str] = set()
        for arg in paths:
            root = Path(arg)
            if not root.exists():
                raise PathError(f"{arg}: no such file or directory")
            if not root.is_dir():
                if package_checks:
                    raise PackageRequestError(f"{arg}: --package needs a submission folder, "
                                              "not a file")
                continue
            orgs = layout.find_submissions(root)
            if not orgs and package_checks:
                raise PackageRequestError(f"{arg}: no submission (a folder with results/) at "
                                          "or below it")
            for org in orgs:
                org_abs = os.path.abspath(org)
                if org_abs in seen:
                    continue
                seen.add(org_abs)
                shown = Path(os.path.relpath(org_abs, os.path.abspath(root))).as_posix()
                show_as = None if paths_as_found else _show_as(root, org)
                scans.append((Path(org), shown, package.scan_layout(Path(org), show_as=show_as)))
    refused = {os.path.abspath(p) for _, _, s in scans for p in s.refused}
    items = [(shown, p) for shown, p in find_logs(paths) if str(p) not in refused]

    def alongside():
        # What needs no log: the rest of each scan (descriptions validated, bypass files read)
        # and the package rules (for MLPerf rulesets, numpy and the RCP tables), while the
        # workers check the logs; then the caller's own work.
        for _, _, sub in scans:
            package.complete(sub)
        if ruleset is not None and scans:
            package.prepare(ruleset)
        if meanwhile is not None:
            meanwhile()

    logs = check_found(items, ruleset, jobs, werror=werror, meanwhile=alongside)
    by_path = {Path(fr.abspath): fr for fr in logs}
    packages = []
    for org, shown, sub in scans:
        org_abs = os.path.abspath(org)
        mine = {str(p): fr for p, fr in by_path.items() if _is_within(str(p), org_abs)}
        org_ruleset = package.choose_ruleset(ruleset, (fr.ruleset for fr in mine.values()))
        diags = package.check_package(sub, org_ruleset, mine, bypass)
        if werror:
            diags = [_promote(d) for d in diags]
        _scope_log_findings(sub, by_path)
        verdict = FAIL if any(d.severity == ERROR for d in diags) else PASS
        packages.append(PackageResult(shown, Path(org_abs), verdict, org_ruleset, diags,
                                      sub.results, sub.descriptions, org, sub.inference))
    return Checked(logs, packages, by_path)


def _show_as(root: Path, org: Path) -> str:
    """How an org's findings print: relative to the PATH argument, as the per-log findings of
    its files do."""
    rel = os.path.relpath(os.path.abspath(org), os.path.abspath(root))
    return rel if rel != "." else "."


def _scope_log_findings(sub: package.Submission, by_path: dict[Path, FileResult]) -> None:
    """Give the per-log findings of every log of the submission its place (org, system,
    scaling, benchmark, log), so that it travels with them."""
    for r in sub.results:
        for log in r.logs:
            fr = by_path.get(Path(os.path.abspath(log)))
            if fr is None:
                continue
            scope = layout.Scope(sub.org, r.system, r.scaling, r.benchmark, log.name)
            fr.diagnostics = [replace(d, scope=scope) for d in fr.diagnostics]
    for r in sub.inference:
        for log in r.logs:
            fr = by_path.get(Path(os.path.abspath(log)))
            if fr is not None:
                fr.diagnostics = [replace(d, scope=r.scope) for d in fr.diagnostics]


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _promote(d: Diagnostic) -> Diagnostic:
    from .diagnostics import WARNING

    if d.severity != WARNING:
        return d
    return replace(d, severity=ERROR, extra={**d.extra, "werror": True})
