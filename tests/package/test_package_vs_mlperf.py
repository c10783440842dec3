"""Our package checks beside mlperf-logging's package_checker, on copies of a real MLPerf HPC v2.0
submission (Dell's: one system, deepcam, 5 runs) broken one way at a time.

Each case states what we report and what mlperf-logging 4.1.68 does with the same tree (its exit
code, and the exception where it crashes); the slow test runs mlperf-logging to confirm the
latter, so the comparison table of docs/submitting.md stays true.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.api import check_logs
from compliance.package import check_package

SYSTEM = "32xXE8545x4A100-SXM4-40GB"
RESULTS = Path("results") / SYSTEM / "strong" / "deepcam"
SYSJSON = Path("systems") / f"{SYSTEM}.json"


def _edit(path: Path, old: str, new: str, count: int = 1):
    text = path.read_text()
    assert text.count(old) >= count, (path, old)
    path.write_text(text.replace(old, new, count))


def _set_field(org: Path, **fields):
    desc = json.loads((org / SYSJSON).read_text())
    desc.update(fields)
    (org / SYSJSON).write_text(json.dumps(desc, indent=4))


def _del_field(org: Path, name: str):
    desc = json.loads((org / SYSJSON).read_text())
    del desc[name]
    (org / SYSJSON).write_text(json.dumps(desc, indent=4))


def _dup_seed(org: Path):
    shutil.copy(org / RESULTS / "result_0.txt", org / RESULTS / "result_4.txt")


def _outside(org: Path):
    outside = org.parent / "elsewhere" / "result_4.txt"
    outside.parent.mkdir()
    outside.write_text(':::MLLOG {"key": "run_stop"}\n')
    (org / RESULTS / "result_4.txt").unlink()
    (org / RESULTS / "result_4.txt").symlink_to(outside)


def _abort(org: Path, *names):
    for n in names:
        _edit(org / RESULTS / n, '"status": "success"', '"status": "aborted"')


def _unknown_benchmark(org: Path):
    shutil.copytree(org / RESULTS, org / RESULTS.parent / "openfold")  # HPC v3.0, not v2.0


def _scaling_folder(org: Path):
    shutil.copytree(org / RESULTS, org / "results" / SYSTEM / "medium" / "deepcam")


# (name, how to break the tree, our findings as {(code, severity)}, mlperf-logging's exit code,
#  the exception it dies of or None, why)
CASES = [
    ("as published", lambda org: None, set(), 0, None,
     "both pass"),
    ("no system description", lambda org: (org / SYSJSON).unlink(), {("SP406", "error")}, 1,
     "FileNotFoundError", "it opens systems/<system>.json without checking it exists"),
    ("system description not JSON", lambda org: (org / SYSJSON).write_text('{"submitter":'),
     {("SP407", "error")}, 1, "JSONDecodeError", "json.load unguarded"),
    ("system description nested 1,500 levels deep",
     lambda org: (org / SYSJSON).write_text('{"a": ' * 1500 + "1" + "}" * 1500),
     {("SP407", "error")}, 1, "RecursionError", "json.load unguarded"),
    ("count written as a JSON number", lambda org: _set_field(org, accelerators_per_node=4),
     {("SP407", "error")}, 1, "TypeError",
     "system_desc_checker joins the fields as strings; we check types with the schema"),
    ("field missing", lambda org: _del_field(org, "cooling"), {("SP407", "error")}, 0, None,
     "it logs an error but exits 0"),
    ("folder other than strong/weak", _scaling_folder, {("SP401", "error")}, 1,
     "AssertionError", "an assert on the folder name"),
    ("a folder named result_9.txt",
     lambda org: (org / RESULTS / "result_9.txt").mkdir(), {("SP409", "warning")}, 1,
     "IsADirectoryError", "it globs result_*.txt and opens whatever matches"),
    ("no results/ folder", lambda org: shutil.rmtree(org / "results"),
     {("SP401", "error"), ("SP409", "warning")}, 1, "FileNotFoundError",
     "os.listdir(results) unguarded; our SP409: the description now describes no results"),
    ("a result symlinked from outside the tree", _outside,
     {("SP402", "error"), ("SP408", "error")}, 1, "KeyError",
     "it follows the link and its parser dies on the outside file; we refuse the link (SP408), "
     "so the run is not counted (SP402)"),
    ("two runs with one seed", _dup_seed, {("SP404", "error")}, 0, None,
     "both find it; it exits 0"),
    ("4 runs where 5 are required", lambda org: (org / RESULTS / "result_4.txt").unlink(),
     {("SP402", "error")}, 0, None, "both find it; it exits 0"),
    ("two runs aborted", lambda org: _abort(org, "result_1.txt", "result_2.txt"),
     {("SP403", "error")}, 0, None, "both find it (it via the per-log verdicts); it exits 0"),
    ("one run with another learning rate",
     lambda org: _edit(org / RESULTS / "result_3.txt", '"key": "opt_lr", "value": 0.0025',
                       '"key": "opt_lr", "value": 0.004'),
     {("SP405", "error")}, 0, None, "it has no hyperparameter-consistency check"),
    ("a benchmark of another round", _unknown_benchmark, {("SP401", "error")}, 0, None,
     "it skips the folder with a warning and passes"),
    ("stray file", lambda org: (org / RESULTS / "notes.txt").write_text("x"),
     {("SP409", "warning")}, 0, None, "both warn"),
    ("duplicate seed waived, bypass file ending in a newline",
     lambda org: (_dup_seed(org), (org / RESULTS / "package_checker_params").write_text(
         "seed-checker-bypass\n")), {("SP404", "warning")}, 0, None,
     "it compares each line with its newline, so the waiver is ignored and it reports the "
     "seed error; we honour it and show the finding as waived"),
]


def _copy(corpus: Path, tmp: Path) -> Path:
    org = tmp / "Dell"
    shutil.copytree(corpus / "Dell", org)
    for p in [org, *org.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    return org


@pytest.mark.parametrize("name, breaks, ours, _rc, _exc, _why", CASES, ids=[c[0] for c in CASES])
def test_our_findings(corpus, tmp_path, name, breaks, ours, _rc, _exc, _why):
    org = _copy(corpus, tmp_path)
    breaks(org)
    logs = {}
    if (org / "results").is_dir():
        logs = {fr.abspath: fr for fr in check_logs([org / "results"], ruleset="hpc-2.0.0")}
    diags = check_package(org, "hpc-2.0.0", logs)
    assert {(d.code, d.severity) for d in diags} == ours, [(d.code, d.message) for d in diags]


@pytest.mark.slow
@pytest.mark.parametrize("name, breaks, _ours, rc, exc, _why", CASES, ids=[c[0] for c in CASES])
def test_what_mlperf_logging_does(corpus, tmp_path, name, breaks, _ours, rc, exc, _why):
    org = _copy(corpus, tmp_path)
    breaks(org)
    out = subprocess.run([sys.executable, "-m", "mlperf_logging.package_checker", str(org),
                          "hpc", "2.0.0", "--log_output", str(tmp_path / "pc.log")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == rc, out.stderr[-2000:]
    if exc:
        assert "Traceback" in out.stderr and exc in out.stderr.strip().splitlines()[-1]
    else:
        assert "Traceback" not in out.stderr
