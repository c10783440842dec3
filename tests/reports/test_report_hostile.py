"""A hostile submitter against the report (issue: runs and results that survive hostile input):
every field it controls is shown as text in results.md, the page and the terminal; aliases in a
bypass file, impossible times, a description nested too deep, --out inside the tree and an
interrupted write are refused or survived with a clear message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reports import render
from reports.aggregate import build_report
from reports.cli import main, write_report
from tests.package.pkgtrees import build_tree
from tests.support import REPO, env

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def hostile(tmp_path):
    tree = build_tree(tmp_path / "round")
    tree.write_desc(system_name=f"{SCRIPT} [x](javascript:alert(2)) | \x1b[2J\nforged line",
                    hw_notes="<img src=x onerror=alert(3)>")
    return tree


def test_results_md_shows_submitters_text_as_text(hostile):
    rep = build_report([hostile.org], gate=False)
    md = render.results_md(rep.results, rep.rejected, title=f"{SCRIPT} # title")
    assert "<script>" not in md and "<img" not in md and "[x](javascript" not in md
    assert "\\<script\\>" in md and "\\[x\\]" in md and "\x1b" not in md
    assert all(not line.startswith("forged line") for line in md.splitlines())
    page = render.results_html(rep.results, rep.rejected, rep.systems, {}, ["r"], SCRIPT)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_the_terminal_lines_cannot_be_forged(hostile, tmp_path, capsys):
    # the logs' made-up checksum fails the rules, so the result is kept out and printed
    assert main([str(hostile.root), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out
    assert not any(line.startswith("forged line") for line in out.splitlines())


def test_a_billion_laughs_bypass_is_refused_at_once(hostile, tmp_path, capsys):
    laughs = ['lol0: &a0 ["lol"]'] + [f"lol{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]"
                                      for i in range(1, 10)]
    bomb = tmp_path / "bypass.yaml"
    bomb.write_text("\n".join(laughs) + "\nwaive: *a9\n")
    start = time.perf_counter()
    assert main([str(hostile.root), "--out", str(tmp_path / "out"), "--bypass", str(bomb)]) == 2
    assert time.perf_counter() - start < 60  # once 46 s and 3 GB; now refused while parsing
    err = capsys.readouterr().err
    assert "bypass.yaml:1" in err and "anchors" in err and "Traceback" not in err


def test_a_binary_bypass_file_is_named(hostile, tmp_path, capsys):
    blob = tmp_path / "bypass.yaml"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    assert main([str(hostile.root), "--out", str(tmp_path / "out"), "--bypass", str(blob)]) == 2
    err = capsys.readouterr().err
    assert str(blob) in err and "not UTF-8" in err and "Traceback" not in err


def test_out_inside_the_reported_tree_is_refused(hostile, capsys):
    assert main([str(hostile.root), "--out", str(hostile.org / "report")]) == 2
    assert "inside" in capsys.readouterr().err
    assert not (hostile.org / "report").exists()


def test_a_description_nested_too_deep_keeps_only_its_system_out(hostile, tmp_path):
    other = build_tree(hostile.root / "second")
    (other.org.parent / "acme").rename(other.org.parent / "beta")
    other.org = other.org.parent / "beta"
    hostile.system_json.write_text('{"a": ' * 1500 + "1" + "}" * 1500)
    rep = build_report([hostile.root], gate=False)
    assert [r["org"] for r in rep.results] == ["beta"]
    (kept,) = rep.rejected
    assert kept["org"] == "acme" and kept["diagnostics"][0]["code"] == "RP001"
    assert "nested too deeply" in kept["diagnostics"][0]["message"]


@pytest.mark.parametrize("start, stop", [("NaN", "5"), ("0", "Infinity"), ("0", "1e400"),
                                          ("5000", "1000")])
def test_an_impossible_time_is_a_finding(hostile, start, stop):
    """check-compliance used to pass these while the report rejected them."""
    from compliance.api import check_file

    log = hostile.bench / "result_0.txt"
    lines = log.read_text().splitlines()
    for i, line in enumerate(lines):
        rec = json.loads(line.split(":::MLLOG ", 1)[1])
        if rec["key"] in ("run_start", "run_stop"):
            text = start if rec["key"] == "run_start" else stop
            lines[i] = line.replace(f'"time_ms": {rec["time_ms"]}', f'"time_ms": {text}')
    log.write_text("\n".join(lines) + "\n")
    r = check_file(log.name, log)
    assert r.verdict == "fail"
    assert {d.code for d in r.diagnostics} & {"SP004", "SP009"}


def test_a_failed_write_leaves_the_previous_report_whole(hostile, tmp_path, monkeypatch):
    out = tmp_path / "published"
    rep = build_report([hostile.org], gate=False)
    write_report(rep, out, [str(hostile.org)], "first")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(render, "results_html", broken)
    with pytest.raises(OSError):
        write_report(rep, out, [str(hostile.org)], "second")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([hostile.root.name,
                                                                 "published"])


def test_ctrl_c_says_interrupted_and_leaves_the_report_as_it_was(corpus, tmp_path):
    out = tmp_path / "published"
    out.mkdir()
    (out / "index.html").write_text("the previous report\n")
    p = subprocess.Popen([sys.executable, "-m", "sciperf.cli", "report", str(corpus), "--out",
                          str(out), "--ruleset", "hpc-2.0.0", "--jobs", "2"], cwd=REPO,
                         env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    children = Path(f"/proc/{p.pid}/task/{p.pid}/children")
    deadline = time.monotonic() + 120
    while len(children.read_text().split()) < 2:  # its check workers are at work
        assert p.poll() is None and time.monotonic() < deadline, "no workers started"
        time.sleep(0.01)
    os.killpg(p.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole group
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "interrupted" in err and "Traceback" not in err
    assert [q.name for q in out.iterdir()] == ["index.html"]
    assert (out / "index.html").read_text() == "the previous report\n"
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".published")]


_MEMORY_RUNNER = r"""
import re, resource, sys
from reports.cli import main
status = main(sys.argv[1:])
own = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read())[1])
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(status, own, workers)
"""


@pytest.mark.slow
def test_twenty_thousand_logs_in_bounded_memory(tmp_path):
    """20,000 valid logs once cost the report 978 MB: what it keeps of a log is its verdict and
    its run summary, so its memory is bounded by what the tables hold."""
    from reference_implementations.common.config import load_config
    from tests.compliance.compliance_logs import write_shipped_run
    from tests.package.pkgtrees import SYSTEM_DESC

    org = tmp_path / "round" / "big"
    (org / "systems").mkdir(parents=True)
    (org / "systems" / "box.json").write_text(json.dumps({**SYSTEM_DESC, "submitter": "big",
                                                          "status": "research"}))
    impl = org / "benchmarks" / "cosmoflow" / "implementations" / "reference"
    impl.mkdir(parents=True)
    (impl / "train.py").write_text("# the code\n")
    folder = org / "results" / "box" / "weak" / "cosmoflow"
    folder.mkdir(parents=True)
    template = write_shipped_run(tmp_path / "one.txt", "cosmoflow", optimizer=load_config(
        "cosmoflow", "tiny").train["optimizer"]).read_text()
    seed = '"key": "seed", "value": 7,'
    assert template.count(seed) == 1
    n = 20_000
    for i in range(n):
        (folder / f"result_{i}.txt").write_text(
            template.replace(seed, f'"key": "seed", "value": {1000 + i},'))
    out = subprocess.run([sys.executable, "-c", _MEMORY_RUNNER, str(tmp_path / "round"),
                          "--out", str(tmp_path / "report"), "--jobs", "2"], cwd=REPO, env=env(),
                         capture_output=True, text=True, timeout=1800)
    status, own_kb, workers_kb = map(int, out.stdout.split()[-3:])
    assert status == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (row,) = json.loads((tmp_path / "report" / "results.json").read_text())
    assert row["number_of_models"] == n
    assert own_kb < 300_000 and workers_kb < 300_000, (own_kb, workers_kb)
