"""Package checks: a submission tree as a whole, in the MLPerf HPC layout (sciperf/layout.py).

The per-log rules say whether each log is compliant; these say whether an organisation's
folder is a submission: its layout, how many runs each benchmark has, that at most one of them
missed the target, that seeds differ and hyperparameters do not, that every system has a valid
description, that the implementation's code is there, and that nothing leaves the tree.

Two steps, so that nothing is read twice and nothing refused is ever opened:

1. `scan(org_dir)` walks the tree once: links that leave it (SP408, never followed again), the
   layout (SP401, SP409), the result folders and their logs, the bypass files in the tree, the
   system descriptions (read and validated once, SP407) and the implementation folders;
2. `check(submission, rules, logs)` judges it from that scan and from the run summaries the
   per-log checks made of its logs (compliance/summary.py): no log is read here.

Findings are `Diagnostic`s with SP4xx codes and a scope (org, system, scaling, benchmark, log)
that the report uses to tell which results they keep out. Their paths are the org folder as the
caller shows it joined with the path inside the tree, so they print the same way as the per-log
findings of files found under the same PATH.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sciperf import layout, safeyaml, vocab
from sciperf.layout import ResultFolder, Scope

from . import codes, sysdesc, waivers
from .diagnostics import ERROR, WARNING, Diagnostic
from .summary import RunSummary

HERE = Path(__file__).resolve().parent
RULESETS_DIR = HERE / "rulesets"


class PackageConfigError(ValueError):
    """The package rules cannot be loaded (unknown ruleset, unreadable package.yaml): the tool
    cannot run (exit 2), which is not a finding about the tree."""


# -- the ruleset's package rules ----------------------------------------------------------------


@dataclass(frozen=True)
class PackageRules:
    ruleset: str
    # benchmark -> {data scale -> number of runs}; the key None holds the number for runs that
    # log no scale (MLPerf's), which is the largest of the scales'. The keys of `strong` are
    # the ruleset's benchmarks.
    strong: dict  # exact number of strong-scaling runs
    weak_min: dict  # least number of weak-scaling runs (model instances)
    max_missed: int
    source: str  # where the numbers come from, quoted in messages
    mlperf: tuple[str, str] | None = None  # ("hpc", "2.0.0") for MLPerf rulesets
    statuses: tuple[str, ...] | None = None  # allowed system `status` values, where fixed

    def runs(self, scaling: str, benchmark: str, scale: str | None) -> int:
        table = (self.strong if scaling == layout.STRONG else self.weak_min)[benchmark]
        return table.get(scale, table[None])


@lru_cache(maxsize=None)
def package_rules(ruleset: str) -> PackageRules:
    """The package rules of a ruleset: MLPerf HPC's from mlperf-logging itself, SciPerf's from
    compliance/rulesets/<ruleset>/package.yaml."""
    if ruleset in vocab.RULESETS_HPC:
        from mlperf_logging.benchmark_meta import get_allowed_benchmarks, get_result_file_counts

        version = ruleset.split("-", 1)[1]
        counts = get_result_file_counts("hpc")
        strong = {b: {None: counts[b]} for b in get_allowed_benchmarks("hpc", version)}
        # mlperf-logging's package_checker: exact count for strong scaling, the same number as a
        # minimum for weak scaling, and one non-compliant run accepted "under olympic scoring".
        return PackageRules(ruleset, strong, dict(strong), 1,
                            "mlperf_logging.benchmark_meta, as its package_checker uses it",
                            mlperf=("hpc", version))
    path = RULESETS_DIR / ruleset / "package.yaml"
    if not path.is_file():
        known = sorted([*vocab.RULESETS_HPC,
                        *(p.parent.name for p in RULESETS_DIR.glob("*/package.yaml"))])
        raise PackageConfigError(f"no package rules for ruleset {ruleset!r} ({path} is missing); "
                                 f"known: {', '.join(known)}")
    try:
        raw = safeyaml.load_file(path)
    except safeyaml.YamlError as e:
        raise PackageConfigError(f"cannot read the package rules: {e}") from None
    try:
        default = raw["default"]
        overrides = raw.get("benchmarks") or {}
        unknown = set(overrides) - set(vocab.BENCHMARKS)
        if unknown:
            raise ValueError(f"benchmarks: unknown benchmark(s) {', '.join(sorted(unknown))}")
        per = {b: {**default, **(overrides.get(b) or {})} for b in vocab.BENCHMARKS}
        strong = {b: _per_scale(v["strong"], f"{b}.strong") for b, v in per.items()}
        weak = {b: _per_scale(v["weak_min"], f"{b}.weak_min") for b, v in per.items()}
        max_missed = _count(raw["max_missed"], "max_missed", minimum=0)
    except (KeyError, TypeError, ValueError) as e:
        raise PackageConfigError(f"{path}: {e}") from None
    return PackageRules(ruleset, strong, weak, max_missed, str(path.relative_to(HERE.parent)),
                        statuses=vocab.STATUSES)


def _per_scale(v, name: str) -> dict:
    """A number for every scale, from one number or a {scale: number} mapping."""
    if not isinstance(v, dict):
        v = {s: v for s in vocab.SCALES}
    if set(v) != set(vocab.SCALES):
        raise ValueError(f"{name} must give a number for each scale ({', '.join(vocab.SCALES)})")
    table = {s: _count(n, f"{name}.{s}") for s, n in v.items()}
    return {**table, None: max(table.values())}


def _count(v, name: str, minimum: int = 1) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, not {v!r}")
    return v


def choose_ruleset(given: str | None, claimed) -> str | None:
    """The ruleset an org's package is checked (and scored) under: the one given, else the one
    most of its checked logs were checked against (`claimed`: their rulesets, None for a log no
    ruleset ran on), else None. The one place this is decided."""
    if given is not None:
        return given
    seen = Counter(r for r in claimed if r)
    return seen.most_common(1)[0][0] if seen else None


# -- step 1: the scan ---------------------------------------------------------------------------


@dataclass
class Submission:
    """What one walk of an org folder found."""
    org_dir: Path
    show_as: Path | None = None
    findings: list[Diagnostic] = field(default_factory=list)
    refused: set[Path] = field(default_factory=set)  # lexical paths of links not followed
    results: list[ResultFolder] = field(default_factory=list)
    # inference results: results/SYSTEM/inference/BENCH/SCENARIO/ (logs: its sciperf_log.txt)
    inference: list[ResultFolder] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)  # the folders under results/
    descriptions: dict[str, sysdesc.SystemDoc] = field(default_factory=dict)  # by file stem
    waivers: list[waivers.Waiver] = field(default_factory=list)  # from the tree's bypass files
    implemented: set[str] = field(default_factory=set)  # benchmarks whose code is there

    @property
    def org(self) -> str:
        return self.org_dir.name

    def show(self, p: Path) -> str:
        """p as printed: under show_as when given, else as built on org_dir."""
        if self.show_as is None:
            return str(p)
        return (self.show_as / p.relative_to(self.org_dir)).as_posix()

    def finding(self, code: str, message: str, path: Path, *, severity: str | None = None,
                line: int | None = None, key: str | None = None, hint: str | None = None,
                extra=None, system=None, scaling=None, benchmark=None,
                log=None, scenario=None) -> Diagnostic:
        default = codes.CODES[code]
        return Diagnostic(code=code, severity=severity or default.severity, message=message,
                          path=self.show(path), line=line, key=key,
                          hint=default.hint if hint is None else hint, extra=dict(extra or {}),
                          scope=Scope(self.org, system, scaling, benchmark, log, scenario))

    def add(self, *args, **kw) -> None:
        self.findings.append(self.finding(*args, **kw))

    def logs(self) -> list[Path]:
        return [p for r in self.results for p in r.logs]


def scan(org_dir: Path, show_as: str | Path | None = None) -> Submission:
    """Walk one org folder (see the module doc). Never raises on the tree's content."""
    return complete(scan_layout(org_dir, show_as))


