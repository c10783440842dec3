"""The no-learning baselines a CosmoFlow model must beat."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from reference_implementations.cosmoflow import baselines  # noqa: E402


def test_power_spectrum_of_a_plane_wave_sits_in_its_bin():
    size = 32
    grid = np.arange(size)
    wave = np.cos(2 * np.pi * 5 * grid / size)[:, None, None] * np.ones((size, size, size))
    feats = baselines.power_spectrum_features(wave[..., None], n_bins=8)
    edges = np.geomspace(1.0, size / 2, 9)
    expected = np.searchsorted(edges, 5.0, side="right") - 1
    assert int(np.argmax(feats)) == expected
    assert feats[expected] > feats[np.arange(8) != expected].max() + 10


def test_ridge_cv_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 6))
    w = rng.normal(size=(6, 4))
    y = a @ w + 0.3
    predict, alpha = baselines.ridge_cv(a, y)
    assert baselines.mae(y, predict(a)) < 0.01
    assert alpha <= 1e-2


def test_baselines_on_a_generated_dataset(tmp_path, micro_cfg):
    from reference_implementations.cosmoflow import data

    cfg = {**micro_cfg, "sample_size": 16, "box_size": 128.0, "n_train": 96, "n_valid": 32,
           "samples_per_file": 16}
    data.generate(tmp_path, cfg, seed=4)
    results = baselines.baselines(tmp_path, cfg)
    assert set(results) == {"mean", "power_spectrum_overdensity", "power_spectrum_log1p"}
    assert 0.35 < results["mean"]["mae"] < 0.65  # uniform targets in [-1, 1]: about 0.5
    # the spectrum measures sigma_8 (the amplitude) even from 96 small cubes
    for name in ("power_spectrum_overdensity", "power_spectrum_log1p"):
        assert results[name]["mae_sigma_8"] < 0.6 * results["mean"]["mae_sigma_8"]


def test_command_line(tmp_path, micro_cfg, capsys):
    assert baselines.main(["--scale", "tiny", "--data-dir", str(tmp_path / "absent")]) == 2
    assert "absent" in capsys.readouterr().err
