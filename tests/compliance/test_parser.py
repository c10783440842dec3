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
    p = write(tmp_path, ":::MLLOG " + json.dumps({**GOOD, "value": float("nan"),
                                                  "time_ms": float("inf")}) + "\n")
    (r,) = parse_file(p).records
    assert math.isnan(r.value) and r.time_ms == float("inf")


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


def test_a_10_mb_line(tmp_path):
    big = "y" * (10 * 1024 * 1024)
    p = write(tmp_path, rec(key="a") + "\n" + rec(key="big", value=big) + "\n" + rec(key="c")
              + "\n" + ":::MLLOG {" + big + "\n")
    log = parse_file(p)
    assert [r.key for r in log.records] == ["a", "big", "c"]
    assert [(d.code, d.line) for d in log.diagnostics] == [("SP001", 4)]
    assert len(log.diagnostics[0].message) < 500  # the line is quoted, not copied


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
