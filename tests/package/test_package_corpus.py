"""The package checks on the real MLPerf HPC v2.0 submissions (../shared/corpus, the published
results repository as it is), ruleset hpc-2.0.0, beside what mlperf-logging's package_checker
reports on them.

The per-log verdicts given to check_package are mlperf-logging's own
(expected/mlperf-hpc-v2.0/compliance-verdicts.tsv), so this tests the package rules alone.
Every finding is listed with the reason it is right. mlperf-logging 4.1.68 (`python -m
mlperf_logging.package_checker <org> hpc 2.0.0`, run on a copy: its RCP check writes
scaling.json into the folders it judges) exits 0 on all five and reports:

    Dell           no error
    Fujitsu+RIKEN  no error (warns: pruned_results/ in the closed weak-scaling folder)
    HelmholtzAI    errors: seed checker (horeka_gpu_n512 cosmoflow), RCP (horeka_gpu_n512
                   cosmoflow, horeka_gpu_n64 weak oc20); warns: pruned_results/
    NVIDIA         errors: seed checker (dgxa100_n64 cosmoflow, dgxa100_n512 weak cosmoflow);
                   warns: pruned_results/
    tacc           errors: seed checker (longhorn-tf cosmoflow)

Ours: the same seed errors (SP404) and the same RCP failures (SP413), which HelmholtzAI's own
org-level package_checker_params (`rcp_bypass`, as mlperf-logging's RCP message spells it)
waives: mlperf-logging reads that file only in system and result folders and only spelled
`rcp-bypass`, so it does not see the waiver the submitter wrote; we honour it and show the
finding as a warning naming the file and line. None of its pruned_results/ warnings (the
weak-scaling folder the MLPerf submission rules define belongs to the layout), and what it does
not check: a stray README in results/ (SP409) and logs whose organisation differs from their
system description's (SP412). The slow test runs mlperf-logging and checks that its errors fall
on the same folders as our findings of the same kinds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.api import FileResult
from compliance.package import check_package
from sciperf.layout import find_submissions

COSMOFLOW_NO_SEED = ("closed-division cosmoflow runs that log no `seed` record (the v2.0 "
                     "cosmoflow reference did not log it); mlperf-logging's seed checker says "
                     "the same")
RCP_WAIVED = ("mlperf-logging's RCP checker fails it (its package checker says the same); the "
              "org's package_checker_params (`rcp_bypass`) waives it")

# org -> [(code, severity, path relative to the corpus, why it is right)]
EXPECTED = {
    "Dell": [],
    "Fujitsu+RIKEN": [
        *[("SP412", "warning", f"Fujitsu+RIKEN/results/{s}/cosmoflow/result_1.txt",
           "the logs say submission_org 'Fujitsu', the description submitter 'Fujitsu/RIKEN': "
           "the same joint submitter spelled two ways, so a warning for a reviewer")
          for s in ("fugaku_512xA64FX_tensorflow_closed/strong",
                    "fugaku_512xA64FX_tensorflow_open/strong",
                    "fugaku_82944xA64FX_tensorflow_closed/weak",
                    "fugaku_82944xA64FX_tensorflow_open/weak")],
    ],
    "HelmholtzAI": [
        ("SP409", "warning", "HelmholtzAI/results/README.md",
         "a file in results/, where tools expect only system folders (it documents run_X.txt "
         "names the tree does not use)"),
        ("SP413", "warning", "HelmholtzAI/results/horeka_gpu_n64_pytorch1.13/weak/oc20",
         RCP_WAIVED),
        ("SP404", "error", "HelmholtzAI/results/horeka_gpu_n512_pytorch1.13/strong/cosmoflow",
         COSMOFLOW_NO_SEED),
        ("SP413", "warning", "HelmholtzAI/results/horeka_gpu_n512_pytorch1.13/strong/cosmoflow",
         RCP_WAIVED),
    ],
    "NVIDIA": [
        ("SP404", "error", "NVIDIA/results/dgxa100_n64_pytorch/strong/cosmoflow",
         COSMOFLOW_NO_SEED),
        ("SP404", "error", "NVIDIA/results/dgxa100_n512_pytorch/weak/cosmoflow",
         COSMOFLOW_NO_SEED + " (all 128 instances)"),
    ],
    "tacc": [
        ("SP412", "warning", "tacc/results/longhorn-pytorch/strong/deepcam/result_1.txt",
         "the logs say submission_org 'Umbrella Corp.' (a placeholder left in), the "
         "description submitter 'TACC'"),
        ("SP404", "error", "tacc/results/longhorn-tf/strong/cosmoflow", COSMOFLOW_NO_SEED),
    ],
}
# ~20 s each on two busy cores (mostly mlperf-logging's RCP checker reading hundreds of logs)
HEAVY = {"Fujitsu+RIKEN", "HelmholtzAI", "NVIDIA"}
ORGS = [pytest.param(o, marks=[pytest.mark.slow] if o in HEAVY else []) for o in EXPECTED]


@pytest.fixture(scope="module")
def verdicts(corpus) -> dict:
    tsv = corpus.parent / "expected" / "mlperf-hpc-v2.0" / "compliance-verdicts.tsv"
    if not tsv.is_file():
        pytest.skip(f"{tsv} is missing")
    out = {}
    for line in tsv.read_text().splitlines():
        rel, verdict = line.split("\t")
        path = (corpus / rel).resolve()
        out[path] = FileResult(rel, path, "pass" if verdict == "PASS" else "fail", "hpc-2.0.0",
                               None, [])
    return out


def test_the_corpus_is_five_submissions(corpus):
    assert [p.name for p in find_submissions(corpus)] == sorted(EXPECTED)
    assert find_submissions(corpus.parent) == find_submissions(corpus)  # a folder of rounds


@pytest.mark.parametrize("org", ORGS)
def test_package_findings(corpus, verdicts, org):
    diags = check_package(corpus / org, "hpc-2.0.0", verdicts)
    got = [(d.code, d.severity, str(Path(d.path).relative_to(corpus))) for d in diags]
    assert sorted(got) == sorted((c, s, p) for c, s, p, _ in EXPECTED[org])
    for d in diags:
        if d.extra.get("waived"):
            assert d.extra["waived_by"].endswith(f"{org}/package_checker_params:1")


def test_system_descriptions_all_pass_the_schema(corpus):
    """Every real v2.0 system description (mlperf-logging's system_desc_checker accepts all 16)
    is valid against our schema."""
    import json

    from compliance.sysdesc import schema_errors

    files = sorted(corpus.glob("*/systems/*.json"))
    assert len(files) == 16
    for f in files:
        assert schema_errors(json.loads(f.read_text())) == [], f


_DIR = re.compile(r"Running compliance checks in dir (\S+)")
_KIND = {"Seed checker failed": "SP404", "RCP Test Failed": "SP413"}


@pytest.mark.slow
@pytest.mark.parametrize("org", list(EXPECTED))
def test_mlperf_logging_reports_the_same_errors(corpus, tmp_path, org):
    # On a copy: its RCP check writes scaling.json into every folder it judges.
    tree = tmp_path / "round" / org
    shutil.copytree(corpus / org, tree)
    out = subprocess.run([sys.executable, "-m", "mlperf_logging.package_checker",
                          str(tree), "hpc", "2.0.0", "--log_output", str(tmp_path / "pc.log")],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0  # it exits 0 whether or not it finds errors
    theirs, folder = set(), None
    for line in out.stderr.splitlines():
        if m := _DIR.search(line):
            folder = str(Path(org) / Path(m.group(1)).relative_to(tree))
        for text, code in _KIND.items():
            if line.startswith("ERROR") and text in line:
                theirs.add((code, folder))
        assert not line.startswith("ERROR") or any(t in line for t in _KIND), line
    ours = {(c, p) for c, s, p, _ in EXPECTED[org] if c in _KIND.values()}
    assert theirs == ours


RCP_FOLDER = ("HelmholtzAI", "horeka_gpu_n512_pytorch1.13", "strong", "cosmoflow")


def _rcp_failing_copy(corpus: Path, dest: Path) -> Path:
    """A writable one-result HelmholtzAI submission whose runs fail the RCP check, without the
    org's own package_checker_params."""
    org, system, scaling, bench = RCP_FOLDER
    (dest / org / "systems").mkdir(parents=True)
    shutil.copy(corpus / org / "systems" / f"{system}.json", dest / org / "systems")
    shutil.copytree(corpus / org / "benchmarks" / bench, dest / org / "benchmarks" / bench)
    shutil.copytree(corpus / org / "results" / system / scaling / bench,
                    dest / org / "results" / system / scaling / bench)
    for p in (dest / org).rglob("*"):
        p.chmod(p.stat().st_mode | 0o200)
    return dest / org


def test_the_rcp_failure_without_a_waiver(corpus, tmp_path):
    org = _rcp_failing_copy(corpus, tmp_path)
    got = {(d.code, d.severity) for d in check_package(org, "hpc-2.0.0", {})}
    assert got == {("SP404", "error"), ("SP413", "error")}


@pytest.mark.parametrize("level", ["org", "system", "benchmark"])
@pytest.mark.parametrize("word", ["rcp-bypass", "rcp_bypass", "rcp"])
def test_every_spelling_of_the_rcp_waiver_at_every_level(corpus, tmp_path, level, word):
    org = _rcp_failing_copy(corpus, tmp_path)
    _, system, scaling, bench = RCP_FOLDER
    folder = {"org": org, "system": org / "results" / system,
              "benchmark": org / "results" / system / scaling / bench}[level]
    (folder / "package_checker_params").write_text(f"{word}\n")
    (d,) = [d for d in check_package(org, "hpc-2.0.0", {}) if d.code == "SP413"]
    assert d.severity == "warning" and d.extra["waived_severity"] == "error"
    assert d.extra["waived_by"] == f"{folder}/package_checker_params:1"
    assert d.message.startswith(f"waived by {folder}/package_checker_params:1: RCP check failed")
