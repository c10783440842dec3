"""A minimal reader of one MLLOG result file: only the records that scoring needs.

Scoring runs after the compliance checker has read every log in full, so it does not parse
every line again: it finds the few keys it needs with one regular-expression search over the
file's bytes and decodes only those lines. On the MLPerf HPC v2.0 corpus (1,347 logs, 46 MB)
that is about 0.1 s, against seconds for a full parse.

Line semantics follow mlperf-logging's parser, which the result summarizer uses: a record is the
JSON after the last `:::MLLOG ` on its line, `time_ms` is read as a float, and when a key occurs
more than once the summarizer's choice is kept (see `scan_log`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from compliance.parser import TOKEN
from sciperf import vocab

# The keys scoring reads. Everything else in a log is the compliance checker's business.
SUBMISSION_KEYS = (
    vocab.SUBMISSION_BENCHMARK,
    vocab.SUBMISSION_DIVISION,
    vocab.SUBMISSION_ORG,
    vocab.SUBMISSION_PLATFORM,
    vocab.SUBMISSION_STATUS,
)
SCANNED_KEYS = (
    vocab.RUN_START,
    vocab.RUN_STOP,
    vocab.NUMBER_OF_NODES,
    vocab.ACCELERATORS_PER_NODE,
    vocab.GLOBAL_BATCH_SIZE,
    vocab.SCIPERF_RULESET,
    vocab.DATA_SCALE,
    *SUBMISSION_KEYS,
)
_KEY_RE = re.compile(
    rb'"key"\s*:\s*"(' + b"|".join(re.escape(k.encode()) for k in SCANNED_KEYS) + rb')"'
)


class LogReadError(Exception):
    """A log scoring cannot use: the message names the file and, where there is one, the line."""


@dataclass
class LogScan:
    path: Path
    run_start_ms: float | None = None
    run_stop_ms: float | None = None
    run_start_line: int | None = None
    run_stop_line: int | None = None
    status: str | None = None  # run_stop's metadata status: "success" | "aborted" | None
    number_of_nodes: int | None = None
    accelerators_per_node: int | None = None
    global_batch_size: float | None = None
    ruleset: str | None = None  # the ruleset the log claims (SciPerf logs only)
    data_scale: str | None = None
    submission: dict = field(default_factory=dict)  # submission_* key -> value

    @property
    def finished(self) -> bool:
        """Whether the run reached its target: a run_stop with status success."""
        return self.run_stop_ms is not None and self.status == vocab.SUCCESS

    @property
    def time_to_train_minutes(self) -> float:
        # The summarizer's exact operation order (ms / 60 / 1000), so floats compare equal.
        return (self.run_stop_ms - self.run_start_ms) / 60 / 1000

    @property
    def instance_scale(self) -> int:
        """Accelerators one model trains on, as mlperf-logging computes it (CPU-only: nodes)."""
        return int(self.number_of_nodes) * max(int(self.accelerators_per_node), 1)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _line_at(data: bytes, pos: int) -> tuple[bytes, int]:
    # Lines end at \n, \r\n or a lone \r, as Python's universal newlines (and so mlperf-logging
    # and compliance.parser) split them.
    start = max(data.rfind(b"\n", 0, pos), data.rfind(b"\r", 0, pos)) + 1
    ends = [e for e in (data.find(b"\n", pos), data.find(b"\r", pos)) if e >= 0]
    return data[start : min(ends) if ends else len(data)], start


def scan_log(path: str | Path) -> LogScan:
    """Read the records scoring needs from one result file.

    Raises LogReadError when the file cannot be read or a run_start/run_stop has no usable
    time; a missing run_start or run_stop is left None (the caller decides what that means).
    As in mlperf-logging's summarizer, each run_start / run_stop record overwrites the previous one
    until both have been seen, then the rest are ignored; the other keys keep their first value
    (compliant logs hold exactly one of each, so the choice only matters for broken ones).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LogReadError(f"{path}: cannot read: {e.strerror or e}") from e
    scan = LogScan(path=path)
    both_seen = False
    for m in _KEY_RE.finditer(data):
        line, line_start = _line_at(data, m.start())
        i = line.rfind(TOKEN)
        if i < 0:
            continue  # not an MLLOG record (free text mentioning a key)
        try:
            rec = json.loads(line[i + len(TOKEN) :].decode("utf-8", "replace"))
        except ValueError:
            continue  # malformed record: the compliance checker reports it with its line number
        key = rec.get("key") if isinstance(rec, dict) else None
        if key != m.group(1).decode():
            continue  # the key text sat inside a value, not in the record's own "key"
        value = rec.get("value")
        if key in (vocab.RUN_START, vocab.RUN_STOP):
            if both_seen:
                continue
            # the file's own line number, counted in \n-terminated lines as the checker does
            lineno = data.count(b"\n", 0, line_start) + 1
            try:
                t = float(rec["time_ms"])
            except (KeyError, TypeError, ValueError):
                t = math.nan
            if not math.isfinite(t):
                raise LogReadError(f"{path}:{lineno}: {key} has no numeric time_ms") from None
            if key == vocab.RUN_START:
                scan.run_start_ms, scan.run_start_line = t, lineno
            else:
                scan.run_stop_ms, scan.run_stop_line = t, lineno
                meta = rec.get("metadata") or {}
                scan.status = meta.get(vocab.STATUS) if isinstance(meta, dict) else None
            both_seen = scan.run_start_ms is not None and scan.run_stop_ms is not None
        elif key == vocab.NUMBER_OF_NODES:
            if scan.number_of_nodes is None:
                scan.number_of_nodes = value
        elif key == vocab.ACCELERATORS_PER_NODE:
            if scan.accelerators_per_node is None:
                scan.accelerators_per_node = value
        elif key == vocab.GLOBAL_BATCH_SIZE:
            if scan.global_batch_size is None and _is_number(value):
                scan.global_batch_size = value
        elif key == vocab.SCIPERF_RULESET:
            if scan.ruleset is None:
                scan.ruleset = value
        elif key == vocab.DATA_SCALE:
            if scan.data_scale is None:
                scan.data_scale = value
        else:
            scan.submission.setdefault(key, value)
    return scan
