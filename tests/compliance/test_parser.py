"""The MLLOG parser: records as mlperf-logging reads them, the file's own line numbers, and a
diagnostic (never an exception) for every malformed line."""

from __future__ import annotations

import json
import math

import pytest
from mlperf_logging.compliance_checker import mlp_parser

from compliance import parser as P
from compliance.parser import parse_file

GOOD = {"namespace": "", "time_ms": 1.5, "event_type": "POINT_IN_TIME", "key": "k",
        "value": 1, "metadata": {"file": "x.py", "lineno": 3}}


def rec(**changes) -> str:
    d = dict(GOOD)
    for k, v in changes.items():
        if v is ...:
            del d[k]
        else:
            d[k] = v
    return ":::MLLOG " + json.dumps(d)


def write(tmp_path, text: str | bytes, name="result_0.txt"):
    p = tmp_path / name
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return p


def test_prefixes_other_lines_and_the_files_own_line_numbers(tmp_path):
    p = write(tmp_path, "\n".join([
        "starting up", rec(key="a"), "[1,0]<stdout>:" + rec(key="b"), "",
        "2024-01-01 12:00:00 INFO " + rec(key="c"), "noise :::MLLOG{\"no\": \"space\"}", "tail"]))
    log = parse_file(p)
    assert [(r.line, r.key) for r in log.records] == [(2, "a"), (3, "b"), (5, "c")]
    assert log.diagnostics == []
    r = log.records[0]
    assert (r.time_ms, r.event_type, r.value, r.metadata) == (1.5, "POINT_IN_TIME", 1,
                                                              GOOD["metadata"])


def test_the_last_marker_on_a_line_wins(tmp_path):
    p = write(tmp_path, rec(key="first") + " " + rec(key="second") + "\n")
    assert [r.key for r in parse_file(p).records] == ["second"]


def test_nan_and_infinity_as_json_reads_them(tmp_path):
    p = write(tmp_path, ":::MLLOG " + json.dumps({**GOOD, "value": float("nan")}) + "\n"
              + ":::MLLOG " + json.dumps({**GOOD, "value": float("-inf")}) + "\n")
    first, second = parse_file(p).records
    assert math.isnan(first.value) and second.value == float("-inf")


