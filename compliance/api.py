"""Check MLLOG result files against a ruleset: the library behind `check-compliance`.

    results = check_logs(["submissions/"], ruleset=None, jobs=2)

A directory is searched recursively for `result_*.txt`. The ruleset is the one given, else the
one the log names in its `sciperf_ruleset` record; a log that names none (every MLPerf HPC log)
gets SP301 and is not checked.
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sciperf import vocab

from . import registry
from .diagnostics import ERROR, WARNING, Diagnostic
from .parser import DiagnosticSink, claimed_value, iter_records, open_log
from .rules import Ruleset, RulesError

RESULT_GLOB = "result_*.txt"
PASS, FAIL = "pass", "fail"
# Codes meaning "no ruleset ran on this file": the tool could not check it.
UNCHECKED_CODES = frozenset({"SP301", "SP302", "SP006"})


class PathError(Exception):
    """A PATH argument that does not exist (the tool cannot run)."""


@dataclass
class FileResult:
    path: str  # relative to the PATH argument it was found under (as printed)
    abspath: Path
    verdict: str  # "pass" | "fail"
    ruleset: str | None  # the ruleset applied
    benchmark: str | None
    diagnostics: list[Diagnostic]

    @property
    def checked(self) -> bool:
        """Whether a ruleset ran on the file (False: no ruleset known, or unreadable)."""
        return not any(d.code in UNCHECKED_CODES for d in self.diagnostics)

    def to_json(self) -> dict:
        return {"path": self.path, "verdict": self.verdict, "ruleset": self.ruleset,
                "benchmark": self.benchmark,
                "diagnostics": [d.to_json() for d in self.diagnostics]}


def find_logs(paths: list[str | Path]) -> list[tuple[str, Path]]:
    """(display path, absolute path) of every log named or found under `paths`, each once, in
    argument order (sorted within a directory). Raises PathError for a missing PATH."""
    out: list[tuple[str, Path]] = []
    seen: set[str] = set()
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames.sort()
                rel = os.path.relpath(dirpath, p)
                for name in filenames:
                    if fnmatch.fnmatchcase(name, RESULT_GLOB):
                        full = os.path.join(dirpath, name)
                        if os.path.isfile(full):
                            shown = name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")
                            found.append((shown, full))
            found.sort()
        elif p.exists():
            found = [(str(arg), str(p))]
        else:
            raise PathError(f"{arg}: no such file or directory")
        for display, full in found:
            a = os.path.abspath(full)
            if a not in seen:
                seen.add(a)
                out.append((display, Path(a)))
    return out


def check_file(display: str, path: str | Path, ruleset: str | Ruleset | None = None,
               werror: bool = False) -> FileResult:
    """Check one log against `ruleset` (a name, a loaded Ruleset, or None: the one the log
    names). Raises only when the ruleset itself cannot be used (RulesError, or
    registry.UnknownRuleset for a `ruleset` argument that names none)."""
    path = Path(path)
    sink = DiagnosticSink(display)
    rule_diags: list[Diagnostic] = []
    rules = ruleset if isinstance(ruleset, Ruleset) else None
    name = rules.name if rules is not None else ruleset
    benchmark = None
    if name is None:
        claimed = claimed_value(path, vocab.SCIPERF_RULESET)
        if claimed is None:
            fh = open_log(path, sink)  # an unreadable file says so, rather than "no ruleset"
            if fh is not None:
                fh.close()
                sink.add("SP301", "the log names no ruleset (no sciperf_ruleset record) and "
                                  "none was given; pass --ruleset, e.g. --ruleset hpc-2.0.0 "
                                  "for MLPerf HPC v2.0 logs")
            return _result(display, path, None, None, sink.finish(), werror)
        if claimed not in registry.available():
            sink.add("SP302", f"the log names the ruleset {claimed!r}, which is not one of "
                              f"{', '.join(registry.available())}", key=vocab.SCIPERF_RULESET)
            return _result(display, path, None, None, sink.finish(), werror)
        name = claimed
    if rules is None:
        rules = registry.load(name)
    fh = open_log(path, sink)
    if fh is None:
        return _result(display, path, name, None, sink.finish(), werror)
    try:
        with fh:
            outcome = rules.check(iter_records(fh, sink), display,
                                  watch=(vocab.SUBMISSION_BENCHMARK, vocab.SCIPERF_RULESET),
                                  reopen=lambda: _reread(path))
    except OSError as e:  # e.g. a directory named result_0.txt, or an I/O error mid-file
        sink.add("SP006", f"cannot read the file: {e.strerror or e}")
        return _result(display, path, name, None, sink.finish(), werror)
    benchmark = outcome.first_values.get(vocab.SUBMISSION_BENCHMARK)
    if not isinstance(benchmark, str):
        benchmark = None
    if outcome.records == 0:
        sink.add("SP007", "the file holds no well-formed :::MLLOG record, so no rule could "
                          "be checked")
    else:
        rule_diags = outcome.diagnostics
        claimed = outcome.first_values.get(vocab.SCIPERF_RULESET)
        if ruleset is not None and isinstance(claimed, str) and claimed != name:
            sink.add("SP305", f"the log names the ruleset {claimed!r} but was checked against "
                              f"{name!r} (--ruleset)", key=vocab.SCIPERF_RULESET)
    return _result(display, path, name, benchmark, sink.finish() + rule_diags, werror)


def _reread(path: Path):
    """The records of a file read again (its parser diagnostics were kept the first time)."""
    with open(path, "rb") as fh:
        yield from iter_records(fh, DiagnosticSink(str(path)))


def _result(display, path, ruleset, benchmark, diags, werror) -> FileResult:
    if werror:
        diags = [replace(d, severity=ERROR, extra={**d.extra, "werror": True})
                 if d.severity == WARNING else d for d in diags]
    diags = sorted(diags, key=lambda d: (d.line is None, d.line or 0))
    verdict = FAIL if any(d.severity == ERROR for d in diags) else PASS
    return FileResult(display, Path(path), verdict, ruleset, benchmark, diags)


def _check_star(args) -> FileResult:
    return check_file(*args)


def check_logs(paths: list[str | Path], ruleset: str | Ruleset | None = None, jobs: int = 1, *,
               werror: bool = False, meanwhile: Callable[[], None] | None = None
               ) -> list[FileResult]:
    """Check every log named or found under `paths` (directories: `result_*.txt`,
    recursively), with `jobs` processes. Raises PathError, registry.UnknownRuleset (for the
    `ruleset` argument) and rules.RulesError: the cases where the tool cannot run.
    `meanwhile`: work for the calling process while the worker processes check (called once,
    after they have started; with one job, before the checks)."""
    items = find_logs(paths)
    if isinstance(ruleset, str):
        registry.load(ruleset)  # fail before any work, and let forked workers inherit it
    work = [(display, p, ruleset, werror) for display, p in items]
    jobs = max(1, jobs if jobs > 0 else (os.cpu_count() or 1))
    if jobs == 1 or len(work) < 2 or isinstance(ruleset, Ruleset):  # compiled code won't pickle
        if meanwhile is not None:
            meanwhile()
        return [check_file(*w) for w in work]
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, min(64, len(work) // (jobs * 8)))
    with ctx.Pool(min(jobs, len(work))) as pool:
        # The workers fork here, before `meanwhile` runs: no fork happens while the calling
        # process is busy (importing, reading files).
        pending = pool.map_async(_check_star, work, chunksize=chunk)
        if meanwhile is not None:
            meanwhile()
        return pending.get()


__all__ = ["FileResult", "PathError", "RulesError", "check_file", "check_logs", "find_logs",
           "PASS", "FAIL"]
