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
  as Latin-1, as mlperf-logging reads every file, with a warning. msgspec decodes the common case
  (twice as fast as `json`, and, unlike orjson, exact on integers beyond 64 bits); whatever it
  refuses (NaN, infinities, lone surrogates, invalid UTF-8, broken JSON, deep nesting) goes
  through `json`, so what is read, and every message, is `json`'s.

Stricter than mlperf-logging (which raises on some of these and silently accepts others): a
record must be an object with `time_ms` (a finite number), `event_type` (one of the three
mllog writes), `key` (a string), `value` and `metadata` (an object). Anything else becomes a
diagnostic naming the line; the parser never raises on the content of a file.

Memory: records are produced one at a time (`iter_records`) and the file is read in 1 MiB
chunks; a line longer than MAX_LINE_BYTES is not assembled (SP008 when it holds the marker), so
the checker's memory does not grow with the log or with its longest line; `parse_file` keeps
every record.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import msgspec

from . import codes
from .diagnostics import Diagnostic

TOKEN = b":::MLLOG "
TOKEN_TEXT = TOKEN.decode()
EVENT_TYPES = frozenset({"POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"})
FIELDS = ("time_ms", "event_type", "key", "value", "metadata")
CHUNK_BYTES = 1 << 20
# A longer line is skipped (SP008 when it holds the marker) without being held in memory: no
# record of a real log comes near it (the v2.0 corpus's longest line has 311 bytes).
MAX_LINE_BYTES = 1 << 20
# A file broken on every line would otherwise give one diagnostic per line; past this many of one
# code, the rest are counted in a single closing diagnostic (the verdict is the same).
MAX_PER_CODE = 50
_EXCERPT = 120

_scan_once = json.JSONDecoder().scan_once


class Record(msgspec.Struct):
    """One well-formed record, as the checker and every later stage see it. Decoded straight
    from the line's JSON by msgspec, which checks the fields' types as it goes (in C: the
    record's shape costs nothing in Python); anything it refuses is read again with `json` to
    say precisely what is wrong."""
    time_ms: float  # a JSON integer is read as a float, as mlperf-logging does
    event_type: Literal["POINT_IN_TIME", "INTERVAL_START", "INTERVAL_END"]
    key: str
    value: Any
    metadata: dict
    # set by the parser after decoding (a record's own fields of these names are overwritten)
    line: int = 0  # the file's own 1-based line number
    raw: bytes = b""  # the JSON as read (after the marker), for rules that look at the line
    index: int = 0  # 0-based number of its marker line (mlperf-logging's count, malformed too)

    @property
    def text(self) -> str:
        """The JSON as text, decoded as it was parsed."""
        try:
            return self.raw.decode()
        except UnicodeDecodeError:
            return self.raw.decode("latin-1")


_decode_record = msgspec.json.Decoder(Record).decode
# what msgspec raises on a line json may still read, or that breaks a rule json can name
# (ValidationError is a DecodeError)
_FAST_ERRORS = (msgspec.DecodeError, RecursionError)


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


class Overlong(NamedTuple):
    """A marker line longer than MAX_LINE_BYTES: not read."""
    length: int


def _segments(line: bytes, lineno: int) -> Iterator[tuple[int, bytes]]:
    i = line.rfind(TOKEN)
    if i < 0:
        return
    if b"\r" in line:  # a lone \r ends a line too (universal newlines)
        for segment in line.split(b"\r"):
            j = segment.rfind(TOKEN)
            if j >= 0:
                yield lineno, segment[j + 9:]
    else:
        yield lineno, line[i + 9:]


def marker_lines(fh, max_line: int | None = None) -> Iterator[tuple[int, bytes | Overlong]]:
    """(line number, bytes after the last marker) of each line of a binary file holding the
    marker; (line number, Overlong) for a marker line longer than `max_line` bytes (default
    MAX_LINE_BYTES), which is skipped without being assembled. Reads CHUNK_BYTES at a time."""
    limit = MAX_LINE_BYTES if max_line is None else max_line
    lineno = 0
    pending: list[bytes] = []
    held = 0  # bytes in pending
    skipping = False  # inside an overlong line: its bytes are counted, not kept
    skipped = 0
    marked = False  # the overlong line holds the marker
    tail = b""  # the last bytes of a skipped piece, for a marker across two chunks
    while True:
        chunk = fh.read(CHUNK_BYTES)
        if not chunk:
            break
        if skipping:
            end = chunk.find(b"\n")
            piece = chunk if end < 0 else chunk[:end]
            marked = marked or TOKEN in tail + piece[:len(TOKEN)] or TOKEN in piece
            tail = piece[-len(TOKEN):]
            skipped += len(piece)
            if end < 0:
                continue
            lineno += 1
            if marked:
                yield lineno, Overlong(skipped)
            skipping, chunk = False, chunk[end + 1:]
        if b"\n" not in chunk:
            if held + len(chunk) > limit:
                first = b"".join(pending) + chunk
                skipping, skipped, marked, tail = True, len(first), TOKEN in first, \
                    first[-len(TOKEN):]
                pending, held = [], 0
            else:
                pending.append(chunk)
                held += len(chunk)
            continue
        if pending:
            pending.append(chunk)
            chunk = b"".join(pending)
        lines = chunk.split(b"\n")
        last = lines.pop()
        if len(chunk) <= limit and b"\r" not in chunk:  # the common case, per line at its leanest
            for line in lines:
                lineno += 1
                i = line.rfind(TOKEN)
                if i >= 0:
                    yield lineno, line[i + 9:]
        else:
            for line in lines:
                lineno += 1
                if len(line) > limit:
                    if TOKEN in line:
                        yield lineno, Overlong(len(line))
                    continue
                if TOKEN in line:
                    yield from _segments(line, lineno)
        if len(last) > limit:
            skipping, skipped, marked, tail = True, len(last), TOKEN in last, last[-len(TOKEN):]
            pending, held = [], 0
        else:
            pending, held = [last], len(last)
    if skipping:
        lineno += 1
        if marked:
            yield lineno, Overlong(skipped)
        return
    rest = b"".join(pending)
    if rest:
        yield from _segments(rest, lineno + 1)


