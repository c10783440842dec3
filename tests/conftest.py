"""Fixtures every test folder can use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import CORPUS


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the MLPerf HPC v2.0 corpus is not at {CORPUS} (it lies beside the project "
                    "in ../shared, which a fresh clone elsewhere does not have)")
    return CORPUS


_CORPUS_AT_START: dict = {}


def pytest_sessionstart(session):
    from tests import corpus_guard

    if corpus_guard.available():
        _CORPUS_AT_START.update(corpus_guard.snapshot())


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any test wrote into the shared corpus (tests/corpus_guard.py)."""
    from tests import corpus_guard

    if not _CORPUS_AT_START:
        return
    problems = corpus_guard.changes(_CORPUS_AT_START, corpus_guard.snapshot())
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "the suite wrote into ../shared/corpus: " + "; ".join(problems[:20])
        if reporter is not None:
            reporter.write_line(f"ERROR: {text}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
