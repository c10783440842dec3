"""`sciperf report` end to end, checks on: a broken log keeps its result out of every table and
puts it in rejected.json with the checker's diagnostic; the good result beside it is scored."""

from __future__ import annotations

import csv
import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reports.report_helpers import REPO
from reports.cli import main

DELL = ("Dell", "32xXE8545x4A100-SXM4-40GB", "deepcam")
TACC = ("tacc", "longhorn-pytorch", "deepcam")


def _org(corpus: Path, dest: Path, org: str, system: str, benchmark: str) -> Path:
    """One strong-scaling result of the corpus as a complete submission (a README stands in
    for the benchmark's code, which the package check requires)."""
    (dest / org / "systems").mkdir(parents=True)
    shutil.copy(corpus / org / "systems" / f"{system}.json", dest / org / "systems")
    src = corpus / org / "results" / system / "strong" / benchmark
    folder = dest / org / "results" / system / "strong" / benchmark
    folder.mkdir(parents=True)
    for log in src.glob("result_*.txt"):
        shutil.copy(log, folder)
    impl = dest / org / "benchmarks" / benchmark / "implementations" / "reference"
    impl.mkdir(parents=True)
    (impl / "README.md").write_text("the code that produced these results\n")
    for p in dest.rglob("*"):
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return folder


@pytest.fixture(scope="module")
def report_dir(hpc_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("round")
    broken = _org(hpc_corpus, root, *DELL) / "result_2.txt"
    _org(hpc_corpus, root, *TACC)
    lines = broken.read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if '"key": "eval_samples"' not in ln]
    assert len(kept) == len(lines) - 1
    broken.write_text("".join(kept))
    out = tmp_path_factory.mktemp("published") / "report"
    assert main([str(root), "--out", str(out), "--ruleset", "hpc-2.0.0", "--jobs", "2"]) == 0
    return out


def test_broken_log_is_listed_with_its_diagnostic(report_dir):
    (entry,) = json.loads((report_dir / "rejected.json").read_text())
    assert (entry["submitter"], entry["system"], entry["benchmark"], entry["scaling"]) == (
        "Dell", "32XE8545-4xA100-SXM4-40GB", "deepcam", "strong")
    (d,) = [d for d in entry["diagnostics"] if d["key"] == "eval_samples"]
    assert d["severity"] == "error" and d["code"].startswith("SP")
    assert d["path"].endswith("result_2.txt")
    assert all(d["severity"] == "error" for d in entry["diagnostics"])


def test_broken_result_is_in_no_table(report_dir):
    rows = json.loads((report_dir / "results.json").read_text())
    assert [(r["org"], r["system_id"], r["benchmark"], r["scaling"]) for r in rows] == [
        ("tacc", "longhorn-pytorch", "deepcam", "strong")]
    assert rows[0]["time_to_train_minutes"] == 48.41834444444444  # the summarizer's
    with open(report_dir / "results.csv", newline="") as f:
        assert [r["org"] for r in csv.DictReader(f)] == ["tacc"]
    md = (report_dir / "results.md").read_text()
    tables, kept_out = md.split("## Kept out of the tables")
    assert "Dell" not in tables and "TACC" in tables
    assert "Dell" in kept_out and "eval_samples" in kept_out
    html = (report_dir / "index.html").read_text()
    strong = html[html.index('<table id="strong"'):html.index("</table>",
                                                               html.index('<table id="strong"'))]
    assert "TACC" in strong and "Dell" not in strong
    rejected = html[html.index('<table id="rejected-table"'):]
    assert "Dell" in rejected and "eval_samples" in rejected


def test_outputs_are_complete_and_self_contained(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    assert {"results.csv", "results.json", "rejected.json", "results.md", "index.html",
            "time_to_train.png"} <= names
    assert "weak_throughput.png" not in names  # no weak-scaling result: no empty plot
    assert (report_dir / "time_to_train.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (report_dir / "index.html").read_text()
    assert "data:image/png;base64," in html
    for remote in ("http://", "https://", "//cdn", "<link "):
        # the only URLs allowed are inside system descriptions' text, never fetched
        assert all(remote not in tag for tag in html.split("<")[1:] if tag.startswith(
            ("script", "link", "img")))


def _run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sciperf.cli", "report", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    r = _run_cli(tmp_path / "missing", "--out", tmp_path / "out")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "missing: no such file or directory" in r.stderr
    (tmp_path / "empty").mkdir()
    r = _run_cli(tmp_path / "empty", "--out", tmp_path / "out")
    assert r.returncode == 2 and "no submission found" in r.stderr
    r = _run_cli(tmp_path / "empty", "--out", tmp_path / "out", "--ruleset", "nope")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = _run_cli(tmp_path / "empty")
    assert r.returncode == 2 and "--out" in r.stderr
