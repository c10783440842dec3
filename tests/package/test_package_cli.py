"""Package findings through `check-compliance`: reported apart from the per-log verdicts, with
the same codes and exit statuses. On a copy of a real MLPerf HPC v2.0 submission (Dell's), whose
logs pass their own checks, so the exit status is the package's."""

from __future__ import annotations

import json
import shutil

import pytest

from compliance.cli import main

SYSTEM = "32xXE8545x4A100-SXM4-40GB"


@pytest.fixture
def dell(corpus, tmp_path):
    org = tmp_path / "round" / "Dell"
    shutil.copytree(corpus / "Dell", org)
    impl = org / "benchmarks" / "deepcam" / "implementations" / "stand-in"
    impl.mkdir(parents=True)
    (impl / "train.py").write_text("# stand-in: the corpus holds no code\n")
    return org


def run(capsys, *argv):
    status = main([*map(str, argv), "--ruleset", "hpc-2.0.0", "--format", "json"])
    return status, json.loads(capsys.readouterr().out)


def test_a_compliant_submission_exits_0(dell, capsys):
    status, report = run(capsys, dell.parent)
    assert status == 0
    assert [p["path"] for p in report["packages"]] == ["Dell"]
    assert report["packages"][0]["verdict"] == "pass"
    assert {f["verdict"] for f in report["files"]} == {"pass"}


def test_package_findings_are_apart_from_the_files(dell, capsys):
    bench = dell / "results" / SYSTEM / "strong" / "deepcam"
    shutil.copy(bench / "result_0.txt", bench / "result_4.txt")  # two runs, one seed
    status, report = run(capsys, dell.parent)
    assert status == 1
    assert {f["verdict"] for f in report["files"]} == {"pass"}  # each log is fine on its own
    (pkg,) = report["packages"]
    assert pkg["verdict"] == "fail"
    assert [d["code"] for d in pkg["diagnostics"]] == ["SP404"]
    assert pkg["diagnostics"][0]["path"].endswith(f"{SYSTEM}/strong/deepcam/result_4.txt")


def test_a_waiver_shows_in_the_output(dell, capsys):
    bench = dell / "results" / SYSTEM / "strong" / "deepcam"
    shutil.copy(bench / "result_0.txt", bench / "result_4.txt")
    (bench / "package_checker_params").write_text("seed-checker-bypass\n")
    status, report = run(capsys, dell)
    assert status == 0
    (d,) = report["packages"][0]["diagnostics"]
    assert (d["code"], d["severity"]) == ("SP404", "warning")
    assert d["extra"]["waived"] is True and d["extra"]["waived_severity"] == "error"


def test_no_package_checks_with_no_package(dell, capsys):
    (dell / "systems" / f"{SYSTEM}.json").unlink()
    status, report = run(capsys, dell, "--no-package")
    assert status == 0 and report["packages"] == []
    status, report = run(capsys, dell)
    assert status == 1 and report["packages"][0]["diagnostics"][0]["code"] == "SP406"
