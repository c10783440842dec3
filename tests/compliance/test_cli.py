"""`check-compliance`: exit status, the three output formats, --werror/--quiet, --jobs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from compliance.cli import main
from tests.compliance.compliance_logs import REPO, cosmoflow_run, write_log

PASSING = "Dell/results/32xXE8545x4A100-SXM4-40GB/strong/deepcam/result_0.txt"
FAILING = ("HelmholtzAI/results/horeka_gpu_n64_pytorch1.13/weak/oc20/pruned_results/"
           "result_6.txt")


@pytest.fixture
def logs(corpus, tmp_path):
    """A folder (not a submission tree) with two passing MLPerf HPC logs, one nested."""
    root = tmp_path / "logs"
    (root / "a").mkdir(parents=True)
    (root / "a" / "b").mkdir()
    shutil.copy(corpus / PASSING, root / "a" / "result_0.txt")
    shutil.copy(corpus / PASSING, root / "a" / "b" / "result_1.txt")
    (root / "a" / "notes.txt").write_text("not a log\n")
    return root


def run(capsys, *args) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_exit_0_and_a_summary(capsys, logs):
    status, out, err = run(capsys, logs, "--ruleset", "hpc-2.0.0")
    assert status == 0 and err == ""
    assert out.splitlines() == ["PASS: 2 logs checked (hpc-2.0.0): 2 compliant, 0 not compliant; "
                                "0 errors, 0 warnings"]


def test_exit_1_and_linter_lines(capsys, logs, corpus):
    shutil.copy(corpus / FAILING, logs / "result_9.txt")
    status, out, _ = run(capsys, logs, "--ruleset", "hpc-2.0.0")
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith("result_9.txt:210: SP203 ") and "eval_error" in lines[0]
    assert lines[1].startswith("    hint: ")
    assert lines[2].startswith("result_9.txt: SP101 run_stop is required exactly once")
    assert lines[-1].startswith("FAIL: 3 logs checked (hpc-2.0.0): 2 compliant, 1 not compliant")


def test_json_report(capsys, logs, corpus):
    shutil.copy(corpus / FAILING, logs / "a" / "b" / "result_9.txt")
    status, out, _ = run(capsys, logs, "--ruleset", "hpc-2.0.0", "--format", "json")
    report = json.loads(out)
    assert status == 1 and report["summary"]["exit_status"] == 1
    assert [(f["path"], f["verdict"]) for f in report["files"]] == [
        ("a/b/result_1.txt", "pass"), ("a/b/result_9.txt", "fail"), ("a/result_0.txt", "pass")]
    diags = report["files"][1]["diagnostics"]
    assert [(d["code"], d["severity"], d["line"], d["key"]) for d in diags] == [
        ("SP203", "error", 210, "eval_error"), ("SP101", "error", None, "run_stop")]
    assert all(d["message"] and d["hint"] and d["extra"]["rule"] for d in diags)
    assert report["packages"] == []
    assert report["summary"]["files"] == 3 and report["summary"]["fail"] == 1


def test_github_annotations(capsys, logs, corpus, monkeypatch):
    shutil.copy(corpus / FAILING, logs / "result_9.txt")
    monkeypatch.chdir(logs.parent)
    status, out, _ = run(capsys, "logs", "--ruleset", "hpc-2.0.0", "--format", "github")
    lines = out.splitlines()
    assert status == 1
    assert lines[0].startswith("::error file=logs/result_9.txt,line=210,title=SP203 eval_error::")
    assert lines[1].startswith("::error file=logs/result_9.txt,title=SP101 run_stop::")
    assert "%0A" in lines[0]  # the hint, on the annotation's second line
    assert lines[-1].startswith("FAIL: ")


def test_werror_and_quiet(capsys, logs):
    log = logs / "a" / "result_0.txt"
    text = log.read_text().splitlines(keepends=True)
    org = next(line for line in text if '"submission_org"' in line)
    log.write_text("".join(text) + org)  # the same value twice: a warning
    status, out, _ = run(capsys, log, "--ruleset", "hpc-2.0.0")
    assert status == 0 and " SP103 warning: submission_org" in out
    status, out, _ = run(capsys, log, "--ruleset", "hpc-2.0.0", "--quiet")
    assert status == 0 and "SP103" not in out
    status, out, _ = run(capsys, log, "--ruleset", "hpc-2.0.0", "--werror", "--quiet")
    assert status == 1 and " SP103 submission_org" in out


def test_jobs_give_the_same_report(capsys, logs, corpus):
    shutil.copy(corpus / FAILING, logs / "result_9.txt")
    reports = []
    for jobs in ("1", "2", "0"):
        status, out, _ = run(capsys, logs, "--ruleset", "hpc-2.0.0", "--format", "json",
                             "--jobs", jobs)
        reports.append((status, json.loads(out)))
    assert reports[0] == reports[1] == reports[2]


@pytest.mark.parametrize("args,needle", [
    (["no/such/path"], "no such file or directory"),
    (["{logs}", "--ruleset", "hpc-9.9.9"], "unknown ruleset 'hpc-9.9.9'"),
    (["{logs}", "--jobs", "-1"], "--jobs"),
    (["{logs}", "--format", "xml"], "invalid choice"),
    (["{empty}"], "no result_*.txt found"),
    (["{logs}"], ""),  # MLPerf logs name no ruleset: nothing could be checked
])
def test_exit_2_when_the_tool_cannot_run(capsys, logs, tmp_path, args, needle):
    (tmp_path / "empty").mkdir()
    args = [a.format(logs=logs, empty=tmp_path / "empty") for a in args]
    status, out, err = run(capsys, *args)
    assert status == 2 and needle in err
    if not needle:
        assert "SP301" in out and out.splitlines()[-1].startswith("NOT CHECKED: ")


def test_a_log_without_ruleset_beside_one_with_is_a_failure_not_a_tool_error(capsys, logs):
    write_log(logs / "sciperf" / "result_0.txt", cosmoflow_run())
    status, out, _ = run(capsys, logs, "--format", "json")
    report = json.loads(out)
    assert status == 1
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path["sciperf/result_0.txt"]["ruleset"] == "sciperf-1.0.0"
    assert [d["code"] for d in by_path["a/result_0.txt"]["diagnostics"]] == ["SP301"]


def test_the_console_script_entry_point(logs):
    """As a user runs it: a fresh process, `python -m compliance` (= check-compliance)."""
    p = subprocess.run([sys.executable, "-m", "compliance", str(logs), "--ruleset", "hpc-2.0.0"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.startswith("PASS: 2 logs checked"), p.stderr


def test_log_content_cannot_drive_the_terminal(capsys, tmp_path):
    log = tmp_path / "result_0.txt"
    log.write_text(":::MLLOG {\"time_ms\": 1, \x1b[2J\x1b[H forged\n")
    status, out, _ = run(capsys, log, "--ruleset", "hpc-2.0.0")
    assert status == 1 and "\x1b" not in out and "\\x1b[2J" in out
    status, out, _ = run(capsys, log, "--ruleset", "hpc-2.0.0", "--format", "github")
    assert "\x1b" not in out and out.count("\n") == 3  # two annotations and the summary