def scan_layout(org_dir: Path, show_as: str | Path | None = None) -> Submission:
    """The first half of scan: the links that leave the tree and the layout, which decide what
    may be opened. The rest (complete) reads no log and can run while the logs are checked."""
    sub = Submission(Path(org_dir), Path(show_as) if show_as is not None else None)
    _Scan(sub).layout_phase()
    return sub


def complete(sub: Submission) -> Submission:
    """The second half of scan: the bypass files, the descriptions, the implementations."""
    _Scan(sub).contents_phase()
    return sub


class _Scan:
    def __init__(self, sub: Submission):
        self.sub = sub
        self.root = sub.org_dir.resolve()

    def layout_phase(self) -> None:
        self.escapes()
        self.layout()

    def contents_phase(self) -> None:
        self.params()
        self.descriptions()
        self.implementations()

    def entries(self, folder: Path) -> list[Path]:
        try:
            return sorted((p for p in folder.iterdir() if p not in self.sub.refused),
                          key=_natural)
        except OSError as e:
            self.sub.add("SP401", f"cannot list the folder: {e.strerror}", folder)
            return []

    # SP408: nothing leaves the tree
    def escapes(self) -> None:
        sub, folders = self.sub, [self.sub.org_dir]
        while folders:
            folder = folders.pop()
            try:  # scandir's entries know whether they are links without another stat
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue  # as os.walk does; the layout checks report what they cannot list
            for e in entries:
                if not e.is_symlink():
                    if e.is_dir(follow_symlinks=False):
                        folders.append(folder / e.name)
                    continue
                p = folder / e.name
                target = os.readlink(p)
                try:
                    real = p.resolve(strict=True)
                except (OSError, RuntimeError):
                    sub.refused.add(p)
                    sub.add("SP408", f"symlink to {target} dangles or loops", p,
                            hint="replace the link by the file itself")
                    continue
                if not real.is_relative_to(self.root):
                    sub.refused.add(p)
                    sub.add("SP408", f"symlink to {target} leaves the submission tree "
                            f"(resolves to {real}); it is not read", p,
                            hint="copy the file into the tree; a submission must be "
                                 "self-contained")

    # SP401/SP409: layout
    def layout(self) -> None:
        sub = self.sub
        org = sub.org_dir
        results = org / layout.RESULTS
        if not (org / layout.SYSTEMS).is_dir():
            sub.add("SP401", "no systems/ folder: every system needs systems/<system>.json",
                    org / layout.SYSTEMS, hint="run `sciperf package` to write it")
        for p in self.entries(org):
            if p.name not in layout.KNOWN_IN_ORG and not p.name.startswith("."):
                sub.add("SP409", f"{'folder' if p.is_dir() else 'file'} not part of the "
                        "submission layout", p, severity=WARNING,
                        hint="an org folder holds results/, systems/ and benchmarks/ only")
        if not results.is_dir():
            sub.add("SP401", "no results/ folder", results)
            return
        for sysdir in self.entries(results):
            if not sysdir.is_dir():
                sub.add("SP409", "file in results/, where only system folders belong", sysdir,
                        severity=WARNING, hint="move it out of results/ (or into a system's "
                                               "notes in systems/<system>.json)")
                continue
            system = sysdir.name
            sub.systems.append(system)
            scalings = []
            inference = False
            for p in self.entries(sysdir):
                if p.name in layout.SCALINGS and p.is_dir():
                    scalings.append(p)
                elif p.name == layout.INFERENCE and p.is_dir():
                    inference = True
                    self.inference(system, p)
                elif p.name in layout.KNOWN_IN_SYSTEM and p.is_file():
                    continue
                elif p.is_dir():
                    sub.add("SP401", f"results/{system}/{p.name}/ is neither strong/, weak/ "
                            "nor inference/", p, system=system,
                            hint="put time-to-train runs in strong/<benchmark>/, throughput "
                                 "runs in weak/<benchmark>/ and inference results in "
                                 "inference/<benchmark>/<scenario>/")
                elif p.name != layout.PARAMS_FILE:
                    sub.add("SP409", "file not part of the submission layout", p,
                            severity=WARNING, system=system)
            if not scalings and not inference:
                sub.add("SP401", f"system folder {system} holds no strong/ or weak/ results",
                        sysdir, system=system)
            for scdir in scalings:
                found = False
                for bdir in self.entries(scdir):
                    if not bdir.is_dir():
                        sub.add("SP409", "file not part of the submission layout", bdir,
                                severity=WARNING, system=system, scaling=scdir.name)
                        continue
                    found = True
                    sub.results.append(self.result(system, scdir.name, bdir))
                if not found:
                    sub.add("SP401", f"{scdir.name}/ holds no benchmark folder", scdir,
                            system=system, scaling=scdir.name)

    def inference(self, system: str, folder: Path) -> None:
        """results/SYSTEM/inference/BENCH/SCENARIO/: one inference result per scenario folder
        (its files are the per-log check's: compliance/inference.py)."""
        sub = self.sub
        known = {layout.INFERENCE_LOG, layout.PERFORMANCE, layout.ACCURACY}
        for bdir in self.entries(folder):
            where = dict(system=system, scaling=layout.INFERENCE, benchmark=bdir.name)
            if not bdir.is_dir():
                sub.add("SP409", "file not part of the submission layout", bdir,
                        severity=WARNING, system=system, scaling=layout.INFERENCE)
                continue
            for sdir in self.entries(bdir):
                if not sdir.is_dir() or sdir.name not in layout.SCENARIOS:
                    sub.add("SP401", f"inference/{bdir.name}/{sdir.name} is not a scenario "
                            f"folder ({', '.join(layout.SCENARIOS)})", sdir,
                            hint="`sciperf infer --org --system` lays inference results out",
                            **where)
                    continue
                rf = ResultFolder(sub.org_dir, system, layout.INFERENCE, bdir.name, sdir,
                                  scenario=sdir.name)
                for p in self.entries(sdir):
                    if p.name == layout.INFERENCE_LOG and p.is_file():
                        rf.logs.append(p)
                    elif p.name not in known:
                        sub.add("SP409", f"{'folder' if p.is_dir() else 'file'} {p.name!r} "
                                "is not part of an inference result", p, severity=WARNING,
                                **where)
                if not rf.logs:
                    sub.add("SP501", f"no {layout.INFERENCE_LOG}: SciPerf's log of the "
                            "inference result is missing", sdir / layout.INFERENCE_LOG,
                            scenario=sdir.name, **where)
                sub.inference.append(rf)

    def result(self, system: str, scaling: str, folder: Path) -> ResultFolder:
        sub = self.sub
        known = layout.KNOWN_IN_WEAK_BENCHMARK if scaling == layout.WEAK \
            else layout.KNOWN_IN_BENCHMARK
        rf = ResultFolder(sub.org_dir, system, scaling, folder.name, folder)
        scope = dict(system=system, scaling=scaling, benchmark=folder.name)
        for p in self.entries(folder):
            if p.is_file() and fnmatch.fnmatchcase(p.name, layout.RESULT_GLOB):
                rf.logs.append(p)
            elif p.name == layout.SCALING_FILE and p.is_file():
                rf.scaling_factor = self.scaling_factor(p, scope)
            elif p.is_dir() and layout.is_model_dir(p):
                continue  # a run's kept model (what `sciperf infer` times)
            elif p.name not in known:
                what = "folder" if p.is_dir() else "file"
                sub.add("SP409", f"{what} {p.name!r} is not a result_<i>.txt log; it is not "
                        "counted or checked", p, severity=WARNING,
                        hint="name logs result_<i>.txt; keep other files out of results/",
                        **scope)
        return rf

    def scaling_factor(self, path: Path, scope: dict) -> float | None:
        """The factor of a result's scaling.json (mlperf-logging's RCP normalisation, which
        the published scores carry), or None with an SP414 finding."""
        try:
            factor = json.loads(path.read_bytes())["scaling_factor"]
        except (OSError, ValueError, RecursionError, KeyError, TypeError) as e:
            problem = f"{type(e).__name__}: {e}" if not isinstance(e, KeyError) else \
                "no scaling_factor field"
            self.sub.add("SP414", f"scaling.json cannot be read as {{\"scaling_factor\": "
                         f"<number>}} ({problem}); the score cannot be normalised", path,
                         **scope)
            return None
        if (not isinstance(factor, (int, float)) or isinstance(factor, bool)
                or not factor >= 1 or factor == float("inf")):
            self.sub.add("SP414", f"scaling_factor is {factor!r}; an RCP review's factor is a "
                         "finite number of at least 1 (it only ever lengthens a time)", path,
                         **scope)
            return None
        return float(factor)

    # bypass files in the tree
    def params(self) -> None:
        sub = self.sub
        org = sub.org_dir
        places = [(org / layout.PARAMS_FILE, {})]
        for system in sub.systems:
            places.append((layout.system_results(org, system) / layout.PARAMS_FILE,
                           {"system": system}))
        for r in sub.results:
            places.append((r.path / layout.PARAMS_FILE, {"system": r.system,
                                                         "scaling": r.scaling,
                                                         "benchmark": r.benchmark}))
        for path, scope in places:
            if path in sub.refused or not (path.is_file() or path.is_dir()):
                continue
            found, problems = waivers.read_params_file(path, sub.show(path), scope)
            sub.waivers.extend(found)
            for message, line, key, hint in problems:
                sub.add("SP411", message, path, severity=WARNING, line=line, key=key,
                        hint=hint, **scope)

    # SP407: every description read (and validated) once
    def descriptions(self) -> None:
        sub = self.sub
        folder = sub.org_dir / layout.SYSTEMS
        if not folder.is_dir():
            return
        for p in self.entries(folder):
            if p.suffix != ".json" or not p.is_file():
                sub.add("SP409", "not a system description (systems/<system>.json)", p,
                        severity=WARNING)
                continue
            doc = sysdesc.read_system(p)
            sub.descriptions[p.stem] = doc
            for message, line, key, hint in doc.problems:
                sub.add("SP407", message, p, line=line, key=key, hint=hint, system=p.stem)

    def implementations(self) -> None:
        sub = self.sub
        for bench in sorted({r.benchmark for r in sub.results}):
            impls = layout.implementations_dir(sub.org_dir, bench)
            try:
                if impls.is_dir() and any(d.is_dir() and d not in sub.refused
                                          and _holds_file(d, sub.refused)
                                          for d in impls.iterdir()):
                    sub.implemented.add(bench)
            except OSError:
                pass


