"""The MLLOG parser: streams the `:::MLLOG {json}` records of a log file.

What counts as a record follows mlperf-logging's own parser (`mlp_parser/ruleset_*.py`), so the
checker's verdicts equal its checker's:

- a record is the JSON after the *last* `:::MLLOG ` (with the space) on a line, whatever precedes
  it (`[1,0]<stdout>:` from horovodrun, timestamps, ...); lines without the marker are not
  records and are skipped;
- lines end at `\\n`, `\\r\\n` or a lone `\\r` (Python's universal newlines, which mlperf-logging
  reads with); a line's number is that of its `\\n`-terminated line in the file, as editors and
  `grep -n` count;
- the JSON is what Python's `json` accepts (`NaN`, `Infinity`); bytes that are not UTF-8 are read
  as Latin-1, as mlperf-logging reads every file, with a warning.

Stricter than mlperf-logging (which raises on some of these and silently accepts others): a
record must be an object with `time_ms` (a number), `event_type` (one of the three mllog
writes), `key` (a string), `value` and `metadata` (an object). Anything else becomes a
diagnostic naming the line; the parser never raises on the content of a file.

Memory: records are produced one at a time (`iter_records`) and the file is read in 1 MiB
chunks, so the checker's memory does not grow with the log; `parse_file` keeps them all.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import codes
from .diagnostics import Diagnostic

TOKEN = b":::MLLOG "
TOKEN_TEXT = TOKEN.decode()
EVENT_TYPES = frozenset({"POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"})
FIELDS = ("time_ms", "event_type", "key", "value", "metadata")
CHUNK_BYTES = 1 << 20
# A file broken on every line would otherwise give one diagnostic per line; past this many of one
# code, the rest are counted in a single closing diagnostic (the verdict is the same).
MAX_PER_CODE = 50
_EXCERPT = 120

_scan_once = json.JSONDecoder().scan_once


@dataclass(frozen=True)
class Record:
    line: int  # the file's own 1-based line number
    time_ms: float
    event_type: str  # "POINT_IN_TIME" | "INTERVAL_START" | "INTERVAL_END"
    key: str
    value: object
    metadata: dict


@dataclass
class ParsedLog:
    path: Path
    records: list[Record]
    diagnostics: list[Diagnostic] = field(default_factory=list)


class DiagnosticSink:
    """Collects a file's parser diagnostics, at most MAX_PER_CODE per code."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[Diagnostic] = []
        self.counts: Counter = Counter()

    def add(self, code: str, message: str, line: int | None = None, **kw) -> None:
        self.counts[code] += 1
        if self.counts[code] <= MAX_PER_CODE:
            self.items.append(codes.make(code, message, path=self.path, line=line, **kw))

    def finish(self) -> list[Diagnostic]:
        """The diagnostics, with one more per code that went over the limit."""
        for code, n in self.counts.items():
            if n > MAX_PER_CODE:
                self.items.append(codes.make(
                    code, f"... and {n - MAX_PER_CODE} more lines with {code} in this file "
                          f"({n} in all)", path=self.path))
        return self.items


def printable(text: str) -> str:
    """Untrusted text (log content, file names) with control characters escaped, so that
    printing it cannot move a terminal's cursor or forge output lines."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _excerpt(text: str) -> str:
    """The start of an untrusted line, for a message."""
    short = printable(text[:_EXCERPT])
    return short if len(text) <= _EXCERPT else short + f"... ({len(text)} chars)"


def marker_lines(fh) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes after the last marker) of each line of a binary file holding the
    marker. Reads CHUNK_BYTES at a time; a line longer than a chunk is assembled once."""
    lineno = 0
    pending: list[bytes] = []
    while True:
        chunk = fh.read(CHUNK_BYTES)
        if not chunk:
            break
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        if pending:
            pending.append(chunk)
            chunk = b"".join(pending)
        lines = chunk.split(b"\n")
        pending = [lines.pop()]
        for line in lines:
            lineno += 1
            i = line.rfind(TOKEN)
            if i < 0:
                continue
            if b"\r" in line:  # a lone \r ends a line too (universal newlines)
                for segment in line.split(b"\r"):
                    j = segment.rfind(TOKEN)
                    if j >= 0:
                        yield lineno, segment[j + 9:]
            else:
                yield lineno, line[i + 9:]
    tail = b"".join(pending)
    if tail:
        lineno += 1
        if TOKEN in tail:
            for segment in tail.split(b"\r"):
                j = segment.rfind(TOKEN)
                if j >= 0:
                    yield lineno, segment[j + 9:]


