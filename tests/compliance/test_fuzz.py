"""Broken and hostile logs: mutations of real logs (truncation, random bytes, invalid UTF-8, a
10 MB line, an empty file, duplicated, dropped, reordered and edited records) never make an
exception escape, always get a verdict, and, where mlperf-logging's parser reads the same
records, get mlperf-logging's verdict."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.api import check_file, check_logs
from compliance.codes import CODES
from tests.compliance.compliance_logs import (
    TEST_CHECKSUM, assert_agrees, cosmoflow_run, ruleset_with_checksums, write_log)
from sciperf import vocab as K

HPC = "hpc-2.0.0"
HPC_CONFIG = "hpc_2.0.0/common.yaml"
# Where our parser is stricter than mlperf-logging's (event_type required; time_ms a number,
# key a string, metadata an object), mlperf-logging may pass what we fail.
STRICTER = {"SP003", "SP004"}
BIG = 10 * 1024 * 1024


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def mutations(data: bytes, rng: random.Random) -> dict[str, bytes]:
    lines = _lines(data)
    records = [i for i, line in enumerate(lines) if b":::MLLOG" in line]

    def pick():
        return rng.choice(records)

    def with_lines(new):
        return b"\n".join(new)

    out = {"empty": b"", "only-newlines": b"\n\n\n", "binary": bytes(rng.randrange(256)
                                                                      for _ in range(4096))}
    for n in range(3):
        out[f"truncated-{n}"] = data[:rng.randrange(1, len(data))]
    for n in range(3):
        b = bytearray(data)
        for _ in range(rng.randrange(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        out[f"random-bytes-{n}"] = bytes(b)
    b = bytearray(data)
    for _ in range(5):
        at = rng.randrange(len(b))
        b[at:at] = rng.choice([b"\xff\xfe", b"\xc3(", b"\xe2\x28\xa1", b"\x80", b"\x00"])
    out["invalid-utf8"] = bytes(b)
    new = list(lines)
    new.insert(pick(), b":::MLLOG " + json.dumps({
        "namespace": "", "time_ms": 1, "event_type": "POINT_IN_TIME", "key": "blob",
        "value": "z" * BIG, "metadata": {}}).encode())
    out["10MB-record"] = with_lines(new)
    new = list(lines)
    new.insert(pick(), b"[1,0]<stdout>: :::MLLOG {" + b"\xff" * BIG)
    out["10MB-garbage"] = with_lines(new)
    for n in range(2):
        new = list(lines)
        i = pick()
        new.insert(rng.randrange(len(new)), new[i])
        out[f"duplicated-{n}"] = with_lines(new)
    for n in range(2):
        new = list(lines)
        i, j = pick(), pick()
        new[i], new[j] = new[j], new[i]
        out[f"swapped-{n}"] = with_lines(new)
    new = [lines[i] for i in records]
    rng.shuffle(new)
    out["shuffled"] = with_lines(new)
    for n in range(2):
        drop = set(rng.sample(records, k=max(1, len(records) // 10)))
        out[f"dropped-{n}"] = with_lines([ln for i, ln in enumerate(lines) if i not in drop])
    for n in range(3):  # change one number in one record: values the rules read
        new = list(lines)
        i = pick()
        digits = [k for k, c in enumerate(new[i]) if 48 <= c <= 57]
        if digits:
            k = rng.choice(digits)
            new[i] = new[i][:k] + bytes([rng.choice(b"0123456789-")]) + new[i][k + 1:]
        out[f"digit-{n}"] = with_lines(new)
    out["crlf"] = data.replace(b"\n", b"\r\n")
    out["lone-cr"] = data.replace(b"\n", b"\r", 5)
    out["prefixed"] = with_lines([b"[1,0]<stdout>:" + ln if ln else ln for ln in lines])
    return out


def assert_sane(result, data: bytes):
    assert result.verdict in ("pass", "fail")
    n_lines = data.count(b"\n") + 1
    for d in result.diagnostics:
        assert d.code in CODES and d.severity in ("error", "warning") and d.message
        assert d.line is None or 1 <= d.line <= n_lines
    if result.verdict == "pass":
        assert not any(d.severity == "error" for d in result.diagnostics)


def sources(corpus: Path, tmp: Path) -> list[tuple[str, bytes, object, str, Path | None]]:
    """(name, bytes, ruleset for us, config for mlperf-logging, its rule root)."""
    picks = ["NVIDIA/results/dgxa100_n64_pytorch/strong/cosmoflow/result_0.txt",
             "Dell/results/32xXE8545x4A100-SXM4-40GB/strong/deepcam/result_0.txt",
             "HelmholtzAI/results/horeka_gpu_n64_pytorch1.13/weak/oc20/pruned_results/"
             "result_6.txt"]
    out = [(f"mlperf-{n}", (corpus / p).read_bytes(), HPC, HPC_CONFIG, None)
           for n, p in enumerate(picks)]
    rules = ruleset_with_checksums(tmp, {s: TEST_CHECKSUM for s in K.SCALES})
    log = write_log(tmp / "sciperf.txt", cosmoflow_run())
    out.append(("sciperf", log.read_bytes(), rules, f"{K.RULESET}/common.yaml", rules.root))
    return out


def test_mutated_real_logs(corpus, tmp_path):
    rng = random.Random(20240611)
    compared = 0
    for name, data, ruleset, config, root in sources(corpus, tmp_path / "rules"):
        folder = tmp_path / name
        folder.mkdir()
        cases = mutations(data, rng)
        for case, mutated in cases.items():
            path = folder / f"result_{case}.txt"
            path.write_bytes(mutated)
            ours = check_file(path.name, path, ruleset)
            assert_sane(ours, mutated)
            if case.startswith("10MB"):  # longer than a record may be: not read
                assert ours.verdict == "fail"
                assert "SP008" in {d.code for d in ours.diagnostics}
            if case.startswith("10MB"):
                continue  # mlperf-logging is slow on these; the rest compare verdicts
            if not STRICTER & {d.code for d in ours.diagnostics}:
                assert_agrees(ours, path, config, root)
                compared += 1
        # and as a directory: one verdict per file
        if isinstance(ruleset, str):
            results = check_logs([folder], ruleset=ruleset, jobs=2)
            assert len(results) == len(cases)
    assert compared > 80


# -- hypothesis: edits of a passing run, our verdict against mlperf-logging's -------------------

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 200_000),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                   st.sampled_from(["closed", "open", "cosmoflow", "deepcam", "oc20", "sgd",
                                    "onprem", "SGD", "LAMB"]),
                   st.lists(st.integers(0, 9), max_size=3))
METADATA = st.one_of(st.just({}), st.dictionaries(
    st.sampled_from(["epoch_num", "epoch_count", "first_epoch_num", "status", "metric"]),
    st.one_of(st.integers(-1, 5), st.sampled_from(["success", "aborted", "mae"])), max_size=3))
EDITS = st.lists(st.tuples(st.sampled_from(["drop", "dup", "value", "meta", "move"]),
                           st.integers(0, 10_000), st.integers(0, 10_000), VALUES, METADATA),
                 min_size=1, max_size=4)


@pytest.fixture(scope="module")
def passing_cosmoflow(corpus):
    path = corpus / "NVIDIA/results/dgxa100_n64_pytorch/strong/cosmoflow/result_0.txt"
    return [json.loads(line.split(":::MLLOG ", 1)[1])
            for line in path.read_text().splitlines() if ":::MLLOG " in line]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_edited_runs_get_mlperf_loggings_verdict(passing_cosmoflow, tmp_path, edits):
    recs = [dict(r) for r in passing_cosmoflow]
    for op, i, j, value, meta in edits:
        i, j = i % len(recs), j % len(recs)
        if op == "drop" and len(recs) > 1:
            recs.pop(i)
        elif op == "dup":
            recs.insert(j, dict(recs[i]))
        elif op == "value":
            recs[i] = {**recs[i], "value": value}
        elif op == "meta":
            recs[i] = {**recs[i], "metadata": meta}
        elif op == "move":
            recs.insert(j, recs.pop(i))
    path = tmp_path / "result_0.txt"
    path.write_text("".join(":::MLLOG " + json.dumps(r) + "\n" for r in recs))
    ours = check_file(path.name, path, HPC)
    assert_sane(ours, path.read_bytes())
    assert_agrees(ours, path, HPC_CONFIG)