# -- step 2: the checks -------------------------------------------------------------------------


@dataclass
class Run:
    """One result file as the package checks see it: its summary and its log verdict."""
    path: Path
    summary: RunSummary
    verdict: str | None = None  # None: no ruleset ran on it (its own finding says why)
    codes: tuple = ()  # the codes of its log errors

    @property
    def name(self) -> str:
        return self.path.name

    def missed(self) -> str | None:
        """Why this run counts as one that missed the target, or None."""
        reasons = []
        status = self.summary.final_status
        if status is None:
            reasons.append("no run_stop")
        elif status != vocab.SUCCESS:
            reasons.append(f"run_stop status {status}")
        if self.verdict not in (None, "pass"):
            listed = ", ".join(self.codes)
            reasons.append(f"fails its log checks ({listed})" if listed
                           else "fails its log checks")
        return "; ".join(reasons) or None

    def rcp_run(self):
        """This log as mlperf-logging's RCP checker reads it (raises rcp.RcpError where it
        would raise)."""
        from . import rcp

        s = self.summary
        stop = (s.final_stop.value, s.final_stop.line) if s.final_stop else None
        evaluation = (s.evaluation.metadata, s.evaluation.line) if s.evaluation else None
        return rcp.RcpRun.from_records(
            self.name, s.rcp_batch_size.value if s.rcp_batch_size else rcp.NO_BATCH_SIZE,
            s.rcp_benchmark.value if s.rcp_benchmark else None, stop, evaluation)


