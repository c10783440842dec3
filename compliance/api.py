"""Check MLLOG result files against a ruleset: the library behind `check-compliance`.

    results = check_logs(["submissions/"], ruleset=None, jobs=2)

A directory is searched recursively for `result_*.txt`. The ruleset is the one given, else the
one the log names in its `sciperf_ruleset` record; a log that names none (every MLPerf HPC log)
gets SP301 and is not checked.
"""

from __future__ import annotations

import fnmatch
import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sciperf import layout, vocab

from . import codes, registry
from .diagnostics import ERROR, WARNING, Diagnostic
from .parser import DiagnosticSink, iter_records, open_log, replay_records
from .rules import Ruleset, RulesError
from .summary import RunSummary, Summarizer, summarize
PASS, FAIL = "pass", "fail"
# Codes meaning "no ruleset ran on this file": the tool could not check it.
UNCHECKED_CODES = frozenset({"SP301", "SP302", "SP006"})


class PathError(Exception):
    """A PATH argument that does not exist (the tool cannot run)."""


@dataclass(slots=True)
class FileResult:
    path: str  # relative to the PATH argument it was found under (as printed)
    abspath: Path
    verdict: str  # "pass" | "fail"
    ruleset: str | None  # the ruleset applied
    benchmark: str | None
    diagnostics: list[Diagnostic]
    summary: RunSummary | None = None  # what the same pass learnt (None: the file is unread)

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
                    if (fnmatch.fnmatchcase(name, layout.RESULT_GLOB)
                            or name == layout.INFERENCE_LOG):
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


# Records read ahead, before the ruleset a log names is known (SciPerf logs name it in their
# first records). A log that names it later is read again from the start (the same open file).
HEAD_RECORDS = 64


def check_file(display: str, path: str | Path, ruleset: str | Ruleset | None = None,
               werror: bool = False) -> FileResult:
    """Check one log against `ruleset` (a name, a loaded Ruleset, or None: the one the log
    names), and summarise the run in the same pass: the file is opened once. Raises only when
    the ruleset itself cannot be used (RulesError, or registry.UnknownRuleset for a `ruleset`
    argument that names none)."""
    path = Path(path)
    if path.name == layout.INFERENCE_LOG:
        return check_inference(display, path, ruleset, werror)
    sink = DiagnosticSink(display)
    fh = open_log(path, sink)
    if fh is None:
        return _result(display, path, None if ruleset is None else _name(ruleset), None,
                       sink.finish(), werror, None)
    try:
        with fh:
            return _check_open(display, path, fh, sink, ruleset, werror)
    except OSError as e:  # e.g. a directory named result_0.txt, or an I/O error mid-file
        sink.add("SP006", f"cannot read the file: {e.strerror or e}")
        return _result(display, path, None if ruleset is None else _name(ruleset), None,
                       sink.finish(), werror, None)


def check_inference(display: str, path: Path, ruleset: str | Ruleset | None,
                    werror: bool) -> FileResult:
    """An inference result, found by its sciperf_log.txt (compliance/inference.py), under the
    ruleset given or the one the log names (SciPerf's when it names none it knows)."""
    from . import inference

    name = None if ruleset is None else _name(ruleset)
    if name is None:
        named = summarize_file(path).ruleset
        name = named if named in registry.available() else vocab.RULESET
    diags, summary = inference.check_result(display, path, name)
    benchmark = summary.value(vocab.SUBMISSION_BENCHMARK)
    return _result(display, path, name, benchmark if isinstance(benchmark, str) else None,
                   diags, werror, summary)


def _name(ruleset: str | Ruleset) -> str:
    return ruleset.name if isinstance(ruleset, Ruleset) else ruleset