@pytest.mark.parametrize("time_ms", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_time_that_is_not_finite_is_a_finding(tmp_path, time_ms):
    line = rec(time_ms=1.5).replace('"time_ms": 1.5', f'"time_ms": {time_ms}')
    log = parse_file(write(tmp_path, line + "\n"))
    assert log.records == []
    assert [(d.code, d.line) for d in log.diagnostics] == [("SP004", 1)]
    assert "not a finite number" in log.diagnostics[0].message


@pytest.mark.parametrize("text", ["123456789012345678901234567890", "-9999999999999999999",
                                  "18446744073709551616", "1e400", "0.12345678901234567890123",
                                  "-0.0", "1E5", "5e-324"])
def test_numbers_read_exactly_as_json_reads_them(tmp_path, text):
    """orjson decodes most records, json the rest: what is read is json's either way (orjson
    alone would read a 30-digit integer as a float)."""
    line = rec(value=0).replace('"value": 0', f'"value": {text}')
    (r,) = parse_file(write(tmp_path, line + "\n")).records
    expected = json.loads(text)
    assert type(r.value) is type(expected) and (r.value == expected or math.isnan(expected))
    assert repr(r.value) == repr(expected)


def test_crlf_and_lone_cr_end_lines_as_universal_newlines_do(tmp_path):
    p = write(tmp_path, (rec(key="a") + "\r\n" + "progress 10%\rprogress 20%\r" + rec(key="b")
                         + "\r" + rec(key="c") + "\n").encode())
    log = parse_file(p)
    assert [(r.line, r.key) for r in log.records] == [(1, "a"), (2, "b"), (2, "c")]
    assert log.diagnostics == []


@pytest.mark.parametrize("line,code,needle", [
    (":::MLLOG {\"time_ms\": 1, ", "SP001", "invalid JSON"),
    (":::MLLOG " + json.dumps(GOOD) + " trailing", "SP001", "Extra data"),
    (":::MLLOG [1, 2]", "SP002", "array"),
    (":::MLLOG 5", "SP002", "a number"),
    (rec(time_ms=...), "SP003", "time_ms"),
    (rec(key=...), "SP003", "key"),
    (rec(value=...), "SP003", "value"),
    (rec(event_type=...), "SP003", "event_type"),
    (rec(metadata=...), "SP003", "metadata"),
    (rec(time_ms="123"), "SP004", "time_ms is a string"),
    (rec(time_ms=True), "SP004", "time_ms"),
    (rec(key=5), "SP004", "key is a number"),
    (rec(event_type="SOMETIME"), "SP004", "event_type"),
    (rec(event_type=["POINT_IN_TIME"]), "SP004", "event_type"),
    (rec(metadata=None), "SP004", "metadata is null"),
    (":::MLLOG " + "[" * 100000, "SP001", "invalid JSON"),
    (":::MLLOG " + json.dumps(GOOD).replace('"time_ms": 1.5', '"time_ms": 1' + "0" * 400),
     "SP004", "out of range"),
])
def test_malformed_records_are_diagnostics(tmp_path, line, code, needle):
    p = write(tmp_path, rec(key="before") + "\n" + line + "\n" + rec(key="after") + "\n")
    log = parse_file(p)
    assert [r.key for r in log.records] == ["before", "after"]
    assert [(d.code, d.line, d.severity) for d in log.diagnostics] == [(code, 2, "error")]
    assert needle in log.diagnostics[0].message
    assert log.diagnostics[0].path == str(p)


def test_invalid_utf8_is_read_as_latin1_with_a_warning(tmp_path):
    p = write(tmp_path, (":::MLLOG " + json.dumps({**GOOD, "value": "caf\u00e9"},
                                                  ensure_ascii=False)).encode("latin-1") + b"\n")
    log = parse_file(p)
    assert [r.value for r in log.records] == ["caf\u00e9"]
    assert [(d.code, d.severity, d.line) for d in log.diagnostics] == [("SP005", "warning", 1)]


def test_empty_and_unreadable_files(tmp_path):
    assert parse_file(write(tmp_path, "")).records == []
    assert parse_file(write(tmp_path, "")).diagnostics == []
    for path in (tmp_path / "missing.txt", tmp_path):
        log = parse_file(path)
        assert log.records == [] and [d.code for d in log.diagnostics] == ["SP006"]


def test_lines_longer_than_a_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "CHUNK_BYTES", 7)
    big = "x" * 10_000
    p = write(tmp_path, "\n".join([rec(key="a"), rec(key="b", value=big), "", rec(key="c")]))
    log = parse_file(p)
    assert [(r.line, r.key) for r in log.records] == [(1, "a"), (2, "b"), (4, "c")]
    assert log.records[1].value == big


def test_a_10_mb_line_is_not_read(tmp_path):
    """A line longer than MAX_LINE_BYTES is skipped without being held in memory: SP008 when
    it holds the marker, nothing when it does not (free text)."""
    big = "y" * (10 * 1024 * 1024)
    p = write(tmp_path, rec(key="a") + "\n" + rec(key="big", value=big) + "\n" + rec(key="c")
              + "\n" + ":::MLLOG {" + big + "\n" + big + "\n" + big + ":::MLLOG " + big
              + "\n" + rec(key="d"))
    log = parse_file(p)
    assert [(r.line, r.key) for r in log.records] == [(1, "a"), (3, "c"), (7, "d")]
    assert [(d.code, d.line) for d in log.diagnostics] == [("SP008", 2), ("SP008", 4),
                                                            ("SP008", 6)]
    assert all(len(d.message) < 200 for d in log.diagnostics)  # the line is not quoted