def check_package(org: Path | Submission, ruleset: str | None, logs: dict,
                  bypass: list[waivers.Waiver] | None = None, *,
                  show_as: str | Path | None = None) -> list[Diagnostic]:
    """Check one submission (an org folder, or its scan). `logs`: the per-log results
    (compliance.api.FileResult) of its result_*.txt files, keyed by path; a log missing from it,
    or given without a run summary, is read here. `ruleset` None: the one most of those logs
    were checked under (SciPerf's when there are no logs). `bypass`: waivers.load_bypass()'s.
    Raises PackageConfigError when the rules cannot be loaded or the ruleset cannot be told:
    the tool cannot run (exit 2)."""
    sub = org if isinstance(org, Submission) else scan(org, show_as)
    if ruleset is None:
        ruleset = choose_ruleset(None, (getattr(fr, "ruleset", None) for fr in logs.values()))
        if ruleset is None and logs:
            raise PackageConfigError(f"{sub.org_dir}: its logs name no ruleset, so the package "
                                     "rules to apply are unknown; pass --ruleset (e.g. "
                                     "hpc-2.0.0)")
        ruleset = ruleset or vocab.RULESET
    return _Checks(sub, package_rules(ruleset), logs).run(bypass or [])


class _Checks:
    def __init__(self, sub: Submission, rules: PackageRules, logs: dict):
        self.sub = sub
        self.rules = rules
        self.logs = {os.path.abspath(k): v for k, v in logs.items()}
        self.logs_resolved: dict | None = None
        self.new: list[Diagnostic] = []  # the checks' findings (the scan's stay in sub)

    def add(self, *args, **kw) -> None:
        self.new.append(self.sub.finding(*args, **kw))

    def run(self, bypass: list[waivers.Waiver]) -> list[Diagnostic]:
        sub = self.sub
        self.statuses()
        self.missing_descriptions()
        for r in sub.results:
            if r.benchmark not in self.rules.strong:
                self.add("SP401", f"{r.benchmark!r} is not a benchmark of "
                         f"{self.rules.ruleset} (its benchmarks: "
                         f"{', '.join(sorted(self.rules.strong))})", r.path,
                         system=r.system, scaling=r.scaling, benchmark=r.benchmark)
                continue
            desc = sub.descriptions.get(r.system)
            self.benchmark(r, desc.doc if desc is not None else None)
        self.implementations()
        self.models()
        waived = waivers.apply(sub.findings + self.new, [*bypass, *sub.waivers])
        return sorted(waived, key=lambda d: (_natural(Path(d.path)), d.line or 0, d.code))

    def statuses(self) -> None:
        allowed = self.rules.statuses
        if not allowed:
            return
        for stem, desc in self.sub.descriptions.items():
            status = desc.doc.get("status") if desc.doc else None
            if isinstance(status, str) and status not in allowed:
                self.add("SP407", f"status {status!r} is not one of {', '.join(allowed)} "
                         f"({self.rules.ruleset})", desc.path,
                         line=sysdesc.field_line(desc.text, "status"), key="status",
                         system=stem)

    def missing_descriptions(self) -> None:
        sub = self.sub
        for stem, desc in sub.descriptions.items():
            if stem not in sub.systems:
                self.add("SP409", f"describes system {stem!r}, which has no results", desc.path,
                         severity=WARNING, system=stem,
                         hint=f"remove it, or add its results under results/{stem}/")
        for system in sorted(sub.systems):
            path = layout.system_file(sub.org_dir, system)
            if system not in sub.descriptions and path not in sub.refused:
                self.add("SP406", f"system {system!r} has results but no description", path,
                         system=system, hint="run `sciperf package ROOT --org ORG --system "
                                             f"{system}` to capture it")

    def log_result(self, path: Path):
        """The per-log result given for path (None when there is none). The caller's keys and
        ours are usually the same absolute path; only when they are not are both resolved."""
        fr = self.logs.get(os.path.abspath(path))
        if fr is None:
            if self.logs_resolved is None:
                self.logs_resolved = {os.path.realpath(k): v for k, v in self.logs.items()}
            fr = self.logs_resolved.get(os.path.realpath(path))
        return fr

    def runs(self, r: ResultFolder) -> list[Run]:
        from .api import check_file, summarize_file

        out = []
        for path in r.logs:
            fr = self.log_result(path)
            if fr is None:  # called without this log's own result: check it now
                fr = check_file(self.sub.show(path), path, self.rules.ruleset)
            summary = getattr(fr, "summary", None)
            if summary is None:
                summary = summarize_file(path)
            run = Run(path, summary)
            # a log no ruleset ran on (SP301/SP302/SP006) says nothing about the target: its
            # own finding is in the per-log results
            if getattr(fr, "checked", True):
                run.verdict = fr.verdict
                run.codes = tuple(sorted({d.code for d in fr.diagnostics if d.is_error}))
            out.append(run)
        return out

    def benchmark(self, r: ResultFolder, desc: dict | None) -> None:
        scope = dict(system=r.system, scaling=r.scaling, benchmark=r.benchmark)
        where = f"{r.benchmark} on {r.system} ({r.scaling} scaling)"
        runs = self.runs(r)
        n = len(runs)
        scales = Counter(x.summary.data_scale for x in runs if x.summary.data_scale is not None)
        scale = scales.most_common(1)[0][0] if scales else None
        want = self.rules.runs(r.scaling, r.benchmark, scale)
        at = f" at {scale} scale" if scale else ""
        exact = r.scaling == layout.STRONG
        if (n != want) if exact else (n < want):
            self.add("SP402", f"{n} result file(s) for {where}; {self.rules.ruleset} requires "
                     f"{'exactly' if exact else 'at least'} {want}{at}", r.path,
                     key=r.benchmark, extra={"found": n, "required": want, "exact": exact,
                                             "scale": scale, "source": self.rules.source},
                     hint=(f"submit exactly {want} runs named result_<i>.txt" if exact else
                           f"run at least {want} model instances"), **scope)
        if not runs:
            return

        # SP403: at most max_missed runs that missed the target
        missed = [(x, why) for x in runs if (why := x.missed())]
        too_many_missed = len(missed) > self.rules.max_missed
        if missed:
            listing = "; ".join(f"{x.name}: {why}" for x, why in missed[:5])
            more = f"; and {len(missed) - 5} more" if len(missed) > 5 else ""
            files = [self.sub.show(x.path) for x, _ in missed]
            if too_many_missed:
                self.add("SP403", f"{len(missed)} of {n} runs of {where} missed the target or "
                         f"fail their checks (at most {self.rules.max_missed} may): "
                         f"{listing}{more}", r.path, key=r.benchmark, extra={"files": files},
                         hint="rerun until at most one run misses; the olympic mean drops only "
                              "one slowest run", **scope)
            else:
                self.add("SP403", f"{len(missed)} of {n} runs of {where} missed the target or "
                         f"fails its log checks ({listing}); accepted, as the olympic mean "
                         "drops it as the slowest run", r.path, severity=WARNING,
                         key=r.benchmark, extra={"files": files}, **scope)

        # SP404/SP405 look at the runs that logged something: a file without a single MLLOG
        # record is no run (the per-log check says so, and SP403 counts it as missed)
        logged = [x for x in runs if x.summary.logged]
        sys_division = desc.get("division") if isinstance(desc, dict) else None
        self.seeds(runs, logged, sys_division, where, r, scope)
        self.hyperparameters(logged, where, scope)
        if isinstance(desc, dict):
            self.consistency(r, runs, desc, where, scope)
        # SP413: MLPerf's reference convergence points (not when SP403 already rejects the
        # benchmark: mlperf-logging's RCP check then only adds "Insufficient convergence")
        if self.rules.mlperf and sys_division == "closed" and not too_many_missed:
            self.rcp(r, runs, where, scope)

    def seeds(self, runs, logged, sys_division, where, r, scope) -> None:
        def division(x: Run):
            d = x.summary.submission.get(vocab.SUBMISSION_DIVISION)
            return d.value if d is not None else sys_division or "closed"

        unseeded = [x for x in logged if not x.summary.seeds and division(x) == "closed"]
        if unseeded:
            names = ", ".join(x.name for x in unseeded[:5])
            more = f" and {len(unseeded) - 5} more" if len(unseeded) > 5 else ""
            self.add("SP404", f"{len(unseeded)} closed-division run(s) of {where} log no seed: "
                     f"{names}{more}", r.path, key=vocab.SEED,
                     extra={"files": [self.sub.show(x.path) for x in unseeded]},
                     hint="log the run's seed (mllog key `seed`) in every run", **scope)
        first_seen: dict = {}
        for x in runs:
            for value, line in dict.fromkeys((_canon(s.value), s.line) for s in x.summary.seeds):
                prev = first_seen.get(value)
                if prev is None:
                    first_seen[value] = (x, line)
                elif prev[0] is not x:
                    self.add("SP404", f"seed {_show(value)} is also the seed of {prev[0].name} "
                             f"(line {prev[1]}); runs must differ in their seeds", x.path,
                             line=line, key=vocab.SEED,
                             hint="give every run its own seed (`sciperf run` does)",
                             log=x.name, **scope)

    def hyperparameters(self, logged, where, scope) -> None:
        """SP405: hyperparameters (and the data) equal across runs."""
        keys = sorted({k for x in logged for k in x.summary.hyperparameters})
        for k in keys:
            values = [(_canon(x.summary.hyperparameters[k].value)
                       if k in x.summary.hyperparameters else _ABSENT) for x in logged]
            counts = Counter(values)
            if len(counts) == 1:
                continue
            top = max(counts.values())
            major = next(v for v in values if counts[v] == top)  # ties: the first run's value
            for x, v in zip(logged, values):
                if v == major:
                    continue
                others = f"{counts[major]} of the {len(logged)} runs"
                if v is _ABSENT:
                    msg = f"{k} is not logged here but is {_show(major)} in {others}"
                elif major is _ABSENT:
                    msg = f"{k} = {_show(v)} is logged here but not in {others}"
                else:
                    msg = f"{k} = {_show(v)} here but {_show(major)} in {others}"
                got = x.summary.hyperparameters.get(k)
                self.add("SP405", f"{msg} of {where}; a benchmark's runs share their "
                         "hyperparameters and data", x.path,
                         line=got.line if got else None, key=k,
                         hint="rerun with the same configuration", log=x.name, **scope)

    def consistency(self, r: ResultFolder, runs, desc, where, scope) -> None:
        """SP412: logs agree with the system description."""
        for key, field_, severity in ((vocab.SUBMISSION_DIVISION, "division", ERROR),
                                      (vocab.SUBMISSION_ORG, "submitter", WARNING)):
            want = desc.get(field_)
            if not isinstance(want, str) or (field_ == "division"
                                             and want not in vocab.DIVISIONS):
                continue  # an invalid description is SP407's finding, not a disagreement
            off = [(x, got) for x in runs if (got := x.summary.submission.get(key))
                   and got.value != want]
            if not off:
                continue
            values = Counter(str(got.value) for _, got in off)
            first, got = off[0]
            self.add("SP412", f"{key} is {', '.join(repr(v) for v in values)} in {len(off)} of "
                     f"{len(runs)} runs of {where}, but systems/{r.system}.json says {field_} "
                     f"{want!r}", first.path, line=got.line, key=key, severity=severity,
                     extra={"files": [self.sub.show(x.path) for x, _ in off]},
                     hint=f"make the logs' {key} and the description's {field_} agree",
                     log=first.name, **scope)

    def rcp(self, r: ResultFolder, runs: list[Run], where: str, scope: dict) -> None:
        """SP413: mlperf-logging's RCP check (compliance/rcp.py), on the runs' summaries."""
        try:  # in the order its glob lists them (os.listdir's): see rcp.check
            names = [n for n in os.listdir(r.path) if fnmatch.fnmatchcase(n, layout.RESULT_GLOB)]
        except OSError:
            return  # the layout checks report a folder that cannot be listed
        # mlperf-logging reads every result_*.txt it globs: it would follow a refused link out
        # of the tree (SP408 says why not) and crash on a folder of that name (SP409 says it)
        by_name = {x.name: x for x in runs}
        if any(r.path / n in self.sub.refused or n not in by_name for n in names):
            return  # (or a log that appeared since the folder was read)
        from . import rcp

        usage, version = self.rules.mlperf
        try:
            verdict = rcp.check(usage, version, [by_name[n].rcp_run() for n in names])
        except rcp.RcpError as e:  # where mlperf-logging's checker raises
            self.add("SP413", f"the RCP check cannot be made for {where}: {e}", r.path,
                     **scope)
            return
        if not verdict.passed:
            self.add("SP413", f"RCP check failed for {where}: {verdict.message}", r.path,
                     hint="the runs converge faster than the reference convergence points "
                          "allow; see the MLPerf HPC rules on RCPs", **scope)

    def implementations(self) -> None:
        """SP410: the code of every benchmark with results."""
        sub = self.sub
        for bench in sorted({r.benchmark for r in sub.results if r.logs}):
            if bench not in sub.implemented and bench in self.rules.strong:
                self.add("SP410", f"no implementation code for {bench}",
                         layout.implementations_dir(sub.org_dir, bench), key=bench,
                         benchmark=bench,
                         hint=f"copy the code that produced the results to benchmarks/{bench}/"
                              "implementations/<impl>/ (`sciperf package` does)")


    def models(self) -> None:
        """SP506: every inference result times a model a training log of the same submission
        and benchmark kept (its weights_sha256)."""
        kept: dict[str, set] = {}
        for r in self.sub.results:
            for path in r.logs:
                summary = getattr(self.log_result(path), "summary", None)
                if summary is not None and summary.weights_sha256 is not None:
                    kept.setdefault(r.benchmark, set()).add(summary.weights_sha256.value)
        for r in self.sub.inference:
            for path in r.logs:
                summary = getattr(self.log_result(path), "summary", None)
                got = summary.weights_sha256 if summary is not None else None
                if got is None:
                    continue  # the per-log check says the hash is missing
                if got.value not in kept.get(r.benchmark, ()):
                    self.add("SP506", f"weights_sha256 {got.value[:16]}... is the hash of no "
                             f"model a training log of {r.benchmark} in this submission kept "
                             f"({len(kept.get(r.benchmark, ()))} logged)", path, line=got.line,
                             key=vocab.WEIGHTS_SHA256, system=r.system,
                             scaling=layout.INFERENCE, benchmark=r.benchmark,
                             scenario=r.scenario)


