"""What one pass over a log learns besides its verdict: the run summary that the package checks
and the report consume, so that no later stage reads the log again.

The per-log check (compliance.api.check_file) feeds every record to a `Summarizer` in the same
loop that runs the rules; the `RunSummary` it builds travels on with the log's `FileResult`
(across the checker's worker processes too: msgspec Structs, which pickle several times faster
than slotted dataclasses, and the main process unpickles every log's summary).

Which record of a key counts, where a log holds several, is each consumer's reference tool's
choice, so that scores and verdicts equal theirs:

- `run_start`/`run_stop`: as mlperf-logging's result_summarizer reads them, each record
  overwrites the previous one until both have been seen, then the rest are ignored
  (`run_start`, `run_stop`, `status`); the package checks look at the last `run_stop`
  (`final_stop`), as mlperf-logging's package checker does;
- the last `global_batch_size` and `submission_benchmark` and the last evaluation before the
  final run_stop, as its RCP checker reads them (`rcp_batch_size`, `rcp_benchmark`,
  `evaluation`);
- the first value of every other key.
"""

from __future__ import annotations

import math
from functools import lru_cache

from msgspec import Struct, field

from sciperf import vocab

from .parser import Record

# Keys whose value must be the same in every run of a result (package check SP405): the
# hyperparameters (vocab's, and MLPerf training's gradient_accumulation_steps: hpc_2.0.0's rule
# files log deepcam's scheduler_* and batchnorm_group_size) and, for SciPerf logs, the data.
HYPERPARAMETER_KEYS = frozenset(vocab.HYPERPARAMETER_KEYS + (vocab.GRADIENT_ACCUMULATION_STEPS,))
SAME_DATA_KEYS = frozenset({vocab.DATA_SCALE, vocab.DATASET_CHECKSUM})
EVAL_KEYS = frozenset({vocab.EVAL_ACCURACY, vocab.EVAL_ERROR})
PANEL_KEYS = frozenset(k for b in vocab.BENCHMARKS.values() for k in b.panel)
INFERENCE_KEYS = frozenset({vocab.INFERENCE_SCENARIO, vocab.INFERENCE_ACCURACY,
                            vocab.INFERENCE_UNOFFICIAL, vocab.EVAL_SAMPLES})
LOADGEN_PREFIXES = ("result_", "effective_", vocab.LOADGEN_VERSION)
SUBMISSION_KEYS = (vocab.SUBMISSION_BENCHMARK, vocab.SUBMISSION_DIVISION, vocab.SUBMISSION_ORG,
                   vocab.SUBMISSION_PLATFORM, vocab.SUBMISSION_STATUS)


def must_match(key: str) -> bool:
    """Whether every run of a system's benchmark must log the same value for key (SP405)."""
    return (key in HYPERPARAMETER_KEYS or key in SAME_DATA_KEYS
            or key.startswith(vocab.HYPERPARAMETER_PREFIXES))


class Logged(Struct, frozen=True):
    """A logged value and the file line that holds it."""
    value: object
    line: int


class Timed(Struct, frozen=True):
    """A run_start or run_stop: its time and line."""
    time_ms: float
    line: int


class Evaluation(Struct, frozen=True):
    """A quality-metric record (eval_accuracy or eval_error)."""
    key: str
    value: object
    metadata: dict
    line: int


