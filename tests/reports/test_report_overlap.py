"""The report's speed work changes no output: plots drawn in forked processes are the bytes the
serial path draws; check_logs runs the caller's work once, whatever the job count."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.api import check_logs
from reports.aggregate import build_report
from reports.plots import render_plots
from tests.reports.test_report_sciperf_tree import _org


def test_parallel_plots_equal_serial(tmp_path):
    rep = build_report([_org(tmp_path, weak_runs=3)], gate=False)
    serial = render_plots(rep.results, jobs=1)
    assert set(serial) == {"time_to_train.png", "weak_throughput.png", "strong_scaling.png"}
    assert render_plots(rep.results, jobs=2) == serial


@pytest.mark.parametrize("jobs", [1, 2])
def test_check_logs_runs_meanwhile_once(tmp_path, jobs):
    for i in range(3):
        (tmp_path / f"result_{i}.txt").write_text(":::MLLOG {}\n")
    calls = []
    results = check_logs([tmp_path], ruleset="hpc-2.0.0", jobs=jobs,
                         meanwhile=lambda: calls.append(1))
    assert calls == [1]
    assert [Path(r.abspath).name for r in results] == [f"result_{i}.txt" for i in range(3)]
