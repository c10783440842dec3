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
