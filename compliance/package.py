"""Package checks: a submission tree as a whole, in the MLPerf HPC layout.

    <org>/systems/<system>.json
    <org>/benchmarks/<benchmark>/implementations/<impl>/...
    <org>/results/<system>/{strong,weak}/<benchmark>/result_<i>.txt

The per-log rules say whether each log is compliant; these say whether an organisation's
folder is a submission: its layout, how many runs each benchmark has, that at most one of them
missed the target, that seeds differ and hyperparameters do not, that every system has a valid
description, that the implementation's code is there, and that nothing leaves the tree.

Findings are `Diagnostic`s with SP4xx codes (table below). Their paths are the org folder as
the caller passed it joined with the path inside the tree, so they print the same way as the
per-log findings of files found under the same PATH.

A bypass (mlperf-logging's `package_checker_params`, one check name per line, in the org
folder, a system folder or a benchmark folder; or a YAML file given to the CLI) waives a named
check for that scope: the finding stays in the output as a warning marked waived, with the file
that waived it.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml
from mlperf_logging.mllog import constants as C

from sciperf import vocab

from . import codes
from .diagnostics import ERROR, WARNING, Diagnostic
from .parser import TOKEN, DiagnosticSink, iter_records

HERE = Path(__file__).resolve().parent
RULESETS_DIR = HERE / "rulesets"
SCHEMA_PATH = HERE / "schemas" / "system_description.json"

# -- the SP4xx checks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageCheck:
    code: str  # its title, default severity and hint live in compliance/codes.py
    name: str  # what a bypass file calls it
    waivable: bool  # layout, descriptions and escapes cannot be waived: without them the tree
    #                 cannot be read, scored or trusted

    @property
    def title(self) -> str:
        return codes.CODES[self.code].title


CHECKS: tuple[PackageCheck, ...] = (
    PackageCheck("SP401", "layout", False),
    PackageCheck("SP402", "result-count", True),
    PackageCheck("SP403", "missed-target", True),
    PackageCheck("SP404", "seeds", True),
    PackageCheck("SP405", "hyperparameters", True),
    PackageCheck("SP406", "system-description", False),
    PackageCheck("SP407", "system-schema", False),
    PackageCheck("SP408", "escape", False),
    PackageCheck("SP409", "stray", True),
    PackageCheck("SP410", "implementation", True),
    PackageCheck("SP411", "bypass", False),
    PackageCheck("SP412", "system-consistency", True),
    PackageCheck("SP413", "rcp", True),
)
CHECKS_BY_CODE = {c.code: c for c in CHECKS}
CHECKS_BY_NAME = {c.name: c for c in CHECKS}
# mlperf-logging's own names in package_checker_params, mapped to ours.
MLPERF_BYPASS_NAMES = {"seed-checker-bypass": "seeds", "rcp-bypass": "rcp"}

PARAMS_FILE = "package_checker_params"  # mlperf-logging's bypass file name
SCALINGS = ("strong", "weak")
RESULT_GLOB = "result_*.txt"
# Known files that are not results. scaling.json: the score factor the RCP review sets, read by
# result_summarizer; power/: MLPerf power logs; pruned_results/: MLPerf HPC weak-scaling logs
# left out of the score (submission rules, HPC section); privateid.json: written by
# result_summarizer into results/<system>/.
KNOWN_IN_BENCHMARK = {PARAMS_FILE, "scaling.json", "power"}
KNOWN_IN_WEAK_BENCHMARK = KNOWN_IN_BENCHMARK | {"pruned_results"}
KNOWN_IN_SYSTEM = {PARAMS_FILE, "privateid.json"}
KNOWN_IN_ORG = {"results", "systems", "benchmarks", PARAMS_FILE}

# Which logged keys are hyperparameters: vocab's list (SciPerf's and MLPerf HPC's: hpc_2.0.0
# closed_*.yaml log deepcam's scheduler_* and batchnorm_group_size, closed_common.yaml
# gradient_accumulation_frequency) and MLPerf training's gradient_accumulation_steps.
HYPERPARAMETER_PREFIXES = vocab.HYPERPARAMETER_PREFIXES
HYPERPARAMETER_KEYS = frozenset(vocab.HYPERPARAMETER_KEYS + (C.GRADIENT_ACCUMULATION_STEPS,))


# Besides the hyperparameters, a benchmark's runs share their data: its scale and the checksum
# of its manifest (SciPerf logs).
SAME_DATA_KEYS = frozenset({vocab.DATA_SCALE, vocab.DATASET_CHECKSUM})


def must_match(key: str) -> bool:
    """Whether every run of a system's benchmark must log the same value for key (SP405)."""
    return (key in HYPERPARAMETER_KEYS or key in SAME_DATA_KEYS
            or key.startswith(HYPERPARAMETER_PREFIXES))


class PackageConfigError(ValueError):
    """The package rules cannot be loaded (unknown ruleset, unreadable package.yaml, bad bypass
    file): the tool cannot run (exit 2), which is not a finding about the tree."""


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
        table = (self.strong if scaling == "strong" else self.weak_min)[benchmark]
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
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        known = sorted([*vocab.RULESETS_HPC,
                        *(p.parent.name for p in RULESETS_DIR.glob("*/package.yaml"))])
        raise PackageConfigError(f"no package rules for ruleset {ruleset!r} ({path} is missing); "
                                 f"known: {', '.join(known)}") from None
    except (OSError, yaml.YAMLError) as e:
        raise PackageConfigError(f"{path}: cannot read the package rules: {e}") from None
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


