"""compliance.pipeline: check-compliance reads each log once (checks and package checks from
one pass), scans a tree before opening any log, and never opens what SP408 refuses."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from compliance.pipeline import check_paths
from tests.opens import opens


def test_check_compliance_opens_each_log_once(corpus, tmp_path):
    root = os.path.abspath(corpus)
    status, counts = opens(tmp_path, "compliance.cli", root, "--ruleset", "hpc-2.0.0",
                           "--jobs", "2", "--format", "json")
    assert status == 1  # the corpus has package errors (seeds)
    logs = {os.path.join(d, f) for d, _, files in os.walk(root) for f in files
            if f.startswith("result_") and f.endswith(".txt")}
    assert {p: counts.get(p, 0) for p in logs} == dict.fromkeys(logs, 1)


def test_a_link_out_of_the_tree_is_never_opened(corpus, tmp_path):
    org = tmp_path / "round" / "Dell"
    shutil.copytree(corpus / "Dell", org)
    outside = tmp_path / "elsewhere.txt"
    shutil.copy(next((org / "results").rglob("result_0.txt")), outside)
    bench = next(p.parent for p in (org / "results").rglob("result_0.txt"))
    os.symlink(outside, bench / "result_9.txt")
    status, counts = opens(tmp_path, "compliance.cli", tmp_path / "round", "--ruleset",
                           "hpc-2.0.0", "--format", "json")
    assert status == 1 and counts.get(str(outside), 0) == 0
    checked = check_paths([tmp_path / "round"], "hpc-2.0.0")
    assert not any(fr.abspath.name == "result_9.txt" for fr in checked.logs)
    (pkg,) = checked.packages
    assert [d.code for d in pkg.diagnostics if d.is_error] == ["SP408"]
    assert all("result_9.txt" not in str(p) for r in pkg.results for p in r.logs)


def test_findings_carry_their_scope(corpus, tmp_path):
    org = tmp_path / "round" / "Dell"
    shutil.copytree(corpus / "Dell", org)
    bench = next(p.parent for p in (org / "results").rglob("result_0.txt"))
    shutil.copy(bench / "result_0.txt", bench / "result_5.txt")  # one seed twice
    checked = check_paths([tmp_path / "round"], "hpc-2.0.0")
    (pkg,) = checked.packages
    (d,) = [d for d in pkg.diagnostics if d.code == "SP404"]
    system, scaling = bench.parent.parent.name, bench.parent.name
    assert (d.scope.org, d.scope.system, d.scope.scaling, d.scope.benchmark, d.scope.log) == (
        "Dell", system, scaling, bench.name, "result_5.txt")
    assert json.loads(json.dumps(d.to_json()))["scope"]["log"] == "result_5.txt"


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_run_summaries_travel_with_the_results(corpus, jobs):
    checked = check_paths([corpus / "Dell"], "hpc-2.0.0", jobs=jobs)
    assert checked.logs and all(fr.summary is not None and fr.summary.finished
                                for fr in checked.logs)
