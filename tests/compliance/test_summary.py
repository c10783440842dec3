"""compliance.summary: the run summary the checker's one pass makes of a log, against an
independent reading of every record (parser.parse_file): the records of the keys the package
checks and the report use, with the same values and line numbers, on the real corpus and on
generated logs (keys inside values, junk before the marker, several markers on a line, \\r and
\\r\\n line ends, malformed lines, \\u escapes, repeated keys, files without any record)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.api import check_file, summarize_file
from compliance.parser import parse_file
from compliance.summary import must_match
from sciperf import vocab

EVALS = (vocab.EVAL_ACCURACY, vocab.EVAL_ERROR)


def oracle(path: Path) -> dict:
    """What the summary must hold, from every record the parser reads."""
    out = dict(logged=False, seeds=[], hyper={}, stop=None, division=None, org=None, scale=None,
               batch_size=None, benchmark=None, evaluation=None, weights=None)
    last_eval = None
    for r in parse_file(path).records:
        out["logged"] = True
        if r.key == vocab.SEED:
            out["seeds"].append((r.value, r.line))
        elif r.key == vocab.RUN_STOP:
            out["stop"] = (r.metadata, r.line)
            out["evaluation"] = last_eval
        elif r.key == vocab.SUBMISSION_DIVISION and out["division"] is None:
            out["division"] = (r.value, r.line)
        elif r.key == vocab.SUBMISSION_ORG and out["org"] is None:
            out["org"] = (r.value, r.line)
        elif r.key == vocab.SUBMISSION_BENCHMARK:
            out["benchmark"] = (r.value, r.line)
        elif r.key in EVALS:
            last_eval = (r.metadata, r.line)
        if r.key == vocab.DATA_SCALE and out["scale"] is None:
            out["scale"] = r.value if isinstance(r.value, str) else None
        if r.key == vocab.GLOBAL_BATCH_SIZE:
            out["batch_size"] = (r.value, r.line)
        if (r.key == vocab.WEIGHTS_SHA256 and out["weights"] is None
                and isinstance(r.value, str)):
            out["weights"] = (r.value, r.line)
        if must_match(r.key) and r.key not in out["hyper"]:
            out["hyper"][r.key] = (r.value, r.line)
    return out


def fields(s) -> dict:
    def pair(logged):
        return None if logged is None else (logged.value, logged.line)

    return dict(logged=s.logged, seeds=[pair(x) for x in s.seeds],
                hyper={k: pair(v) for k, v in s.hyperparameters.items()},
                stop=pair(s.final_stop), division=pair(s.submission.get(vocab.SUBMISSION_DIVISION)),
                org=pair(s.submission.get(vocab.SUBMISSION_ORG)), scale=s.data_scale,
                batch_size=pair(s.rcp_batch_size), benchmark=pair(s.rcp_benchmark),
                evaluation=None if s.evaluation is None else (s.evaluation.metadata,
                                                              s.evaluation.line),
                weights=pair(s.weights_sha256))


def read(path: Path) -> dict:
    """The summary as the checker's pass makes it; summarize_file (no rules) agrees."""
    checked = fields(check_file(path.name, path, "hpc-2.0.0").summary)
    assert _same(checked, fields(summarize_file(path)))
    return checked


def _same(a, b) -> bool:
    # NaN (which Python's json reads) is not equal to itself: compare the JSON text
    return json.dumps(a, sort_keys=True, default=repr) == json.dumps(b, sort_keys=True,
                                                                     default=repr)


@pytest.mark.slow
def test_every_corpus_log_reads_as_the_parser_reads_it(corpus):
    logs = sorted(corpus.rglob("result_*.txt"))
    assert len(logs) == 1347
    for p in logs:
        assert _same(read(p), oracle(p)), p


def test_a_sample_of_corpus_logs(corpus):
    logs = sorted(corpus.rglob("result_*.txt"))
    for p in random.Random(0).sample(logs, 40):
        assert _same(read(p), oracle(p)), p


# -- generated logs ---------------------------------------------------------------------------

KEYS = [vocab.SEED, vocab.RUN_STOP, vocab.SUBMISSION_DIVISION, vocab.SUBMISSION_ORG,
        vocab.SUBMISSION_BENCHMARK, vocab.DATA_SCALE, vocab.GLOBAL_BATCH_SIZE, vocab.OPT_BASE_LR,
        "opt_name", "scheduler_t_max", vocab.DROPOUT, vocab.DATASET_CHECKSUM, *EVALS,
        vocab.WEIGHTS_SHA256,
        vocab.RUN_START, "train_samples", "seeded", "opt", "eval_start"]
VALUES = st.one_of(st.integers(-3, 3), st.floats(allow_nan=False, width=16), st.booleans(),
                   st.none(), st.sampled_from(["closed", "success", "aborted", "tiny", "x"]),
                   st.sampled_from(KEYS), st.lists(st.integers(0, 3), max_size=2))