def iter_records(fh, sink: DiagnosticSink) -> Iterator[Record]:
    """The well-formed records of a binary file, in file order. Malformed lines go to `sink`
    and are skipped."""
    decode = _decode_record
    fast_errors = _FAST_ERRORS
    for index, (lineno, payload) in enumerate(marker_lines(fh)):
        try:
            rec = decode(payload)
        except fast_errors:
            rec = _slow_record(payload, lineno, sink)
            if rec is None:
                continue
        except TypeError:  # an Overlong line
            sink.add("SP008", f"the line is {payload.length} bytes long, more than the "
                              f"{MAX_LINE_BYTES} a record may have; it is not read", lineno)
            continue
        rec.line = lineno
        rec.raw = payload
        rec.index = index
        yield rec


def _slow_record(payload: bytes, lineno: int, sink: DiagnosticSink) -> Record | None:
    """A line msgspec refused, read with `json` as mlperf-logging reads it: the record (json
    reads NaN and infinities that msgspec does not), or None with the diagnostic that says
    what is wrong in `sink`."""
    obj = _slow_decode(payload, lineno, sink)
    if obj is _BROKEN:
        return None
    if type(obj) is not dict:
        sink.add("SP002", f"the record is {_json_type(obj)}, not a JSON object: "
                          f"{_excerpt(_text(payload))}", lineno)
        return None
    try:
        time_ms = obj["time_ms"]
        event_type = obj["event_type"]
        key = obj["key"]
        value = obj["value"]
        metadata = obj["metadata"]
    except KeyError:
        missing = [f for f in FIELDS if f not in obj]
        sink.add("SP003", f"the record has no {', '.join(missing)}: "
                          f"{_excerpt(_text(payload))}",
                 lineno, key=obj.get("key") if type(obj.get("key")) is str else None)
        return None
    t = type(time_ms)
    if (t is not float and (t is not int or t is bool) or type(key) is not str
            or type(event_type) is not str or event_type not in EVENT_TYPES
            or type(metadata) is not dict):
        sink.add("SP004", _type_problem(time_ms, event_type, key, metadata), lineno,
                 key=key if type(key) is str else None)
        return None
    if t is int:
        try:
            time_ms = float(time_ms)
        except OverflowError:
            sink.add("SP004", f"time_ms {_excerpt(str(time_ms))} is out of range", lineno,
                     key=key)
            return None
    if not math.isfinite(time_ms):
        sink.add("SP004", f"time_ms is {time_ms}, not a finite number of milliseconds",
                 lineno, key=key)
        return None
    return Record(time_ms, event_type, key, value, metadata)


_BROKEN = object()


def _text(payload: bytes) -> str:
    try:
        return payload.decode()
    except UnicodeDecodeError:
        return payload.decode("latin-1")


def _slow_decode(payload: bytes, lineno: int, sink: DiagnosticSink):
    """What `json` makes of a payload orjson refused: the object, or _BROKEN with the SP001
    diagnostic in `sink` (and SP005 for bytes that are not UTF-8)."""
    try:
        text = payload.decode()
    except UnicodeDecodeError as e:
        text = payload.decode("latin-1")
        sink.add("SP005", f"bytes that are not UTF-8 at column {e.start + 1} of the record; "
                          "read as Latin-1", lineno)
    try:
        try:
            obj, end = _scan_once(text, 0)
            whole = end == len(text)
        except StopIteration:
            whole = False
        if not whole:  # not a bare JSON document: read it as mlperf-logging does
            obj = json.loads(text.strip())
    except (ValueError, RecursionError) as e:
        sink.add("SP001", _json_problem(e, text), lineno)
        return _BROKEN
    return obj


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


def replay_records(fh, display: str) -> Iterator[Record]:
    """The records of an open log again from the top (a rule file enqueued late, or an END
    block, reads them); the pass in progress goes on from where it was."""
    here = fh.tell()
    try:
        fh.seek(0)
        yield from iter_records(fh, DiagnosticSink(display))
    finally:
        fh.seek(here)


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
                records = list(iter_records(fh, sink))
        except OSError as e:  # e.g. a directory, or an I/O error mid-file
            sink.add("SP006", f"cannot read the file: {e.strerror or e}")
    return ParsedLog(Path(path), records, sink.finish())
