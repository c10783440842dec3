"""CloudMask per-pixel baselines: the threshold search, the logistic regression, the report."""

from __future__ import annotations

import numpy as np
import pytest

from reference_implementations.cloudmask import baselines as B
from reference_implementations.cloudmask import data as D


def test_threshold_search_finds_the_best_cut_and_direction():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3))
    y = x[:, 2] < -0.3  # cloud where channel 2 is low
    rule = B.fit_threshold(x, y)
    assert rule.channel == 2 and not rule.cloud_above
    assert rule.train_accuracy == 1.0
    assert (rule.predict(x) == y).all()
    assert -0.4 < rule.threshold < -0.3


def test_threshold_search_on_a_constant_feature_predicts_the_majority():
    y = np.array([True] * 3 + [False] * 7)
    rule = B.fit_threshold(np.zeros((10, 1)), y)
    assert rule.train_accuracy == pytest.approx(0.7)


def test_logistic_regression_separates_what_a_line_separates():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 9)) * np.arange(1, 10)  # very different channel scales
    y = x[:, 0] / 1 + x[:, 8] / 9 > 0.5
    model = B.fit_logistic(x, y)
    assert model.train_accuracy > 0.99


def test_measure_on_a_generated_dataset(tmp_path, capsys):
    cfg = {"scene_height": 48, "scene_width": 64, "patch_size": 16, "train_scenes": 4,
           "validation_scenes": 2}
    D.generate(tmp_path, cfg, seed=5)
    r = B.measure(tmp_path, cfg, mlp=False)
    n_val = 2 * 48 * 64
    assert r["validation_pixels"] == n_val and r["train_pixels"] == 4 * 48 * 64
    for key in ("threshold", "logistic"):
        assert 0.0 <= r[key]["validation_accuracy"] <= 1.0
    assert r["logistic"]["train_accuracy"] >= r["threshold"]["train_accuracy"] - 0.02
    assert r["all_clear"] == pytest.approx(1 - r["validation_cloud_fraction"])
    text = B.format_report(r)
    assert "logistic regression on the 9 channels" in text and r["threshold"]["channel"] in text


def test_cli_reports_a_missing_dataset_without_a_traceback(tmp_path, capsys):
    assert B.main(["--data-dir", str(tmp_path / "none"), "--no-mlp"]) == 2
    err = capsys.readouterr().err
    assert "train: missing" in err and "Traceback" not in err
