"""Fixtures of the report tool's tests: the MLPerf HPC v2.0 corpus, scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports.report_helpers import CORPUS, EXPECTED, V20


@pytest.fixture(scope="session")
def hpc_corpus() -> Path:
    if not (V20.is_dir() and EXPECTED.is_dir()):
        pytest.skip(f"the MLPerf HPC v2.0 corpus is not at {CORPUS.resolve()} "
                    "(mlperf-hpc-v2.0/ and expected/mlperf-hpc-v2.0/)")
    return V20


@pytest.fixture(scope="session")
def ungated_report(hpc_corpus):
    """The corpus scored with the checks off: the summarizer's own terms (it gates on nothing
    but each log's compliance, and every log it scores passes)."""
    from reports.aggregate import build_report

    return build_report([hpc_corpus], ruleset="hpc-2.0.0", gate=False)
