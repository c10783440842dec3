"""Shared fixtures for the CosmoFlow tests: a micro data config (8^3 cubes, a few samples) so
every test writes and reads real TFRecord files in well under a second."""

from __future__ import annotations

import pytest


@pytest.fixture
def micro_cfg() -> dict:
    return {
        "sample_size": 8,
        "box_size": 64.0,
        "particle_density": 1.0,
        "redshifts": [0.0, 0.5, 1.5, 3.0],
        "n_train": 6,
        "n_valid": 3,
        "samples_per_file": 2,
        "apply_log": True,
        "compression": "auto",
        "shuffle_buffer": 0,
        "augment": False,
    }


@pytest.fixture
def micro_data(tmp_path, micro_cfg):
    from reference_implementations.cosmoflow import data

    out = tmp_path / "data"
    data.generate(out, micro_cfg, seed=3)
    return out
