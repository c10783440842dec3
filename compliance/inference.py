"""Check one inference result: ORG/results/SYSTEM/inference/BENCH/SCENARIO/ as `sciperf infer`
writes it (sciperf/layout.py; rules.md section 8; docs/inference.md).

`check-compliance` finds the result by its `sciperf_log.txt` (compliance.api.check_file hands
it here) and checks, each file read once:

- sciperf_log.txt against the ruleset's `inference_common.yaml` (SciPerf's records);
- performance/mlperf_log_detail.txt against `inference_loadgen.yaml`, which enqueues
  `inference_<scenario>.yaml` (validity, minimum duration and queries, the score);
- accuracy/mlperf_log_detail.txt against `inference_accuracy.yaml`;
- then, from their run summaries and LoadGen's accuracy log, what needs several files (SP5xx):
  every file there (SP501), the accuracy against the benchmark's target of the data scale less
  the tolerance (SP502), every validation sample answered (SP503), the settings official
  (SP504), one scenario throughout (SP505), the official dataset (SP507).

The model hash against the submission's training logs (SP506) is a package check
(compliance/package.py). The result is one FileResult (the path of sciperf_log.txt) whose
RunSummary carries the other files' summaries in `runs`, so the report reads nothing again.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from sciperf import layout, vocab

from . import codes, registry
from .diagnostics import ERROR, Diagnostic
from .parser import DiagnosticSink, iter_records, open_log, replay_records
from .rules import Ruleset, RulesError
from .summary import RunSummary, Summarizer

ENTRY = "inference_common.yaml"
RUN_ENTRIES = {layout.PERFORMANCE: "inference_loadgen.yaml",
               layout.ACCURACY: "inference_accuracy.yaml"}


@lru_cache(maxsize=None)
def _entered(name: str, entry: str) -> Ruleset | None:
    """The ruleset entered at one of its inference files (None: it has no such file)."""
    rules = registry.load(name)
    try:
        return replace(rules, entry=f"{rules.folder}/{entry}")
    except RulesError:
        return None


@lru_cache(maxsize=None)
def benchmark_tables(name: str, benchmark: str) -> tuple[dict, dict, dict] | None:
    """(targets, checksums, bounds) by data scale, as the ruleset's `<benchmark>.yaml` BEGIN
    block sets them: the one place they live (None: the ruleset has no such file). `bounds`
    (dsprites.yaml) are of the reconstruction error, which training holds at the target; a
    benchmark without them has none."""
    rules = registry.load(name)
    rf = next((f for f in rules.files if f.short == f"{benchmark}.yaml"), None)
    if rf is None or rf.begin is None:
        return None
    s: dict = {}
    exec(rf.begin.code, {"s": s, "enqueue_config": lambda c: None, "math": math,
                         "__builtins__": __builtins__}, {"s": s})
    return s.get("targets") or {}, s.get("checksums") or {}, s.get("bounds") or {}


def check_file(rules: Ruleset, display: str, path: Path) -> tuple[list[Diagnostic],
                                                                  RunSummary | None]:
    """One file of the result against `rules` (entered where it applies): (findings, summary;
    None when the file cannot be read)."""
    sink = DiagnosticSink(display)
    fh = open_log(path, sink)
    if fh is None:
        return sink.finish(), None
    summarizer = Summarizer()
    try:
        with fh:
            outcome = rules.check(iter_records(fh, sink), display, observe=summarizer.handler,
                                  reopen=lambda: replay_records(fh, display))
    except OSError as e:
        sink.add("SP006", f"cannot read the file: {e.strerror or e}")
        return sink.finish(), None
    diags = sink.finish()
    if outcome.records == 0:
        diags.append(codes.make("SP007", "the file holds no well-formed :::MLLOG record, so no "
                                         "rule could be checked", path=display))
        return diags, summarizer.finish(0)
    return diags + outcome.diagnostics, summarizer.finish(outcome.records)


def check_result(display: str, path: Path, name: str) -> tuple[list[Diagnostic], RunSummary]:
    """Every check of the result whose sciperf_log.txt is `path` (shown as `display`), under
    the ruleset `name`."""
    folder = Path(path).parent
    prefix = display[:-len(layout.INFERENCE_LOG)]
    entered = _entered(name, ENTRY)
    if entered is None:
        return [codes.make("SP303", f"the ruleset {name} has no inference rules ({ENTRY})",
                           path=display)], RunSummary()
    diags, summary = check_file(entered, display, path)
    summary = summary or RunSummary()
    for run, entry in RUN_ENTRIES.items():
        detail = folder / run / layout.LOADGEN_DETAIL
        shown = f"{prefix}{run}/{layout.LOADGEN_DETAIL}"
        if not detail.is_file():
            diags.append(codes.make("SP501", f"no {run}/{layout.LOADGEN_DETAIL}: the "
                                    f"{run} run's LoadGen log is missing", path=shown))
            continue
        found, run_summary = check_file(_entered(name, entry), shown, detail)
        diags += found
        if run_summary is not None:
            summary.runs[run] = run_summary
    diags += _Cross(summary, folder, prefix, display, name).findings()
    return diags, summary


class _Cross:
    """The checks that need more than one file (SP502-SP505, SP507)."""

    def __init__(self, summary: RunSummary, folder: Path, prefix: str, display: str, name: str):
        self.s, self.folder, self.prefix, self.display, self.name = (summary, folder, prefix,
                                                                     display, name)
        self.out: list[Diagnostic] = []

    def add(self, code, message, *, line=None, key=None, path=None, severity=None):
        d = codes.make(code, message, path=path or self.display, line=line, key=key)
        self.out.append(d if severity is None else replace(d, severity=severity))

    def logged(self, key):
        return self.s.inference.get(key)

    def findings(self) -> list[Diagnostic]:
        scenario = self.scenario()
        self.accuracy()
        self.samples()
        if scenario is not None:
            self.settings(scenario)
        return self.out

    def scenario(self) -> str | None:
        got = self.logged(vocab.INFERENCE_SCENARIO)
        logged = got.value if got is not None else None
        folder = self.folder.name
        if logged not in layout.SCENARIOS:
            return None  # inference_common.yaml says what is wrong with it
        if folder != logged:
            self.add("SP505", f"the log says {logged} but lies in {folder}/", line=got.line,
                     key=vocab.INFERENCE_SCENARIO)
        perf = self.s.runs.get(layout.PERFORMANCE)
        effective = perf.loadgen.get(vocab.EFFECTIVE_SCENARIO) if perf else None
        if effective is not None and effective.value != vocab.LOADGEN_SCENARIOS[logged]:
            self.add("SP505", f"LoadGen ran {effective.value!r}, but the result is {logged}",
                     line=effective.line, key=vocab.EFFECTIVE_SCENARIO,
                     path=f"{self.prefix}{layout.PERFORMANCE}/{layout.LOADGEN_DETAIL}")
        return logged

    def accuracy(self) -> None:
        bench_name = self.s.value(vocab.SUBMISSION_BENCHMARK)
        bench = vocab.BENCHMARKS.get(bench_name) if isinstance(bench_name, str) else None
        tables = benchmark_tables(self.name, bench_name) if bench is not None else None
        scale = self.s.data_scale
        if bench is None or tables is None:
            self.add("SP303", f"the ruleset {self.name} has no rules for the benchmark "
                              f"{bench_name!r}", key=vocab.SUBMISSION_BENCHMARK)
            return
        targets, checksums, bounds = tables
        official = checksums.get(scale)
        checksum = self.s.dataset_checksum
        if scale in checksums and official is not None and checksum is not None \
                and checksum != official:
            self.add("SP507", f"dataset_checksum {checksum} is not the official {scale} "
                              f"dataset's ({official})", key=vocab.DATASET_CHECKSUM)
        got = self.logged(vocab.INFERENCE_ACCURACY)
        target = targets.get(scale)
        if got is None or target is None or not _is_number(got.value):
            return  # the rule files say what is missing
        metric = got.metadata.get(vocab.METRIC_NAME) if isinstance(got.metadata, dict) else None
        if isinstance(metric, str) and metric != bench.metric_name:
            self.add("SP502", f"the accuracy run scored {metric!r}, not {bench_name}'s metric "
                              f"{bench.metric_name!r}", line=got.line,
                     key=vocab.INFERENCE_ACCURACY)
            return
        self.bound(got, bounds.get(scale), scale)
        threshold = bench.inference_threshold(target)
        if not bench.reached(got.value, threshold):
            sign = "-" if bench.higher_is_better else "+"
            self.add("SP502", f"the accuracy run's {bench.metric_name} is {got.value:.6g}; "
                              f"a result needs {'>=' if bench.higher_is_better else '<='} "
                              f"{threshold:.6g} (the {scale} target {target:g} {sign} "
                              f"{vocab.INFERENCE_ACCURACY_TOLERANCE:.0%})", line=got.line,
                     key=vocab.INFERENCE_ACCURACY)

    def bound(self, got, bound, scale: str) -> None:
        """The reconstruction error's bound, where the benchmark has one: held at the target in
        training, so by the accuracy run too (within the tolerance)."""
        if not _is_number(bound):
            return
        key = vocab.RECONSTRUCTION_ERROR
        value = got.metadata.get(key) if isinstance(got.metadata, dict) else None
        limit = vocab.inference_bound(bound)
        if not _is_number(value):
            self.add("SP502", f"the accuracy run logs no {key} (metadata), which the {scale} "
                              f"bound {bound:g} limits", line=got.line,
                     key=vocab.INFERENCE_ACCURACY)
        elif value > limit:
            self.add("SP502", f"the accuracy run's {key} is {value:.6g}; a result needs <= "
                              f"{limit:.6g} (the {scale} bound {bound:g} + "
                              f"{vocab.INFERENCE_ACCURACY_TOLERANCE:.0%})", line=got.line,
                     key=vocab.INFERENCE_ACCURACY)

    def samples(self) -> None:
        path = self.folder / layout.ACCURACY / layout.LOADGEN_ACCURACY
        shown = f"{self.prefix}{layout.ACCURACY}/{layout.LOADGEN_ACCURACY}"
        if not path.is_file():
            self.add("SP501", f"no {layout.ACCURACY}/{layout.LOADGEN_ACCURACY}: LoadGen's "
                              "record of the accuracy run's answers is missing", path=shown)
            return
        try:
            entries = json.loads(path.read_bytes())
            answered = {int(e["qsl_idx"]) for e in entries}
        except (OSError, ValueError, RecursionError, KeyError, TypeError) as e:
            self.add("SP503", f"cannot be read as LoadGen's accuracy log ({type(e).__name__}: "
                              f"{e})", path=shown)
            return
        self.s.accuracy_samples = len(answered)
        expected = self.logged(vocab.EVAL_SAMPLES)
        if expected is not None and _is_number(expected.value) \
                and answered != set(range(int(expected.value))):
            self.add("SP503", f"it answers {len(answered)} distinct samples, but the "
                              f"validation split holds {expected.value} (eval_samples, "
                              f"{layout.INFERENCE_LOG} line {expected.line})", path=shown)

    def settings(self, scenario: str) -> None:
        perf = self.s.runs.get(layout.PERFORMANCE)
        if perf is None:
            return
        shown = f"{self.prefix}{layout.PERFORMANCE}/{layout.LOADGEN_DETAIL}"
        short = []
        duration = perf.loadgen.get(vocab.EFFECTIVE_MIN_DURATION_MS)
        queries = perf.loadgen.get(vocab.EFFECTIVE_MIN_QUERY_COUNT)
        if duration is not None and _is_number(duration.value) \
                and duration.value < vocab.INFERENCE_OFFICIAL_MIN_DURATION_MS:
            short.append(f"min_duration {duration.value:g} ms < "
                         f"{vocab.INFERENCE_OFFICIAL_MIN_DURATION_MS}")
        minimum = vocab.INFERENCE_OFFICIAL_MIN_QUERIES[scenario]
        if queries is not None and _is_number(queries.value) and queries.value < minimum:
            short.append(f"min_query_count {queries.value:g} < {minimum}")
        flag = self.logged(vocab.INFERENCE_UNOFFICIAL)
        marked = flag is not None and flag.value is True
        if short and not marked:
            self.add("SP504", f"LoadGen ran shortened settings ({'; '.join(short)}), but "
                              f"{vocab.INFERENCE_UNOFFICIAL} is not true", path=shown,
                     line=(duration or queries).line, severity=ERROR)
        elif marked:
            self.add("SP504", "the result is unofficial (inference_unofficial true"
                     + (f": {'; '.join(short)}" if short else "") + ")", line=flag.line,
                     key=vocab.INFERENCE_UNOFFICIAL)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
