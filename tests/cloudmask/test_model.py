"""CloudMask model: the U-Net's shapes, and the evaluation sums the harness adds up."""

from __future__ import annotations

import numpy as np
import pytest

from reference_implementations.cloudmask import model as M
from reference_implementations.common.config import load_config


@pytest.fixture(scope="module")
def cfg():
    return load_config("cloudmask", "tiny")


def test_unet_maps_patches_to_per_pixel_probabilities(cfg):
    model = M.build(cfg)
    p = cfg.data["patch_size"]
    x = np.random.default_rng(0).normal(size=(3, p, p, 9)).astype(np.float32)
    y = model(x, training=False).numpy()
    assert y.shape == (3, p, p, 1)
    assert (y >= 0).all() and (y <= 1).all()
    assert model.input_shape == (None, p, p, 9)


def test_every_scale_builds_and_the_full_one_takes_256_patches():
    for scale in ("small", "full"):
        c = load_config("cloudmask", scale)
        assert c.data["patch_size"] % 2 ** c.model["depth"] == 0
    assert load_config("cloudmask", "full").data["patch_size"] == 256


def test_patch_size_must_suit_the_depth(cfg):
    bad = load_config("cloudmask", "tiny", overrides=["data.patch_size=60"])
    with pytest.raises(ValueError, match="not divisible"):
        M.build(bad)


def test_weight_decay_and_dropout_are_applied():
    c = load_config("cloudmask", "tiny",
                    overrides=["train.weight_decay=0.001", "train.dropout=0.2"])
    model = M.build(c)
    assert model.losses, "L2 penalties are registered"
    assert any(layer.__class__.__name__ == "Dropout" for layer in model.layers)


def test_eval_sums_and_finalize():
    truth = np.array([1, 1, 0, 0, 1, 0], np.float32).reshape(1, 2, 3, 1)
    pred = np.array([0.9, 0.2, 0.7, 0.1, 0.6, 0.4], np.float32).reshape(1, 2, 3, 1)
    sums = M.eval_sums(truth, pred)
    assert sums == {"pixels": 6, "correct": 4, "tp": 2, "fp": 1, "fn": 1}
    # Sums over batches (and ranks) give the same answer as one big batch.
    half = [M.eval_sums(truth[:, :1], pred[:, :1]), M.eval_sums(truth[:, 1:], pred[:, 1:])]
    total = {k: half[0][k] + half[1][k] for k in sums}
    accuracy, extra = M.eval_finalize(total)
    assert accuracy == pytest.approx(4 / 6)
    assert extra == {"f1_cloud": pytest.approx(2 * 2 / (2 * 2 + 1 + 1))}


def test_f1_without_any_cloud():
    clear = np.zeros((1, 4, 4, 1), np.float32)
    assert M.eval_finalize(M.eval_sums(clear, clear)) == (1.0, {"f1_cloud": 1.0})
    acc, extra = M.eval_finalize(M.eval_sums(clear, clear + 0.9))
    assert acc == 0.0 and extra["f1_cloud"] == 0.0


def test_loss_is_binary_cross_entropy(cfg):
    loss = M.loss(cfg)
    y = np.array([[1.0, 0.0]], np.float32)
    assert float(loss(y, np.array([[0.999, 0.001]], np.float32))) < 0.01
    assert float(loss(y, np.array([[0.001, 0.999]], np.float32))) > 5