def iter_records(fh, sink: DiagnosticSink) -> Iterator[tuple]:
    """The well-formed records of a binary file as tuples
    (line, time_ms, event_type, key, value, metadata, text, index) in file order: `text` is the
    JSON as read, `index` the 0-based number of the marker line (how mlperf-logging numbers
    records, malformed ones included). Malformed lines go to `sink` and are skipped."""
    scan = _scan_once
    event_types = EVENT_TYPES
    for index, (lineno, payload) in enumerate(marker_lines(fh)):
        try:
            text = payload.decode()
        except UnicodeDecodeError as e:
            text = payload.decode("latin-1")
            sink.add("SP005", f"bytes that are not UTF-8 at column {e.start + 1} of the record; "
                              "read as Latin-1", lineno)
        try:
            try:
                obj, end = scan(text, 0)
                whole = end == len(text)
            except StopIteration:
                whole = False
            if not whole:  # not a bare JSON document: read it as mlperf-logging does
                obj = json.loads(text.strip())
        except (ValueError, RecursionError) as e:
            sink.add("SP001", _json_problem(e, text), lineno)
            continue
        if type(obj) is not dict:
            sink.add("SP002", f"the record is {_json_type(obj)}, not a JSON object: "
                              f"{_excerpt(text)}", lineno)
            continue
        try:
            time_ms = obj["time_ms"]
            event_type = obj["event_type"]
            key = obj["key"]
            value = obj["value"]
            metadata = obj["metadata"]
        except KeyError:
            missing = [f for f in FIELDS if f not in obj]
            sink.add("SP003", f"the record has no {', '.join(missing)}: {_excerpt(text)}",
                     lineno, key=obj.get("key") if type(obj.get("key")) is str else None)
            continue
        t = type(time_ms)
        if (t is not float and (t is not int or t is bool) or type(key) is not str
                or type(event_type) is not str or event_type not in event_types
                or type(metadata) is not dict):
            sink.add("SP004", _type_problem(time_ms, event_type, key, metadata), lineno,
                     key=key if type(key) is str else None)
            continue
        if t is int:
            try:
                time_ms = float(time_ms)
            except OverflowError:
                sink.add("SP004", f"time_ms {_excerpt(str(time_ms))} is out of range", lineno,
                         key=key)
                continue
        yield lineno, time_ms, event_type, key, value, metadata, text, index


def _json_problem(e: Exception, text: str) -> str:
    if isinstance(e, json.JSONDecodeError):
        why = f"{e.msg} at column {e.colno}"
    elif isinstance(e, RecursionError):
        why = "nested too deeply"
    else:
        why = str(e)
    return f"invalid JSON after :::MLLOG ({why}): {_excerpt(text)}"


def _type_problem(time_ms, event_type, key, metadata) -> str:
    problems = []
    if type(time_ms) not in (int, float):
        problems.append(f"time_ms is {_json_type(time_ms)}, not a number")
    if type(event_type) is not str or event_type not in EVENT_TYPES:
        problems.append(f"event_type is {_excerpt(json.dumps(event_type))}, not one of "
                        + ", ".join(sorted(EVENT_TYPES)))
    if type(key) is not str:
        problems.append(f"key is {_json_type(key)}, not a string")
    if type(metadata) is not dict:
        problems.append(f"metadata is {_json_type(metadata)}, not an object")
    return "; ".join(problems)


def _json_type(x) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(x), type(x).__name__)


def open_log(path: str | Path, sink: DiagnosticSink):
    """The file opened for reading in binary, or None with an SP006 diagnostic."""
    try:
        fh = open(path, "rb")
    except OSError as e:
        sink.add("SP006", f"cannot read the file: {e.strerror or e}")
        return None
    return fh


def parse_file(path: str | Path) -> ParsedLog:
    """Every well-formed record of a log, and a diagnostic for each malformed line. Never
    raises on the file's content (an unreadable file is a diagnostic too)."""
    sink = DiagnosticSink(str(path))
    records: list[Record] = []
    fh = open_log(path, sink)
    if fh is not None:
        try:
            with fh:
                records = [Record(*r[:6]) for r in iter_records(fh, sink)]
        except OSError as e:  # e.g. a directory, or an I/O error mid-file
            sink.add("SP006", f"cannot read the file: {e.strerror or e}")
    return ParsedLog(Path(path), records, sink.finish())


def claimed_value(path: str | Path, key: str) -> str | None:
    """The string value of the first well-formed record of `key` in a file, without parsing the
    other lines (used to find the ruleset a log names before checking it)."""
    needle = key.encode()
    quiet = DiagnosticSink(str(path))
    try:
        with open(path, "rb") as fh:
            for lineno, payload in marker_lines(fh):
                if needle not in payload:
                    continue
                for rec in iter_records(_OneLine(payload), quiet):
                    if rec[3] == key and type(rec[4]) is str:
                        return rec[4]
    except OSError:
        return None
    return None


class _OneLine:
    """A binary 'file' holding one marker line, to run one payload through iter_records."""

    def __init__(self, payload: bytes):
        self._data = TOKEN + payload + b"\n"

    def read(self, n: int = -1) -> bytes:
        data, self._data = self._data, b""
        return data