def prepare(ruleset: str) -> None:
    """Load what check_package needs under `ruleset` now: its package rules and, for MLPerf
    rulesets, the RCP tables (and numpy, their math). A caller that then forks processes loads
    them once instead of once per process. Raises PackageConfigError as check_package would."""
    rules = package_rules(ruleset)
    if rules.mlperf:
        from . import rcp

        usage, version = rules.mlperf
        for benchmark in rules.strong:
            if rcp.data_file(usage, version, benchmark).is_file():
                rcp.reference(usage, version, benchmark)


def package_verdict(diagnostics: list[Diagnostic]) -> str:
    return "fail" if any(d.is_error for d in diagnostics) else "pass"


# -- small helpers ------------------------------------------------------------------------------

_ABSENT = object()


def _canon(v):
    """A hashable form in which 2 == 2.0 and [1, 2] == (1, 2), for comparing logged values."""
    try:
        return _canon_value(v)
    except RecursionError:  # a hostile value nested too deeply to compare: equal to no other
        return ("<nested too deeply>", id(v))


def _canon_value(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, (list, tuple)):
        return tuple(_canon_value(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), _canon_value(x)) for k, x in v.items()))
    return repr(v)


def _show(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, tuple):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return json.dumps(v) if isinstance(v, str) else str(v)


def _natural(p: Path):
    """Sort result_2.txt before result_10.txt."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))]


def _holds_file(folder: Path, refused: set[Path]) -> bool:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        if any(Path(dirpath) / f not in refused and (Path(dirpath) / f).is_file()
               for f in filenames):
            return True
    return False
