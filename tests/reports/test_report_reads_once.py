"""One pass per log: `sciperf report` opens every log of the trees it reports exactly once (the
check's pass also makes the run summary that the package checks and the scores use), and every
system description once; with one job and with two (forked workers)."""

from __future__ import annotations

import os

import pytest

from tests.opens import opens


@pytest.mark.parametrize("jobs", [1, 2])
def test_each_log_and_description_is_opened_once(hpc_corpus, tmp_path, jobs):
    root = os.path.abspath(hpc_corpus)
    status, counts = opens(tmp_path, "reports.cli", root, "--ruleset", "hpc-2.0.0", "--out",
                           tmp_path / "report", "--jobs", jobs)
    assert status == 0
    logs = {os.path.join(d, f) for d, _, files in os.walk(root) for f in files
            if f.startswith("result_") and f.endswith(".txt")}
    descriptions = {os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                    if f.endswith(".json") and os.path.basename(d) == "systems"}
    assert len(logs) == 1347 and len(descriptions) == 16
    opened = {p: n for p, n in counts.items() if p.startswith(root + os.sep)}
    assert {p: opened.get(p, 0) for p in logs | descriptions} == dict.fromkeys(
        logs | descriptions, 1)
    # and nothing else of the tree but bypass files (the org's package_checker_params)
    assert set(opened) - logs - descriptions == {
        os.path.join(root, "HelmholtzAI", "package_checker_params")}
