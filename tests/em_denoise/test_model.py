"""em_denoise model and metrics: output shape, PSNR/SSIM against values known in closed form,
sums that add up over batches and ranks, and the baselines' scoring."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from reference_implementations.common.config import load_config
from reference_implementations.em_denoise import baselines as B
from reference_implementations.em_denoise import model as M


@pytest.fixture(scope="module")
def cfg():
    return load_config("em_denoise", "tiny")


def test_model_maps_an_image_to_an_image_of_the_same_shape(cfg):
    model = M.build(cfg)
    size = cfg.data["image_size"]
    assert model.input_shape == (None, size, size, 1)
    assert model.output_shape == (None, size, size, 1)
    out = model(np.zeros((3, size, size, 1), np.float32), training=False)
    assert out.shape == (3, size, size, 1)


def test_model_rejects_a_depth_the_image_size_does_not_allow(cfg):
    bad = copy.deepcopy(cfg)
    bad.data["image_size"] = 60
    bad.model["depth"] = 3
    with pytest.raises(ValueError, match="not divisible by 2\\*\\*model.depth"):
        M.build(bad)


def _images(*values, size=24):
    return np.stack([np.full((size, size, 1), v, np.float32) for v in values])


def test_psnr_and_mse_known_values():
    truth = _images(0.0, 0.5, 0.2)
    pred = truth + np.array([0.1, 0.01, 0.0], np.float32)[:, None, None, None]
    m = M.per_image(truth, pred)
    np.testing.assert_allclose(m["mse"], [0.01, 1e-4, 0.0], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(m["psnr"][:2], [20.0, 40.0], rtol=1e-5)
    assert m["psnr"][2] == pytest.approx(100.0)  # the MSE floor, not infinity


def test_predictions_are_clipped_to_the_valid_range():
    truth = _images(1.0, 0.0)
    m = M.per_image(truth, _images(1.7, -0.3))
    np.testing.assert_allclose(m["mse"], 0.0, atol=1e-12)


def test_ssim_known_values():
    # For constant images the structure and contrast terms are (C2)/(C2) = 1 and SSIM reduces
    # to the luminance term (2 a b + C1) / (a^2 + b^2 + C1), C1 = (0.01 * peak)^2.
    a, b, c1 = 0.5, 0.4, 0.01 ** 2
    m = M.per_image(_images(a, 0.3), _images(b, 0.3))
    # (rel 1e-7: the images are float32, and 0.4 is not exactly one)
    assert m["ssim"][0] == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-7)
    assert m["ssim"][1] == pytest.approx(1.0, rel=1e-12)


def test_ssim_equals_tensorflows_on_textured_images():
    """tf.image.ssim is the independent reference (same window and constants, float32)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    texture = rng.uniform(0, 1, (3, 40, 40, 1)).astype(np.float32)
    noise = rng.normal(0, 1, texture.shape).astype(np.float32) * np.array(
        [0.05, 0.2, 0.5], np.float32)[:, None, None, None]
    noisy = np.clip(texture + noise, 0, 1).astype(np.float32)
    got = M.per_image(texture, noisy)["ssim"]
    want = tf.image.ssim(texture, noisy, max_val=1.0).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert got[0] > got[1] > got[2]


def test_eval_sums_add_over_batches_like_one_batch():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 1, (6, 24, 24, 1)).astype(np.float32)
    pred = np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 1).astype(np.float32)
    whole = M.eval_finalize(M.eval_sums(truth, pred))
    parts = [M.eval_sums(truth[i:i + 2], pred[i:i + 2]) for i in (0, 2, 4)]
    added = {k: sum(p[k] for p in parts) for k in parts[0]}
    split = M.eval_finalize(added)
    assert split[0] == pytest.approx(whole[0])
    assert split[1] == pytest.approx(whole[1])
    assert set(whole[1]) == {"mse", "ssim"}
    expected = np.mean([10 * math.log10(1 / np.mean((pred[i] - truth[i]) ** 2)) for i in range(6)])
    assert whole[0] == pytest.approx(expected, rel=1e-5)


def test_oracle_mapping_recovers_an_affine_copy():
    rng = np.random.default_rng(2)
    clean = rng.uniform(0, 1, (4, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(B.fit_to_clean(3.0 * clean - 7.0, clean), clean, atol=1e-5)


def test_stretch_maps_percentiles_to_zero_and_one():
    x = np.arange(2 * 10 * 10, dtype=np.float32).reshape(2, 10, 10, 1) * 3.0 + 5.0
    y = B.stretch(x, 0.0, 100.0)
    np.testing.assert_allclose(y.min(axis=(1, 2, 3)), 0.0, atol=1e-6)
    np.testing.assert_allclose(y.max(axis=(1, 2, 3)), 1.0, atol=1e-6)


def test_tuning_chooses_on_training_images_and_scores_validation_images():
    """Smooth images under heavy noise: the tuned Gaussian must smooth, must beat the noisy
    input, and its training-set mapping must stay below the oracle bound."""
    rng = np.random.default_rng(3)

    def images(n):
        smooth = B.gaussian(rng.normal(0, 1, (n, 32, 32, 1)).astype(np.float32), 2.5)
        lo = smooth.min(axis=(1, 2, 3), keepdims=True)
        hi = smooth.max(axis=(1, 2, 3), keepdims=True)
        clean = ((smooth - lo) / (hi - lo)).astype(np.float32)
        return 40.0 * clean + 10.0 + rng.normal(0, 12.0, clean.shape).astype(np.float32), clean

    train, validation = images(12), images(6)
    noisy = B.tune("noisy input", train, validation)
    smoothed = B.tune("Gaussian filter", train, validation)
    assert smoothed.param >= 1.5
    assert smoothed.validation_psnr > noisy.validation_psnr + 3.0
    assert smoothed.validation_psnr <= smoothed.oracle_psnr
    assert smoothed.mapping.kind in ("global", "stretch")
    # what was reported is reproducible from the tuned choice
    again = B.psnr(smoothed.mapping.apply(B.gaussian(validation[0], smoothed.param)),
                   validation[1])
    assert again == pytest.approx(smoothed.validation_psnr)