METADATA = st.fixed_dictionaries({}, optional={
    "status": st.sampled_from(["success", "aborted", None]),
    "epoch_num": st.one_of(st.integers(0, 9), st.floats(0, 9, width=16), st.just("2")),
    "note": st.sampled_from(KEYS)})


@st.composite
def record_text(draw) -> str:
    rec = {"namespace": "", "time_ms": draw(st.sampled_from([1.5, 2, "3"])),
           "event_type": draw(st.sampled_from(["POINT_IN_TIME", "INTERVAL_END", "BAD"])),
           "key": draw(st.sampled_from(KEYS)), "value": draw(VALUES),
           "metadata": draw(METADATA)}
    drop = draw(st.sampled_from([None, None, None, "value", "metadata"]))
    if drop:
        del rec[drop]
    order = draw(st.permutations(list(rec)))
    sep = draw(st.sampled_from([": ", ":", " : ", ":\t"]))
    text = "{" + ", ".join(f"{json.dumps(k)}{sep}{json.dumps(rec[k])}" for k in order) + "}"
    if draw(st.integers(0, 19)) == 0:
        text = text[: draw(st.integers(0, len(text)))]  # a truncated line
    return text


@st.composite
def log_text(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(f"free text mentioning \"key\": \"{draw(st.sampled_from(KEYS))}\"")
        elif kind == 1:  # two markers: the record is the last one
            lines.append(f":::MLLOG {draw(record_text())} :::MLLOG {draw(record_text())}")
        else:
            prefix = draw(st.sampled_from(["", "[1,0]<stdout>:", "junk :::MLLOG", "  "]))
            lines.append(f"{prefix}:::MLLOG {draw(record_text())}")
    text = "".join(line + draw(st.sampled_from(["\n", "\n", "\r\n", "\r"])) for line in lines)
    if draw(st.booleans()) and text:
        text = text.rstrip("\r\n")  # no final line end
    if draw(st.integers(0, 3)) == 0:
        text = text.replace('"seed"', '"s\\u0065ed"')  # a key spelled with an escape
    return text.encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.data_too_large])
@given(data=log_text())
def test_generated_logs_read_as_the_parser_reads_them(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("log") / "result_0.txt"
    path.write_bytes(data)
    assert _same(read(path), oracle(path)), data


def _line(key, value, metadata=None) -> str:
    return ":::MLLOG " + json.dumps({"namespace": "", "time_ms": 1.0,
                                     "event_type": "POINT_IN_TIME", "key": key, "value": value,
                                     "metadata": metadata or {}})


def test_a_key_spelled_with_a_unicode_escape_is_read(tmp_path):
    path = tmp_path / "result_0.txt"
    path.write_text(_line("submission_org", "acme") + "\n"
                    + _line("seed", 7).replace('"seed"', '"s\\u0065ed"') + "\n")
    assert read(path)["seeds"] == [(7, 2)]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_line_ends_and_line_numbers(tmp_path, end):
    path = tmp_path / "result_0.txt"
    path.write_text(end.join([
        "start", _line("seed", 1), "text: \"key\": \"seed\"",
        f"x :::MLLOG {{oops}} {_line('seed', 2)}", _line("eval_error", 0.3, {"epoch_num": 4}),
        _line("run_stop", None, {"status": "success"})]), newline="")
    run = read(path)
    first = 1 if end == "\r" else None  # a lone \r ends a line but is not counted as one
    assert run["seeds"] == ([(1, first), (2, first)] if first else [(1, 2), (2, 4)])
    assert run["evaluation"] == ({"epoch_num": 4}, first or 5)
    assert run["stop"] == ({"status": "success"}, first or 6)


def test_an_unreadable_log_has_no_summary(tmp_path):
    (tmp_path / "result_0.txt").mkdir()
    fr = check_file("result_0.txt", tmp_path / "result_0.txt", "hpc-2.0.0")
    assert fr.summary is None and [d.code for d in fr.diagnostics] == ["SP006"]
    s = summarize_file(tmp_path / "result_0.txt")
    assert not s.logged and s.final_stop is None and s.seeds == []


def test_run_start_and_run_stop_as_the_summarizer_takes_them(tmp_path):
    """Each overwrites the previous until both are seen; later ones are ignored (scores);
    the package checks look at the last run_stop."""
    path = tmp_path / "result_0.txt"
    lines = [_line("run_start", None), _line("run_start", None),
             _line("run_stop", None, {"status": "aborted"}),
             _line("run_start", None), _line("run_stop", None, {"status": "success"})]
    path.write_text("\n".join(lines) + "\n")
    s = check_file(path.name, path, "hpc-2.0.0").summary
    assert (s.run_start.line, s.run_stop.line, s.status) == (2, 3, "aborted")
    assert (s.final_stop.line, s.final_status) == (5, "success")
    assert not s.finished