# -- finding submissions ------------------------------------------------------------------------


def is_submission(folder: Path) -> bool:
    """An org folder: results/ beside systems/, or results/<system>/{strong,weak}/."""
    results = folder / "results"
    if not results.is_dir():
        return False
    if (folder / "systems").is_dir():
        return True
    try:
        return any((s / scaling).is_dir() for s in results.iterdir() for scaling in SCALINGS)
    except OSError:
        return False


def find_submissions(path: Path, max_depth: int = 3) -> list[Path]:
    """The submission (org) folders at or below path: path itself, or the org folders of a round
    (a folder of org folders), down to max_depth levels; never inside an org, never through a
    symlinked folder or a hidden one."""
    path = Path(path)
    if not path.is_dir():
        return []
    if is_submission(path):
        return [path]
    found = []
    base = len(path.parts)
    for dirpath, dirnames, _ in os.walk(path, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if is_submission(here / d):
                found.append(here / d)
            elif len(here.parts) - base + 1 < max_depth:
                keep.append(d)
        dirnames[:] = keep
    return found


# -- bypass -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    check: str
    source: str  # the file that grants it, as shown
    system: str | None = None
    scaling: str | None = None
    benchmark: str | None = None
    reason: str = ""

    def covers(self, f: "_Finding") -> bool:
        return (self.check == f.check
                and all(want is None or want == got for want, got in
                        ((self.system, f.system), (self.scaling, f.scaling),
                         (self.benchmark, f.benchmark))))


def load_bypass(path: str | Path) -> dict:
    """Read a bypass YAML file for check_package(bypass=...):

        waive:
          - check: seeds               # a check name (see CHECKS) or mlperf-logging's
            system: dgxa100_n64        #   seed-checker-bypass / rcp-bypass; optional scope:
            benchmark: cosmoflow       #   system, scaling (strong|weak), benchmark
            reason: why a reviewer agreed

    Raises PackageConfigError naming the file and the entry on anything malformed."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise PackageConfigError(f"{path}: cannot read the bypass file: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("waive"), list):
        raise PackageConfigError(f"{path}: expected a mapping with a `waive:` list")
    entries = []
    for i, item in enumerate(raw["waive"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("check"), str):
            raise PackageConfigError(f"{path}: waive entry {i}: expected a mapping with `check:`")
        extra = set(item) - {"check", "system", "scaling", "benchmark", "reason"}
        if extra:
            raise PackageConfigError(f"{path}: waive entry {i}: unknown key(s) "
                                     f"{', '.join(sorted(extra))}")
        name = MLPERF_BYPASS_NAMES.get(item["check"], item["check"])
        check = CHECKS_BY_NAME.get(name)
        if check is None or not check.waivable:
            raise PackageConfigError(
                f"{path}: waive entry {i}: {item['check']!r} is not a check that can be waived; "
                f"waivable: {', '.join(c.name for c in CHECKS if c.waivable)}")
        if item.get("scaling") not in (None, *SCALINGS):
            raise PackageConfigError(f"{path}: waive entry {i}: scaling must be strong or weak")
        entries.append({**item, "check": name})
    return {"source": str(path), "waive": entries}


def _waivers_from_bypass(bypass: dict | None) -> list[Waiver]:
    if not bypass:
        return []
    source = str(bypass.get("source", "--bypass"))
    return [Waiver(e["check"], source, e.get("system"), e.get("scaling"), e.get("benchmark"),
                   str(e.get("reason", ""))) for e in bypass.get("waive", [])]


# -- the check ----------------------------------------------------------------------------------


@dataclass
class _Finding:
    diag: Diagnostic
    check: str
    system: str | None = None
    scaling: str | None = None
    benchmark: str | None = None


@dataclass
class _Run:
    """What the package checks need from one result file (read_run fills it)."""
    path: Path
    name: str
    logged: bool = False  # it holds at least one well-formed MLLOG record
    seeds: list = field(default_factory=list)  # [(value, line)]
    hyper: dict = field(default_factory=dict)  # key -> (value, line), first record
    stop: tuple | None = None  # (metadata, line) of the last run_stop record
    division: tuple | None = None  # (value, line) of submission_division
    org: tuple | None = None  # (value, line) of submission_org
    scale: str | None = None  # the data scale it logs (SciPerf logs)
    # for the RCP check (SP413), as mlperf-logging's reader keeps them: the last value of each
    batch_size: tuple | None = None  # (value, line) of the last global_batch_size record
    benchmark: tuple | None = None  # (value, line) of the last submission_benchmark record
    evaluation: tuple | None = None  # (metadata, line): last eval_* record before `stop`
    verdict: str | None = None
    codes: tuple = ()  # the codes of its log errors

    @property
    def run_stop(self) -> str | None:
        """run_stop's status, "missing" when it has none, None when the log has no run_stop."""
        if self.stop is None:
            return None
        status = self.stop[0].get(vocab.STATUS)
        return str(status) if status is not None else "missing"

    def missed(self) -> str | None:
        """Why this run counts as one that missed the target, or None."""
        reasons = []
        if self.run_stop is None:
            reasons.append("no run_stop")
        elif self.run_stop != vocab.SUCCESS:
            reasons.append(f"run_stop status {self.run_stop}")
        if self.verdict not in (None, "pass"):
            codes = ", ".join(self.codes)
            reasons.append(f"fails its log checks ({codes})" if codes else "fails its log checks")
        return "; ".join(reasons) or None

    def rcp_run(self):
        """This log as mlperf-logging's RCP checker reads it (raises rcp.RcpError where it
        would raise)."""
        from . import rcp

        return rcp.RcpRun.from_records(
            self.name, self.batch_size[0] if self.batch_size else rcp.NO_BATCH_SIZE,
            self.benchmark[0] if self.benchmark else None, self.stop, self.evaluation)


# -- reading a log once ----------------------------------------------------------------------------
#
# The per-log checks (compliance.api) have parsed every record of every log; what the package
# checks need is a few keys per log (~20 of ~140 records). read_run finds those records with one
# regular-expression search over the file's bytes and hands just their lines to the compliance
# parser (parser.iter_records), so each is read exactly as the per-log checks read it: the JSON
# after the last `:::MLLOG ` of its line, lines ending at \n, \r\n or a lone \r, the same
# validity rules, the file's own line numbers. The search cannot miss a record: a record's key is
# written `"key": "<name>"` unless a JSON \u escape spells it, and a file holding `\u` anywhere
# is parsed in full instead (as is one where the search finds no well-formed record, to tell an
# empty log from one without these keys).

_EVAL_KEYS = (vocab.EVAL_ACCURACY, vocab.EVAL_ERROR)
# the keys read (hyperparameters also by prefix); evaluations are found otherwise (read_run)
_READ_KEYS = frozenset({vocab.SEED, vocab.RUN_STOP, vocab.SUBMISSION_DIVISION,
                        vocab.SUBMISSION_ORG, vocab.SUBMISSION_BENCHMARK, vocab.DATA_SCALE,
                        *HYPERPARAMETER_KEYS, *SAME_DATA_KEYS})
_CANDIDATE = re.compile(
    rb'"key"\s*:\s*"(?:(?:' + b"|".join(re.escape(k.encode()) for k in sorted(_READ_KEYS))
    + rb')"|' + b"|".join(re.escape(p.encode()) for p in HYPERPARAMETER_PREFIXES) + rb")")


def _segment(data: bytes, pos: int, has_cr: bool) -> tuple[int, int]:
    """Start and end of the line holding pos, lines ending at \n, \r\n or a lone \r."""
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    if end < 0:
        end = len(data)
    if has_cr:
        start = max(start, data.rfind(b"\r", start, pos) + 1)
        cr = data.find(b"\r", pos, end)
        end = cr if cr >= 0 else end
    return start, end


def _records(segments: list[tuple[int, bytes]]) -> list:
    """The compliance parser's reading of marker-line payloads, given as (the file's line number,
    payload): each one's record tuple (with that line number), or None where the parser finds
    the record malformed."""
    out: list = [None] * len(segments)
    buf = b"".join(TOKEN + p + b"\n" for _, p in segments)  # one payload a line, as in the file
    for rec in iter_records(io.BytesIO(buf), DiagnosticSink("")):
        out[rec[0] - 1] = (segments[rec[0] - 1][0], *rec[1:])
    return out


def _last_evaluation(data: bytes, before: int, line: int, has_cr: bool) -> tuple | None:
    """The last eval_accuracy/eval_error record that starts before offset `before` (the start
    of line `line`), as (metadata, line). Searched backwards by the key's name: every such
    record's line holds it."""
    pos = before
    while True:
        hit = max(data.rfind(k.encode(), 0, pos) for k in _EVAL_KEYS)
        if hit < 0:
            return None
        start, end = _segment(data, hit, has_cr)
        token = data.rfind(TOKEN, start, end)
        if token >= 0:
            at = line - data.count(b"\n", start, before)
            rec = _records([(at, data[token + len(TOKEN):end])])[0]
            if rec is not None and rec[3] in _EVAL_KEYS:
                return rec[5], rec[0]
        pos = start  # a line is one record: the rest of it is no other


def read_run(path: Path) -> _Run:
    """What the package checks need from one result file, read once. An unreadable file reads
    as an empty log (the per-log checks report why)."""
    run = _Run(path, path.name)
    try:
        data = path.read_bytes()
    except OSError:
        return run
    has_cr = b"\r" in data
    starts: list[int] = []  # each found record's offset in the file
    records: list = []
    if b"\\u" not in data:
        segments, last_start, counted_to, newlines = [], -1, 0, 0
        for m in _CANDIDATE.finditer(data):
            start, end = _segment(data, m.start(), has_cr)
            if start == last_start:
                continue  # another match on the same line: a line is one record
            last_start = start
            token = data.rfind(TOKEN, start, end)
            if token < 0:
                continue  # not an MLLOG record: free text that mentions a key
            newlines += data.count(b"\n", counted_to, start)
            counted_to = start
            segments.append((newlines + 1, data[token + len(TOKEN):end]))
            starts.append(start)
        records = _records(segments)
    full = not any(records)
    if full:
        records = list(iter_records(io.BytesIO(data), DiagnosticSink(str(path))))
    last_stop = None
    for i, rec in enumerate(records):
        if rec is None:
            continue
        run.logged = True
        line, key, value, meta = rec[0], rec[3], rec[4], rec[5]
        if key == vocab.SEED:
            run.seeds.append((value, line))
        elif key == vocab.RUN_STOP:
            run.stop, last_stop = (meta, line), i
        elif key == vocab.SUBMISSION_DIVISION and run.division is None:
            run.division = (value, line)
        elif key == vocab.SUBMISSION_ORG and run.org is None:
            run.org = (value, line)
        elif key == vocab.SUBMISSION_BENCHMARK:
            run.benchmark = (value, line)
        if key == vocab.DATA_SCALE and run.scale is None:
            run.scale = value if isinstance(value, str) else None
        if key == vocab.GLOBAL_BATCH_SIZE:
            run.batch_size = (value, line)
        if must_match(key) and key not in run.hyper:
            run.hyper[key] = (value, line)
    # the epochs to converge: the last evaluation before the last run_stop
    if last_stop is not None and full:
        run.evaluation = next(((rec[5], rec[0]) for rec in reversed(records[:last_stop])
                               if rec[3] in _EVAL_KEYS), None)
    elif last_stop is not None:
        run.evaluation = _last_evaluation(data, starts[last_stop], run.stop[1], has_cr)
    return run


@dataclass
class _Bench:
    system: str
    scaling: str
    benchmark: str
    folder: Path
    results: list[Path]


class _Checker:
    def __init__(self, org_dir: Path, rules: PackageRules, logs: dict,
                 show_as: str | Path | None = None):
        self.org = Path(org_dir)
        self.show_as = Path(show_as) if show_as is not None else None
        self.root = self.org.resolve()
        self.rules = rules
        self.logs = {Path(k).absolute(): v for k, v in logs.items()}
        self.logs_resolved: dict | None = None  # the same, keyed by resolved path, when needed
        self.findings: list[_Finding] = []
        self.refused: set[Path] = set()  # lexical paths of symlinks that leave the tree
        self.waivers: list[Waiver] = []
        self.systems: list[str] = []  # the folders under results/

    # ---- helpers
    def show(self, p: Path) -> str:
        """p as printed: under show_as when given, else as built on org_dir (every path here
        is)."""
        if self.show_as is None:
            return str(p)
        return (self.show_as / p.relative_to(self.org)).as_posix()

    def add(self, code: str, message: str, path: Path, *, severity: str | None = None,
            line: int | None = None, key: str | None = None, hint: str | None = None,
            extra=None, system=None, scaling=None, benchmark=None):
        default = codes.CODES[code]
        d = Diagnostic(code=code, severity=severity or default.severity, message=message,
                       path=self.show(path), line=line, key=key,
                       hint=default.hint if hint is None else hint, extra=dict(extra or {}))
        self.findings.append(_Finding(d, CHECKS_BY_CODE[code].name, system, scaling, benchmark))

    def entries(self, folder: Path) -> list[Path]:
        try:
            return sorted((p for p in folder.iterdir() if p not in self.refused), key=_natural)
        except OSError as e:
            self.add("SP401", f"cannot list the folder: {e.strerror}", folder)
            return []

    # ---- SP408: nothing leaves the tree
    def check_escapes(self):
        folders = [self.org]
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
                    self.refused.add(p)
                    self.add("SP408", f"symlink to {target} dangles or loops", p,
                             hint="replace the link by the file itself")
                    continue
                if not real.is_relative_to(self.root):
                    self.refused.add(p)
                    self.add("SP408", f"symlink to {target} leaves the submission tree "
                             f"(resolves to {real}); it is not read", p,
                             hint="copy the file into the tree; a submission must be "
                                  "self-contained")

    # ---- SP401/SP409: layout
    def scan_layout(self) -> list[_Bench]:
        results = self.org / "results"
        if not (self.org / "systems").is_dir():
            self.add("SP401", "no systems/ folder: every system needs systems/<system>.json",
                     self.org / "systems", hint="run `sciperf package` to write it")
        for p in self.entries(self.org):
            if p.name not in KNOWN_IN_ORG and not p.name.startswith("."):
                self.add("SP409", f"{'folder' if p.is_dir() else 'file'} not part of the "
                         "submission layout", p, severity=WARNING,
                         hint="an org folder holds results/, systems/ and benchmarks/ only")
        if not results.is_dir():
            self.add("SP401", "no results/ folder", results)
            return []
        benches = []
        for sysdir in self.entries(results):
            if sysdir.is_dir():
                self.systems.append(sysdir.name)
            if not sysdir.is_dir():
                self.add("SP409", "file in results/, where only system folders belong", sysdir,
                         severity=WARNING, hint="move it out of results/ (or into a system's "
                                                "notes in systems/<system>.json)")
                continue
            system = sysdir.name
            scalings = []
            for p in self.entries(sysdir):
                if p.name in SCALINGS and p.is_dir():
                    scalings.append(p)
                elif p.name in KNOWN_IN_SYSTEM and p.is_file():
                    continue
                elif p.is_dir():
                    self.add("SP401", f"results/{system}/{p.name}/ is neither strong/ nor weak/",
                             p, system=system,
                             hint="put time-to-train runs in strong/<benchmark>/ and throughput "
                                  "runs in weak/<benchmark>/")
                else:
                    self.add("SP409", "file not part of the submission layout", p,
                             severity=WARNING, system=system)
            if not scalings:
                self.add("SP401", f"system folder {system} holds no strong/ or weak/ results",
                         sysdir, system=system)
            for scdir in scalings:
                found = False
                for bdir in self.entries(scdir):
                    if not bdir.is_dir():
                        self.add("SP409", "file not part of the submission layout", bdir,
                                 severity=WARNING, system=system, scaling=scdir.name)
                        continue
                    found = True
                    if bdir.name not in self.rules.strong:
                        self.add("SP401", f"{bdir.name!r} is not a benchmark of "
                                 f"{self.rules.ruleset} (its benchmarks: "
                                 f"{', '.join(sorted(self.rules.strong))})", bdir,
                                 system=system, scaling=scdir.name, benchmark=bdir.name)
                        continue
                    benches.append(self.scan_benchmark(system, scdir.name, bdir))
                if not found:
                    self.add("SP401", f"{scdir.name}/ holds no benchmark folder", scdir,
                             system=system, scaling=scdir.name)
        return benches

    def scan_benchmark(self, system: str, scaling: str, folder: Path) -> _Bench:
        known = KNOWN_IN_WEAK_BENCHMARK if scaling == "weak" else KNOWN_IN_BENCHMARK
        results = []
        for p in self.entries(folder):
            if p.is_file() and fnmatch.fnmatchcase(p.name, RESULT_GLOB):
                results.append(p)
            elif p.name not in known:
                what = "folder" if p.is_dir() else "file"
                self.add("SP409", f"{what} {p.name!r} is not a result_<i>.txt log; it is not "
                         "counted or checked", p, severity=WARNING, system=system,
                         scaling=scaling, benchmark=folder.name,
                         hint="name logs result_<i>.txt; keep other files out of results/")
        return _Bench(system, scaling, folder.name, folder, results)

    # ---- bypass files in the tree
    def read_params(self, benches: list[_Bench]):
        places = [(self.org / PARAMS_FILE, {})]
        for system in sorted({b.system for b in benches}):
            places.append((self.org / "results" / system / PARAMS_FILE, {"system": system}))
        for b in benches:
            places.append((b.folder / PARAMS_FILE, {"system": b.system, "scaling": b.scaling,
                                                    "benchmark": b.benchmark}))
        for path, scope in places:
            if path in self.refused or not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                self.add("SP411", f"cannot read the bypass file: {e}", path, severity=WARNING)
                continue
            for n, raw in enumerate(text.splitlines(), 1):
                word = raw.split("#", 1)[0].strip()
                if not word:
                    continue
                name = MLPERF_BYPASS_NAMES.get(word, word)
                check = CHECKS_BY_NAME.get(name)
                if check is None:
                    near = [c for c in (*CHECKS_BY_NAME, *MLPERF_BYPASS_NAMES)
                            if c.replace("-", "_") == word.replace("-", "_")]
                    self.add("SP411", f"unknown check {word!r}: nothing is waived", path,
                             severity=WARNING, line=n, key=word,
                             hint=(f"did you mean {near[0]!r}? " if near else "")
                             + "waivable checks: "
                             + ", ".join(c.name for c in CHECKS if c.waivable))
                elif not check.waivable:
                    self.add("SP411", f"check {word!r} ({check.code}) cannot be waived", path,
                             severity=WARNING, line=n, key=word)
                else:
                    self.waivers.append(Waiver(name, f"{self.show(path)}:{n}", **scope))

    # ---- SP406/SP407: system descriptions
    def check_systems(self, referenced: set[str]) -> dict[str, dict]:
        descs: dict[str, dict] = {}
        sysdir = self.org / "systems"
        if sysdir.is_dir():
            for p in self.entries(sysdir):
                if p.suffix != ".json" or not p.is_file():
                    self.add("SP409", "not a system description (systems/<system>.json)", p,
                             severity=WARNING)
                    continue
                doc = self.validate_system(p)
                if doc is not None:
                    descs[p.stem] = doc
                if p.stem not in referenced:
                    self.add("SP409", f"describes system {p.stem!r}, which has no results", p,
                             severity=WARNING, hint="remove it, or add its results under "
                                                    f"results/{p.stem}/")
        for system in sorted(referenced):
            path = sysdir / f"{system}.json"
            if not path.is_file() and path not in self.refused:
                self.add("SP406", f"system {system!r} has results but no description", path,
                         system=system, hint="run `sciperf package ROOT --org ORG --system "
                                             f"{system}` to capture it")
        return descs

    def validate_system(self, path: Path) -> dict | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            self.add("SP407", f"cannot read the system description: {e}", path)
            return None
        dupes: list[str] = []

        def no_dupes(pairs):
            seen = set()
            for k, _ in pairs:
                if k in seen:
                    dupes.append(k)
                seen.add(k)
            return dict(pairs)

        try:
            doc = json.loads(text, object_pairs_hook=no_dupes)
        except json.JSONDecodeError as e:
            self.add("SP407", f"not valid JSON: {e.msg} (column {e.colno})", path, line=e.lineno)
            return None
        for k in dupes:
            self.add("SP407", f"field {k!r} appears more than once (JSON keeps the last)", path,
                     line=_field_line(text, k, last=True), key=k)
        if not isinstance(doc, dict):
            self.add("SP407", f"holds a JSON {type(doc).__name__}, not an object of fields",
                     path)
            return None
        for message, key, hint in schema_errors(doc):
            self.add("SP407", message, path, line=_field_line(text, key) if key else None,
                     key=key, hint=hint)
        statuses = self.rules.statuses
        status = doc.get("status")
        if statuses and isinstance(status, str) and status not in statuses:
            self.add("SP407", f"status {status!r} is not one of {', '.join(statuses)} "
                     f"({self.rules.ruleset})", path, line=_field_line(text, "status"),
                     key="status")
        return doc  # even when invalid: its division still decides the closed-division checks

    # ---- per-benchmark checks
    def log_result(self, path: Path):
        """The per-log result given for path (None when there is none). The caller's keys and
        ours are usually the same absolute path; only when they are not are both resolved
        (a stat per path component), so that a link or another spelling still finds it."""
        fr = self.logs.get(path.absolute())
        if fr is None:
            if self.logs_resolved is None:
                self.logs_resolved = {k.resolve(): v for k, v in self.logs.items()}
            fr = self.logs_resolved.get(path.resolve())
        return fr

    def attach_verdicts(self, runs: list[_Run]):
        missing = [r.path for r in runs if self.log_result(r.path) is None]
        if missing:  # check_package called without these logs' own results: check them now
            from .api import check_logs

            for fr in check_logs(missing, ruleset=self.rules.ruleset):
                self.logs[Path(fr.abspath).absolute()] = fr
            self.logs_resolved = None
        for r in runs:
            fr = self.log_result(r.path)
            # a log no ruleset ran on (SP301/SP302/SP006) says nothing about the target: its
            # own finding is in the per-log results
            if fr is not None and getattr(fr, "checked", True):
                r.verdict = fr.verdict
                r.codes = tuple(sorted({d.code for d in fr.diagnostics if d.is_error}))

    def check_benchmark(self, b: _Bench, desc: dict | None):
        scope = dict(system=b.system, scaling=b.scaling, benchmark=b.benchmark)
        where = f"{b.benchmark} on {b.system} ({b.scaling} scaling)"
        n = len(b.results)
        runs = [read_run(p) for p in b.results]
        self.attach_verdicts(runs)
        scales = Counter(r.scale for r in runs if r.scale is not None)
        scale = scales.most_common(1)[0][0] if scales else None
        want = self.rules.runs(b.scaling, b.benchmark, scale)
        at = f" at {scale} scale" if scale else ""
        exact = b.scaling == "strong"
        if (n != want) if exact else (n < want):
            self.add("SP402", f"{n} result file(s) for {where}; {self.rules.ruleset} requires "
                     f"{'exactly' if exact else 'at least'} {want}{at}", b.folder,
                     key=b.benchmark, extra={"found": n, "required": want, "exact": exact,
                                             "scale": scale, "source": self.rules.source},
                     hint=(f"submit exactly {want} runs named result_<i>.txt" if exact else
                           f"run at least {want} model instances"), **scope)
        if not runs:
            return

        # SP403: at most max_missed runs that missed the target
        missed = [(r, why) for r in runs if (why := r.missed())]
        too_many_missed = len(missed) > self.rules.max_missed
        if missed:
            listing = "; ".join(f"{r.name}: {why}" for r, why in missed[:5])
            more = f"; and {len(missed) - 5} more" if len(missed) > 5 else ""
            files = [self.show(r.path) for r, _ in missed]
            if too_many_missed:
                self.add("SP403", f"{len(missed)} of {n} runs of {where} missed the target or "
                         f"fail their checks (at most {self.rules.max_missed} may): "
                         f"{listing}{more}", b.folder, key=b.benchmark, extra={"files": files},
                         hint="rerun until at most one run misses; the olympic mean drops only "
                              "one slowest run", **scope)
            else:
                self.add("SP403", f"{len(missed)} of {n} runs of {where} missed the target or "
                         f"fails its log checks ({listing}); accepted, as the olympic mean "
                         "drops it as the slowest run", b.folder, severity=WARNING,
                         key=b.benchmark,
                         extra={"files": files}, **scope)

        # SP404/SP405 look at the runs that logged something: a file without a single MLLOG
        # record is no run (the per-log check says so, and SP403 counts it as missed)
        logged = [r for r in runs if r.logged]

        # SP404: seeds distinct; closed-division runs log one
        sys_division = desc.get("division") if isinstance(desc, dict) else None
        unseeded = [r for r in logged if not r.seeds
                    and (r.division[0] if r.division else sys_division or "closed") == "closed"]
        if unseeded:
            names = ", ".join(r.name for r in unseeded[:5])
            more = f" and {len(unseeded) - 5} more" if len(unseeded) > 5 else ""
            self.add("SP404", f"{len(unseeded)} closed-division run(s) of {where} log no seed: "
                     f"{names}{more}", b.folder, key=vocab.SEED,
                     extra={"files": [self.show(r.path) for r in unseeded]},
                     hint="log the run's seed (mllog key `seed`) in every run", **scope)
        first_seen: dict = {}
        for r in runs:
            for value, line in dict.fromkeys((_canon(v), ln) for v, ln in r.seeds):
                prev = first_seen.get(value)
                if prev is None:
                    first_seen[value] = (r, line)
                elif prev[0] is not r:
                    self.add("SP404", f"seed {_show(value)} is also the seed of {prev[0].name} "
                             f"(line {prev[1]}); runs must differ in their seeds", r.path,
                             line=line, key=vocab.SEED,
                             hint="give every run its own seed (`sciperf run` does)", **scope)

        # SP405: hyperparameters (and the data) equal across runs
        keys = sorted({k for r in logged for k in r.hyper})
        for k in keys:
            values = [(_canon(r.hyper[k][0]) if k in r.hyper else _ABSENT) for r in logged]
            counts = Counter(values)
            if len(counts) == 1:
                continue
            top = max(counts.values())
            major = next(v for v in values if counts[v] == top)  # ties: the first run's value
            for r, v in zip(logged, values):
                if v == major:
                    continue
                others = f"{counts[major]} of the {len(logged)} runs"
                if v is _ABSENT:
                    msg = f"{k} is not logged here but is {_show(major)} in {others}"
                elif major is _ABSENT:
                    msg = f"{k} = {_show(v)} is logged here but not in {others}"
                else:
                    msg = f"{k} = {_show(v)} here but {_show(major)} in {others}"
                self.add("SP405", f"{msg} of {where}; a benchmark's runs share their "
                         "hyperparameters and data", r.path,
                         line=r.hyper[k][1] if k in r.hyper else None, key=k,
                         hint="rerun with the same configuration", **scope)

        # SP412: logs agree with the system description
        if isinstance(desc, dict):
            self.check_consistency(b, runs, desc, where, scope)

        # SP413: MLPerf's reference convergence points (not when SP403 already rejects the
        # benchmark: mlperf-logging's RCP check then only adds "Insufficient convergence")
        if self.rules.mlperf and sys_division == "closed" and not too_many_missed:
            self.check_rcp(b, runs, where, scope)

    def check_consistency(self, b, runs, desc, where, scope):
        for key, field_, severity in ((vocab.SUBMISSION_DIVISION, "division", ERROR),
                                      (vocab.SUBMISSION_ORG, "submitter", WARNING)):
            want = desc.get(field_)
            if not isinstance(want, str) or (field_ == "division"
                                             and want not in vocab.DIVISIONS):
                continue  # an invalid description is SP407's finding, not a disagreement
            off = [r for r in runs if (v := (r.division if field_ == "division" else r.org))
                   and v[0] != want]
            if not off:
                continue
            got = Counter(str((r.division if field_ == "division" else r.org)[0]) for r in off)
            first = off[0]
            line = (first.division if field_ == "division" else first.org)[1]
            self.add("SP412", f"{key} is {', '.join(repr(v) for v in got)} in {len(off)} of "
                     f"{len(runs)} runs of {where}, but systems/{b.system}.json says {field_} "
                     f"{want!r}", first.path, line=line, key=key, severity=severity,
                     extra={"files": [self.show(r.path) for r in off]},
                     hint=f"make the logs' {key} and the description's {field_} agree", **scope)

    def check_rcp(self, b: _Bench, runs: list[_Run], where: str, scope: dict):
        """SP413: mlperf-logging's RCP check (compliance/rcp.py), on the runs as read."""
        try:  # in the order its glob lists them (os.listdir's): see rcp.check
            names = [n for n in os.listdir(b.folder) if fnmatch.fnmatchcase(n, RESULT_GLOB)]
        except OSError:
            return  # the layout checks report a folder that cannot be listed
        # mlperf-logging reads every result_*.txt it globs: it would follow a refused link out
        # of the tree (SP408 says why not) and crash on a folder of that name (SP409 says it)
        by_name = {r.name: r for r in runs}
        if any(b.folder / n in self.refused or n not in by_name for n in names):
            return  # (or a log that appeared since the folder was read)
        from . import rcp

        usage, version = self.rules.mlperf
        try:
            verdict = rcp.check(usage, version, [by_name[n].rcp_run() for n in names])
        except rcp.RcpError as e:  # where mlperf-logging's checker raises
            self.add("SP413", f"the RCP check cannot be made for {where}: {e}", b.folder,
                     **scope)
            return
        if not verdict.passed:
            self.add("SP413", f"RCP check failed for {where}: {verdict.message}", b.folder,
                     hint="the runs converge faster than the reference convergence points "
                          "allow; see the MLPerf HPC rules on RCPs", **scope)

    # ---- SP410: implementation code
    def check_implementations(self, benchmarks: set[str]):
        for bench in sorted(benchmarks):
            impls = self.org / "benchmarks" / bench / "implementations"
            has_code = impls.is_dir() and any(
                d.is_dir() and d not in self.refused and _holds_file(d, self.refused)
                for d in impls.iterdir())
            if not has_code:
                self.add("SP410", f"no implementation code for {bench}", impls, key=bench,
                         benchmark=bench,
                         hint=f"copy the code that produced the results to benchmarks/{bench}/"
                              "implementations/<impl>/ (`sciperf package` does)")

    # ---- waivers
    def apply_waivers(self) -> list[Diagnostic]:
        out = []
        for f in self.findings:
            check = CHECKS_BY_NAME[f.check]
            w = next((w for w in self.waivers if check.waivable and w.covers(f)), None)
            d = f.diag
            if w is not None:
                extra = {**d.extra, "waived": True, "waived_by": w.source,
                         "waived_severity": d.severity}
                if w.reason:
                    extra["waiver_reason"] = w.reason
                d = replace(d, severity=WARNING, message=f"waived by {w.source}: {d.message}",
                            extra=extra)
            out.append(d)
        return sorted(out, key=lambda d: (_natural(Path(d.path)), d.line or 0, d.code))


def check_package(org_dir: Path, ruleset: str | None, logs: dict,
                  bypass: dict | None = None, *,
                  show_as: str | Path | None = None) -> list[Diagnostic]:
    """Check one submission (org) folder. `logs`: the per-log results (compliance.api.FileResult)
    of its result_*.txt files, keyed by path; logs missing from it are checked here. `ruleset`
    None: the one most of those logs were checked under (SciPerf's when there are no logs).
    `bypass`: from load_bypass(). `show_as`: how to print org_dir in the findings' paths (e.g.
    relative to the PATH argument, as the per-log findings are); default org_dir.
    Raises PackageConfigError when the rules cannot be loaded or the ruleset cannot be told:
    the tool cannot run (exit 2)."""
    if ruleset is None:
        seen = Counter(fr.ruleset for fr in logs.values() if getattr(fr, "ruleset", None))
        if not seen and logs:
            raise PackageConfigError(f"{org_dir}: its logs name no ruleset, so the package rules "
                                     "to apply are unknown; pass --ruleset (e.g. hpc-2.0.0)")
        ruleset = seen.most_common(1)[0][0] if seen else vocab.RULESET
    rules = package_rules(ruleset)
    c = _Checker(Path(org_dir), rules, logs, show_as)
    c.waivers.extend(_waivers_from_bypass(bypass))
    c.check_escapes()
    benches = c.scan_layout()
    c.read_params(benches)
    descs = c.check_systems(set(c.systems))
    for b in benches:
        c.check_benchmark(b, descs.get(b.system))
    c.check_implementations({b.benchmark for b in benches if b.results})
    return c.apply_waivers()


def prepare(ruleset: str) -> None:
    """Load what check_package needs under `ruleset` now: its package rules and, for MLPerf
    rulesets, the RCP tables (and numpy, their math). A caller that then forks processes to
    check several submissions (`sciperf report`) loads them once instead of once per process.
    Raises PackageConfigError as check_package would."""
    rules = package_rules(ruleset)
    if rules.mlperf:
        from . import rcp

        usage, version = rules.mlperf
        for benchmark in rules.strong:
            if rcp.data_file(usage, version, benchmark).is_file():
                rcp.reference(usage, version, benchmark)


def package_verdict(diagnostics: list[Diagnostic]) -> str:
    return "fail" if any(d.is_error for d in diagnostics) else "pass"


# -- system description schema ------------------------------------------------------------------


@lru_cache(maxsize=1)
def system_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def system_fields() -> list[str]:
    """The MLPerf HPC field set, in the order descriptions are written."""
    return list(system_schema()["properties"])


def schema_errors(doc: dict) -> list[tuple[str, str | None, str]]:
    """(message, field, hint) for every way doc breaks the schema, in field order."""
    schema = system_schema()
    validator = jsonschema.Draft202012Validator(schema)
    order = {k: i for i, k in enumerate(schema["properties"])}
    out = []
    for e in validator.iter_errors(doc):
        if e.validator == "required" and not e.path:
            missing = [f for f in schema["required"] if f not in doc]
            for f in missing:
                out.append((f"missing field {f}", f,
                            'add it ("" when unknown): the MLPerf HPC field set requires every '
                            "field"))
            continue
        key = str(e.path[0]) if e.path else None
        out.append((*_describe(e, key, doc.get(key) if key else doc), ))
    unique = list(dict.fromkeys(out))
    return sorted(unique, key=lambda t: order.get(t[1], len(order)))


def _describe(e: jsonschema.ValidationError, key: str | None, value) -> tuple[str, str | None,
                                                                               str]:
    spec = system_schema()["properties"].get(key, {})
    if "$ref" in spec:
        spec = {**system_schema()["$defs"][spec["$ref"].rsplit("/", 1)[1]], **spec}
    want = spec.get("description", "")
    if key is None:
        return (f"the description is not a JSON object: {e.message}", None, "")
    if e.validator == "type" or (key == "other_software_stack" and e.validator == "oneOf"):
        if key == "other_software_stack":
            return (f"{key} must be a string or an object of strings, not {_json_type(value)}",
                    key, 'e.g. "python 3.11, horovod 0.28.1" or {"python": "3.11"}')
        return (f"{key} is a JSON {_json_type(value)}, not a string", key,
                f'write it as a string, e.g. "{value}": MLPerf system descriptions hold text, '
                "and mlperf-logging's system_desc_checker fails on numbers")
    if e.validator == "enum":
        return (f"{key} is {value!r}, not one of {', '.join(map(repr, e.validator_value))}",
                key, "")
    if e.validator in ("pattern", "minLength"):
        if isinstance(value, str) and not value.strip():
            return (f"{key} is empty", key, f"fill it in{': ' + want if want else ''}")
        return (f"{key} is {value!r}, not {want or 'of the expected form'}", key, "")
    return (f"{key}: {e.message}", key, "")


def _json_type(v) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
            dict: "object", type(None): "null"}.get(type(v), type(v).__name__)


def _field_line(text: str, key: str, last: bool = False) -> int | None:
    pat = re.compile(r'"' + re.escape(key) + r'"\s*:')
    hits = [i for i, line in enumerate(text.splitlines(), 1) if pat.search(line)]
    return (hits[-1] if last else hits[0]) if hits else None


# -- small helpers ------------------------------------------------------------------------------

_ABSENT = object()


def _canon(v):
    """A hashable form in which 2 == 2.0 and [1, 2] == (1, 2), for comparing logged values."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, (list, tuple)):
        return tuple(_canon(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), _canon(x)) for k, x in v.items()))
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