def _check_open(display, path, fh, sink, ruleset, werror) -> FileResult:
    summarizer = Summarizer()
    records = iter_records(fh, sink)
    head: list = []
    name = None if ruleset is None else _name(ruleset)
    if name is None:
        for rec in records:
            head.append(rec)
            if rec.key == vocab.SCIPERF_RULESET and type(rec.value) is str:
                name = rec.value
                break
            if len(head) >= HEAD_RECORDS:
                break
        if name is None:  # not in the first records: look further while summarising
            for rec in head:
                summarizer.feed(rec)
            n = len(head)
            for n, rec in enumerate(records, n + 1):
                summarizer.feed(rec)
                if rec.key == vocab.SCIPERF_RULESET and type(rec.value) is str:
                    name = rec.value
                    break
            if name is None:
                summary = summarizer.finish(n)
                if summary.records:
                    sink.add("SP301", "the log names no ruleset (no sciperf_ruleset record) "
                                      "and none was given; pass --ruleset, e.g. --ruleset "
                                      "hpc-2.0.0 for MLPerf HPC v2.0 logs")
                else:
                    sink.add("SP301", "the log names no ruleset and none was given (it holds "
                                      "no well-formed :::MLLOG record)")
                return _result(display, path, None, None, sink.finish(), werror, summary)
            # named late: start again from the top, with a fresh reading of everything
            fh.seek(0)
            sink, summarizer, head = DiagnosticSink(display), Summarizer(), []
            records = iter_records(fh, sink)
        if name not in registry.available():
            sink.add("SP302", f"the log names the ruleset {name!r}, which is not one of "
                              f"{', '.join(registry.available())}", key=vocab.SCIPERF_RULESET)
            for rec in head:
                summarizer.feed(rec)
            n = len(head)
            for n, rec in enumerate(records, n + 1):
                summarizer.feed(rec)
            return _result(display, path, None, None, sink.finish(), werror,
                           summarizer.finish(n))
    rules = ruleset if isinstance(ruleset, Ruleset) else registry.load(name)

    outcome = rules.check(itertools.chain(head, records), display, observe=summarizer.handler,
                          reopen=lambda: replay_records(fh, display))
    summary = summarizer.finish(outcome.records)
    benchmark = summary.value(vocab.SUBMISSION_BENCHMARK)
    if not isinstance(benchmark, str):
        benchmark = None
    rule_diags: list[Diagnostic] = []
    if outcome.records == 0:
        sink.add("SP007", "the file holds no well-formed :::MLLOG record, so no rule could "
                          "be checked")
    else:
        rule_diags = outcome.diagnostics + time_findings(summary, display)
        if ruleset is not None and summary.ruleset is not None and summary.ruleset != name:
            sink.add("SP305", f"the log names the ruleset {summary.ruleset!r} but was checked "
                              f"against {name!r} (--ruleset)", key=vocab.SCIPERF_RULESET)
    return _result(display, path, name, benchmark, sink.finish() + rule_diags, werror, summary)


def summarize_file(path: str | Path) -> RunSummary:
    """The run summary of a log, without checking it (an unreadable file: an empty summary)."""
    try:
        with open(path, "rb") as fh:
            return summarize(iter_records(fh, DiagnosticSink(str(path))))
    except OSError:
        return RunSummary()


def time_findings(summary: RunSummary, display: str) -> list[Diagnostic]:
    """SP009: a run that stops before it starts (mlperf-logging's checker does not look)."""
    start, stop = summary.run_start, summary.run_stop
    if start is not None and stop is not None and stop.time_ms < start.time_ms:
        return [codes.make("SP009", f"run_stop (time_ms {stop.time_ms:g}) is earlier than "
                                    f"run_start (line {start.line}, time_ms "
                                    f"{start.time_ms:g})", path=display, line=stop.line,
                           key=vocab.RUN_STOP)]
    return []


def _result(display, path, ruleset, benchmark, diags, werror, summary) -> FileResult:
    if werror:
        diags = [replace(d, severity=ERROR, extra={**d.extra, "werror": True})
                 if d.severity == WARNING else d for d in diags]
    diags = sorted(diags, key=lambda d: (d.line is None, d.line or 0))
    verdict = FAIL if any(d.severity == ERROR for d in diags) else PASS
    return FileResult(display, Path(path), verdict, ruleset, benchmark, diags, summary)


def _worker_ignores_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def worker_pool(processes: int):
    """A pool of forked worker processes that Ctrl-C does not reach: the terminal sends SIGINT
    to every process of the group, and a worker that died of it (even while starting) could
    leave the pool waiting for its result, or orphaned, forever. The parent handles it and stops
    them. SIGINT stays blocked while the workers fork, so none is born able to receive it."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return ctx.Pool(processes, initializer=_worker_ignores_interrupts)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
    return check_found(find_logs(paths), ruleset, jobs, werror=werror, meanwhile=meanwhile)


def check_found(items: list[tuple[str, Path]], ruleset: str | Ruleset | None = None,
                jobs: int = 1, *, werror: bool = False,
                meanwhile: Callable[[], None] | None = None) -> list[FileResult]:
    """check_logs on logs already found: (display path, absolute path) pairs."""
    if isinstance(ruleset, str):
        registry.load(ruleset)  # fail before any work, and let forked workers inherit it
    work = [(display, p, ruleset, werror) for display, p in items]
    jobs = max(1, jobs if jobs > 0 else (os.cpu_count() or 1))
    if jobs == 1 or len(work) < 2 or isinstance(ruleset, Ruleset):  # compiled code won't pickle
        if meanwhile is not None:
            meanwhile()
        return [check_file(*w) for w in work]
    # Largest logs first, in small chunks, so that the workers finish together (a run of big
    # logs at the end would leave one core idle); the results come back in the given order.
    order = sorted(range(len(work)), key=lambda i: -_size(work[i][1]))
    chunk = max(1, min(8, len(work) // (jobs * 16)))
    with worker_pool(min(jobs, len(work))) as pool:
        # The workers fork here, before `meanwhile` runs: no fork happens while the calling
        # process is busy (importing, reading files).
        pending = pool.map_async(_check_star, [work[i] for i in order], chunksize=chunk)
        if meanwhile is not None:
            meanwhile()
        results: list = [None] * len(work)
        for i, result in zip(order, pending.get()):
            results[i] = result
        return results


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:  # the check reports it
        return 0


__all__ = ["FileResult", "PathError", "RulesError", "check_file", "check_found", "check_logs",
           "find_logs", "PASS", "FAIL"]