class RunSummary(Struct):
    records: int = 0  # well-formed records
    run_start: Timed | None = None  # the summarizer's choice (see the module doc)
    run_stop: Timed | None = None
    status: object = None  # the status in that run_stop's metadata
    final_stop: Logged | None = None  # the last run_stop: its metadata and line
    evaluation: Evaluation | None = None  # the last quality-metric record before final_stop
    seeds: list[Logged] = field(default_factory=list)
    hyperparameters: dict[str, Logged] = field(default_factory=dict)  # first record of each
    submission: dict[str, Logged] = field(default_factory=dict)  # first of each submission_*
    ruleset: str | None = None  # the first sciperf_ruleset that is a string
    data_scale: str | None = None  # the first that is a string
    dataset_checksum: str | None = None  # the first that is a string
    global_batch_size: float | None = None  # the first that is a finite number
    rcp_batch_size: Logged | None = None  # the last global_batch_size record
    rcp_benchmark: Logged | None = None  # the last submission_benchmark record
    number_of_nodes: object = None
    accelerators_per_node: object = None
    method: str | None = None  # blueprints: the method trained
    panel: dict[str, Logged] = field(default_factory=dict)  # last value of each panel key
    weights_sha256: Logged | None = None  # the first that is a string: the model it kept
    # inference results (sciperf_log.txt; compliance/inference.py): the first of each
    # inference_accuracy with its metadata (the metric's name and extras), as an Evaluation
    inference: dict[str, Logged | Evaluation] = field(default_factory=dict)
    # LoadGen's detail logs: the first record of each result_*, effective_* key and the version
    loadgen: dict[str, Logged] = field(default_factory=dict)
    # an inference result: the summaries of LoadGen's detail logs, by run (performance,
    # accuracy), and the validation samples the accuracy log answers (compliance/inference.py)
    runs: dict = field(default_factory=dict)
    accuracy_samples: int | None = None

    @property
    def logged(self) -> bool:
        return self.records > 0

    @property
    def final_status(self) -> str | None:
        """The last run_stop's status; "missing" when it has none; None without run_stop."""
        if self.final_stop is None:
            return None
        status = self.final_stop.value.get(vocab.STATUS)
        return str(status) if status is not None else "missing"

    @property
    def finished(self) -> bool:
        """Whether the run reached its target: the scored run_stop says success."""
        return self.run_stop is not None and self.status == vocab.SUCCESS

    @property
    def time_to_train_minutes(self) -> float:
        # The summarizer's exact operation order (ms / 60 / 1000), so floats compare equal.
        return (self.run_stop.time_ms - self.run_start.time_ms) / 60 / 1000

    @property
    def instance_scale(self) -> int:
        """Accelerators one model trains on, as mlperf-logging computes it (CPU-only: nodes)."""
        return int(self.number_of_nodes) * max(int(self.accelerators_per_node), 1)

    def value(self, key: str):
        """The first value logged for a submission_* key (None when it is not logged)."""
        got = self.submission.get(key)
        return None if got is None else got.value