def test_the_longest_line_read(tmp_path, monkeypatch):
    """Exactly MAX_LINE_BYTES is read; one byte more is not; across chunk boundaries too."""
    monkeypatch.setattr(P, "CHUNK_BYTES", 64)
    monkeypatch.setattr(P, "MAX_LINE_BYTES", 300)
    fits = rec(key="fits", value="")
    fits = rec(key="fits", value="x" * (300 - len(fits)))
    over = rec(key="over", value="x" * (301 - len(rec(key="over", value=""))))
    assert (len(fits), len(over)) == (300, 301)
    log = parse_file(write(tmp_path, "\n".join([fits, over, fits, over]) + "\n"))
    assert [(r.line, r.key) for r in log.records] == [(1, "fits"), (3, "fits")]
    assert [(d.code, d.line) for d in log.diagnostics] == [("SP008", 2), ("SP008", 4)]


def test_memory_stays_bounded_on_a_200_mb_line(tmp_path):
    """A single 200 MB MLLOG line once cost 1.45 GB to check; now it is skipped as it is read."""
    import subprocess
    import sys

    p = tmp_path / "result_0.txt"
    with open(p, "wb") as f:
        f.write(b":::MLLOG {\"value\": \"")
        chunk = b"z" * (1 << 20)
        for _ in range(200):
            f.write(chunk)
        f.write(b"\"}\n")
    # VmHWM: this process's peak (ru_maxrss would carry the parent's over the exec)
    code = ("import re, sys; from compliance.parser import parse_file; "
            "log = parse_file(sys.argv[1]); assert [d.code for d in log.diagnostics] == "
            "['SP008'], log.diagnostics; "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])")
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True,
                         cwd=P.__file__.rsplit("/compliance/", 1)[0], timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 150_000  # KB: the interpreter and its imports, not the line


def test_a_broken_file_gives_a_bounded_number_of_diagnostics(tmp_path):
    p = write(tmp_path, ":::MLLOG {\n" * 1000)
    log = parse_file(p)
    assert len(log.diagnostics) == P.MAX_PER_CODE + 1
    assert "950 more" in log.diagnostics[-1].message and log.diagnostics[-1].code == "SP001"


def test_records_match_mlperf_loggings_parser_on_real_logs(corpus):
    files = sorted(corpus.rglob("result_*.txt"))[::25]
    assert len(files) > 50
    for f in files:
        theirs, errors = mlp_parser.parse_file(str(f), ruleset="2.0.0")
        ours = parse_file(f)
        assert not errors and not ours.diagnostics
        assert [(r.time_ms, r.key, {"value": r.value, "metadata": r.metadata})
                for r in ours.records] == [(ll.timestamp, ll.key, ll.value) for ll in theirs]
        # the file's own line numbers: every line of these logs is a record
        assert [r.line for r in ours.records] == [ll.lineno + 1 for ll in theirs]


@pytest.mark.parametrize("text", ["1634692521652", "9007199254740993", "18446744073709551615",
                                  "18446744073709551617", "123456789012345678901234567890",
                                  "1e3", "-0", "1.5", "0.1e-300"])
def test_times_read_exactly_as_json_and_float_read_them(tmp_path, text):
    """msgspec reads time_ms as a float; the value is the one float(json.loads(...)) gives
    (mlperf-logging's reading), for integers past 2**53 and 2**64 too."""
    line = rec(time_ms=1.5).replace('"time_ms": 1.5', f'"time_ms": {text}')
    (r,) = parse_file(write(tmp_path, line + "\n")).records
    assert type(r.time_ms) is float and repr(r.time_ms) == repr(float(json.loads(text)))


def test_a_record_cannot_set_the_fields_the_parser_sets(tmp_path):
    line = rec(time_ms=1.5)[:-1] + ', "line": 99, "index": 7, "raw": "YWJj"}'
    (r,) = parse_file(write(tmp_path, rec(key="first") + "\n" + line + "\n")).records[1:]
    assert (r.line, r.index, r.raw) == (2, 1, line[len(":::MLLOG "):].encode())
