"""The blueprint's VAEs (reference_implementations/disentangle/vae.py): the architecture's
shapes, the latent terms against their closed forms, the evaluation's pieces, and config
errors that name the key."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from reference_implementations.common.config import ConfigError, load_config
from reference_implementations.disentangle import vae
from sciperf import vocab as K


@pytest.fixture(scope="module")
def cfg():
    return load_config("dsprites", "tiny")


def test_the_encoder_gives_a_10_d_gaussian_and_the_decoder_one_logit_per_pixel(cfg):
    model = vae.build(cfg)
    assert model.input_shape == (None, 64, 64, 1) and model.output_shape == (None, 64, 64, 1)
    mean, log_var = model.get_layer("encoder").output
    assert mean.shape[-1] == log_var.shape[-1] == 10
    strided = [layer for layer in model.get_layer("encoder").layers
               if getattr(layer, "strides", None) == (2, 2)]
    assert len(strided) == 4
    out = vae.predict(model, np.zeros((3, 64, 64, 1), np.float32))
    assert out["codes"].shape == (3, 10) and out["squared_error"].shape == (3,)


def test_the_beta_vae_adds_beta_times_the_kl_divergence(cfg):
    layer = vae.LatentPenalty("beta_vae", {K.VAE_BETA: 16.0})
    mean = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    log_var = np.zeros_like(mean)
    layer([mean, log_var])
    # KL(N(m, 1) || N(0, 1)) = m^2 / 2 per dimension: 0.5 and 2.0, mean 1.25
    assert float(layer.losses[0]) == pytest.approx(16.0 * 1.25)


def test_dip_vae_ii_penalises_an_aggregate_covariance_away_from_the_identity():
    weights = {K.VAE_BETA: 1.0, K.DIP_LAMBDA_OD: 10.0, K.DIP_LAMBDA_D: 5.0}
    rng = np.random.default_rng(0)
    white = rng.standard_normal((4000, 3)).astype(np.float32)
    white = (white - white.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(white.T, bias=True))).T
    tiny_var = np.full_like(white, -30.0)  # sigma^2 ~ 0: Cov[mu] alone
    kl = 0.5 * np.mean(np.sum(white ** 2 + np.exp(-30.0) + 30.0 - 1.0, axis=1))
    layer = vae.LatentPenalty("dip_vae_ii", weights)
    layer([white, tiny_var])
    assert float(layer.losses[0]) == pytest.approx(kl, rel=1e-4)  # no penalty at the identity
    doubled = vae.LatentPenalty("dip_vae_ii", weights)
    doubled([white * np.sqrt(2.0), tiny_var])  # variances 2: diagonal penalty 5 * 3 * 1^2
    kl2 = 0.5 * np.mean(np.sum(2 * white ** 2 + np.exp(-30.0) + 30.0 - 1.0, axis=1))
    assert float(doubled.losses[0]) == pytest.approx(kl2 + 15.0, rel=1e-4)


def test_the_reconstruction_loss_is_the_bernoulli_nll_summed_over_pixels(cfg):
    x = np.zeros((2, 64, 64, 1), np.float32)
    logits = np.zeros_like(x)  # p = 0.5 everywhere: log 2 nats per pixel
    assert np.allclose(vae.loss(cfg)(x, logits).numpy(), 64 * 64 * np.log(2.0), rtol=1e-5)


def test_evaluation_scores_the_gathered_rows_once(cfg):
    rng = np.random.default_rng(1)
    factors = rng.integers(0, 8, size=(600, 5)).astype(np.float32)
    codes = np.concatenate([factors + 0.01 * rng.standard_normal(factors.shape),
                            rng.standard_normal((600, 5))], axis=1)
    out = {"codes": codes, "squared_error": np.full(600, 0.01)}
    total = {**vae.eval_sums(factors, out), **vae.eval_rows(factors, out)}
    value, extras = vae.eval_finalize(total)
    assert value > 0.9  # each factor in a code dimension of its own
    assert extras[K.RECONSTRUCTION_ERROR] == pytest.approx(0.01)
    assert set(extras["information"]) == {"mig", "jemmig", "dcimig"}


def test_config_errors_name_the_key(cfg):
    bad = copy.deepcopy(cfg)
    bad.model["method"] = "factor_vae"
    with pytest.raises(ConfigError, match="model.method"):
        vae.build(bad)
    bad = copy.deepcopy(cfg)
    bad.model["decoder"] = "gaussian"
    with pytest.raises(ConfigError, match="model.decoder"):
        vae.hyperparameters(bad)


def test_the_log_records_the_methods_weights(cfg):
    assert vae.hyperparameters(cfg) == {K.VAE_BETA: 16.0}
    dip = copy.deepcopy(cfg)
    dip.model["method"] = "dip_vae_ii"
    assert vae.hyperparameters(dip) == {K.VAE_BETA: 1.0, K.DIP_LAMBDA_OD: 10.0,
                                        K.DIP_LAMBDA_D: 10.0}