class Summarizer:
    """Builds a RunSummary from records fed one at a time. `handler(key)` gives the method that
    takes a record of that key, or None for the keys no consumer reads (most of them); it is
    decided once per key, so the checker's loop pays one dictionary lookup per record."""

    def __init__(self):
        self.summary = RunSummary()
        self._last_eval: Record | None = None
        self._both = False  # the summarizer has its run_start and run_stop

    def handler(self, key: str):
        name = _handler_name(key)
        return None if name is None else getattr(self, name)

    def feed(self, rec: Record) -> None:
        """Take one record (the checker's loop calls the handler directly)."""
        h = self.handler(rec.key)
        if h is not None:
            h(rec)

    def finish(self, records: int) -> RunSummary:
        self.summary.records = records
        return self.summary

    # -- the handlers (named by _handler_name)
    def _run_start(self, rec: Record) -> None:
        if not self._both:
            self.summary.run_start = Timed(rec.time_ms, rec.line)
            self._both = self.summary.run_stop is not None

    def _run_stop(self, rec: Record) -> None:
        s = self.summary
        s.final_stop = Logged(rec.metadata, rec.line)
        e = self._last_eval
        s.evaluation = None if e is None else Evaluation(e.key, e.value, e.metadata, e.line)
        if not self._both:
            s.run_stop = Timed(rec.time_ms, rec.line)
            s.status = rec.metadata.get(vocab.STATUS)
            self._both = s.run_start is not None

    def _evaluation(self, rec: Record) -> None:
        self._last_eval = rec  # made an Evaluation only at run_stop (most are never needed)

    def _seed(self, rec: Record) -> None:
        self.summary.seeds.append(Logged(rec.value, rec.line))

    def _batch_size_and_hyper(self, rec: Record) -> None:
        self._batch_size(rec)
        self._hyper(rec)

    def _hyper(self, rec: Record) -> None:
        s = self.summary
        if rec.key not in s.hyperparameters:
            s.hyperparameters[rec.key] = Logged(rec.value, rec.line)
        if isinstance(rec.value, str):  # the first that is a string
            if rec.key == vocab.DATA_SCALE and s.data_scale is None:
                s.data_scale = rec.value
            elif rec.key == vocab.DATASET_CHECKSUM and s.dataset_checksum is None:
                s.dataset_checksum = rec.value

    def _submission(self, rec: Record) -> None:
        s = self.summary
        if rec.key not in s.submission:
            s.submission[rec.key] = Logged(rec.value, rec.line)
        if rec.key == vocab.SUBMISSION_BENCHMARK:
            s.rcp_benchmark = Logged(rec.value, rec.line)

    def _ruleset(self, rec: Record) -> None:
        if self.summary.ruleset is None and type(rec.value) is str:
            self.summary.ruleset = rec.value

    def _batch_size(self, rec: Record) -> None:
        s = self.summary
        s.rcp_batch_size = Logged(rec.value, rec.line)
        if s.global_batch_size is None and _is_number(rec.value):
            s.global_batch_size = rec.value

    def _nodes(self, rec: Record) -> None:
        if self.summary.number_of_nodes is None:
            self.summary.number_of_nodes = rec.value

    def _accelerators(self, rec: Record) -> None:
        if self.summary.accelerators_per_node is None:
            self.summary.accelerators_per_node = rec.value

    def _method(self, rec: Record) -> None:
        if self.summary.method is None and isinstance(rec.value, str):
            self.summary.method = rec.value

    def _panel(self, rec: Record) -> None:
        self.summary.panel[rec.key] = Logged(rec.value, rec.line)

    def _inference(self, rec: Record) -> None:
        if rec.key not in self.summary.inference:
            self.summary.inference[rec.key] = (
                Evaluation(rec.key, rec.value, rec.metadata, rec.line)
                if rec.key == vocab.INFERENCE_ACCURACY else Logged(rec.value, rec.line))

    def _loadgen(self, rec: Record) -> None:
        if rec.key not in self.summary.loadgen:
            self.summary.loadgen[rec.key] = Logged(rec.value, rec.line)

    def _weights(self, rec: Record) -> None:
        if self.summary.weights_sha256 is None and isinstance(rec.value, str):
            self.summary.weights_sha256 = Logged(rec.value, rec.line)


_FIXED = {
    vocab.RUN_START: "_run_start", vocab.RUN_STOP: "_run_stop", vocab.SEED: "_seed",
    vocab.SCIPERF_RULESET: "_ruleset", vocab.NUMBER_OF_NODES: "_nodes",
    vocab.ACCELERATORS_PER_NODE: "_accelerators", vocab.METHOD: "_method",
    vocab.WEIGHTS_SHA256: "_weights",
    **{k: "_inference" for k in INFERENCE_KEYS},
    # a hyperparameter too (SP405)
    vocab.GLOBAL_BATCH_SIZE: "_batch_size_and_hyper",
    **{k: "_evaluation" for k in EVAL_KEYS},
    **{k: "_submission" for k in SUBMISSION_KEYS},
    **{k: "_panel" for k in PANEL_KEYS},
}


@lru_cache(maxsize=4096)
def _handler_name(key: str) -> str | None:
    """The Summarizer method that takes records of `key` (None: no consumer reads them)."""
    name = _FIXED.get(key)
    if name is None and must_match(key):
        name = "_hyper"
    if name is None and key.startswith(LOADGEN_PREFIXES):
        name = "_loadgen"
    return name


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def summarize(records) -> RunSummary:
    """The summary of an iterable of records (no rules run)."""
    s = Summarizer()
    n = 0
    for n, rec in enumerate(records, 1):
        s.feed(rec)
    return s.finish(n)
