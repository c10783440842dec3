"""The disentanglement blueprint's models: variational autoencoders of 64 x 64 images with a
Gaussian latent, and the benchmark's evaluation (codes against factors).

The encoder and decoder are the convolutional pair of disentanglement_lib (Locatello et al.,
"Challenging common assumptions in the unsupervised learning of disentangled
representations", ICML 2019; `architectures.conv_encoder` / `deconv_decoder`), after Higgins et
al. 2017 and Burgess et al. 2018: four stride-2 convolutions (32, 32, 64, 64 channels; 4 x 4,
4 x 4, 2 x 2, 2 x 2 kernels), a dense layer of 256, and the mean and log-variance of a
10-dimensional diagonal Gaussian; the decoder mirrors it (dense 256, dense 4 x 4 x 64, four
stride-2 transposed convolutions) and gives one logit per pixel and channel.

The decoder's likelihood (`model.decoder`) is Bernoulli on both datasets: dSprites is binary,
and 3dshapes' intensities in [0, 1] are Bernoulli means as disentanglement_lib treats every
dataset. A Gaussian of fixed variance sigma^2 would be the squared error over 2 sigma^2: its
weight against the KL term is an arbitrary sigma, which would rescale beta and make it
incomparable with the literature's values.

Methods (`model.method`):
- `beta_vae` (Higgins et al., "beta-VAE: learning basic visual concepts with a constrained
  variational framework", ICLR 2017): the ELBO with its KL term weighted by beta. The closed
  division's reference.
- `dip_vae_ii` (Kumar, Sattigeri and Balakrishnan, "Variational inference of disentangled latent
  concepts from unlabeled observations", ICLR 2018): the ELBO (beta 1) plus a penalty that
  pushes the covariance of the aggregate posterior, Cov[mu(x)] + E[diag sigma^2(x)], towards
  the identity: lambda_od times the squares of its off-diagonal entries plus lambda_d times the
  squares of its diagonal entries minus 1 (estimated on each rank's batch). Open division.

Evaluation: the codes of a sample are the posterior means; the quality metric is one of the
panel's information metrics on the whole validation split (the rows gathered over the ranks),
the reconstruction error (the decoded mean against the image, squared error per pixel) is
logged beside it, and the rest of the panel is scored once on the final model
(metrics.panel).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from sciperf.vocab import (DIP_LAMBDA_D, DIP_LAMBDA_OD, DISENTANGLE_METRIC, DISENTANGLE_PANEL,
                           RECONSTRUCTION_ERROR, VAE_BETA)

from ..common.config import ConfigError
from . import metrics

METHODS = ("beta_vae", "dip_vae_ii")
DECODERS = ("bernoulli",)


def _settings(cfg) -> tuple[str, dict]:
    m = cfg.model
    method = m.get("method")
    if method not in METHODS:
        raise ConfigError(f"model.method: {method!r} is not one of {', '.join(METHODS)}")
    if m.get("decoder") not in DECODERS:
        raise ConfigError(f"model.decoder: {m.get('decoder')!r} is not one of "
                          f"{', '.join(DECODERS)}")
    settings = m.get(method)
    if not isinstance(settings, dict):
        raise ConfigError(f"model.{method}: missing (the method's weights)")
    return method, settings


def hyperparameters(cfg) -> dict[str, float]:
    """The method's weights as the log records them (after `method`)."""
    method, s = _settings(cfg)
    if method == "beta_vae":
        return {VAE_BETA: float(s["beta"])}
    return {VAE_BETA: 1.0, DIP_LAMBDA_OD: float(s["lambda_od"]),
            DIP_LAMBDA_D: float(s["lambda_d"])}


def build(cfg):
    L = tf.keras.layers
    method, _ = _settings(cfg)
    weights = hyperparameters(cfg)
    latent = int(cfg.model["latent_dim"])
    channels = int(cfg.model["channels"])

    x = tf.keras.Input((64, 64, channels), name="image")
    h = x
    for i, (filters, kernel) in enumerate(((32, 4), (32, 4), (64, 2), (64, 2)), 1):
        h = L.Conv2D(filters, kernel, strides=2, padding="same", activation="relu",
                     name=f"e{i}")(h)
    h = L.Dense(256, activation="relu", name="e5")(L.Flatten()(h))
    encoder = tf.keras.Model(x, [L.Dense(latent, name="means")(h),
                                 L.Dense(latent, name="log_var")(h)], name="encoder")

    z_in = tf.keras.Input((latent,), name="code")
    h = L.Dense(256, activation="relu", name="d1")(z_in)
    h = L.Reshape((4, 4, 64))(L.Dense(4 * 4 * 64, activation="relu", name="d2")(h))
    for i, filters in enumerate((64, 32, 32), 3):
        h = L.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu",
                              name=f"d{i}")(h)
    logits = L.Conv2DTranspose(channels, 4, strides=2, padding="same", name="logits")(h)
    decoder = tf.keras.Model(z_in, logits, name="decoder")

    mean, log_var = encoder(x)
    mean, log_var = LatentPenalty(method, weights, name="penalty")([mean, log_var])
    model = tf.keras.Model(x, decoder(Sample(name="sample")([mean, log_var])), name=method)
    return model


class Sample(tf.keras.layers.Layer):
    """z = mean + sigma * eps while training (the reparameterisation trick); the mean
    otherwise."""

    def call(self, inputs, training=None):
        mean, log_var = inputs
        if not training:
            return mean
        return mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))


class LatentPenalty(tf.keras.layers.Layer):
    """Adds the method's latent terms to the loss (per image, averaged over the batch): beta
    KL(q(z|x) || N(0, I)), and for DIP-VAE-II the covariance penalty; passes its inputs
    through."""

    def __init__(self, method, weights, **kw):
        super().__init__(**kw)
        self.method, self.terms = method, dict(weights)

    def call(self, inputs):
        mean, log_var = inputs
        kl = 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_var) - log_var - 1.0, axis=1)
        loss = self.terms[VAE_BETA] * tf.reduce_mean(kl)
        if self.method == "dip_vae_ii":
            centred = mean - tf.reduce_mean(mean, axis=0, keepdims=True)
            n = tf.cast(tf.shape(mean)[0], mean.dtype)
            cov = tf.matmul(centred, centred, transpose_a=True) / n
            cov += tf.linalg.diag(tf.reduce_mean(tf.exp(log_var), axis=0))
            diag = tf.linalg.diag_part(cov)
            off = cov - tf.linalg.diag(diag)
            loss += (self.terms[DIP_LAMBDA_OD] * tf.reduce_sum(tf.square(off))
                     + self.terms[DIP_LAMBDA_D] * tf.reduce_sum(tf.square(diag - 1.0)))
        self.add_loss(loss)
        return mean, log_var

    def get_config(self):
        return {**super().get_config(), "method": self.method, "weights": self.terms}


def loss(cfg):
    """The reconstruction term: the Bernoulli negative log-likelihood of the image under the
    decoder's logits, summed over pixels, averaged over the batch (the latent terms come from
    LatentPenalty)."""
    _settings(cfg)

    def bernoulli_nll(x, logits):
        nll = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        return tf.reduce_sum(nll, axis=[1, 2, 3])

    return bernoulli_nll


# -- evaluation (reference_implementations/common/training.py calls these) ---------------------

def predict(model, x):
    """Codes (posterior means) and each image's reconstruction error: the squared error per
    pixel of the decoded mean image (sigmoid of the logits) against the image."""
    mean, _ = model.get_layer("encoder")(x, training=False)
    decoded = tf.sigmoid(model.get_layer("decoder")(mean, training=False))
    return {"codes": mean, "squared_error": tf.reduce_mean(tf.square(decoded - x), axis=[1, 2, 3])}


def eval_sums(factors: np.ndarray, out: dict) -> dict[str, float]:
    return {"squared_error": float(np.sum(out["squared_error"], dtype=np.float64)),
            "images": float(len(factors))}


def eval_rows(factors: np.ndarray, out: dict) -> dict[str, np.ndarray]:
    """What the metrics need of every validation sample: its code and its factors."""
    return {"codes": np.asarray(out["codes"]), "factors": np.asarray(factors)}


def eval_finalize(total: dict) -> tuple[float, dict]:
    """The quality metric on the whole split, the reconstruction error (a panel key: logged as
    its own record after the metric) and the other information metrics, which come from the
    same contingency tables (metadata)."""
    info = metrics.information_metrics(total["factors"], total["codes"])
    return info[DISENTANGLE_METRIC], {
        RECONSTRUCTION_ERROR: total["squared_error"] / total["images"],
        "information": {k: round(v, 6) for k, v in info.items()}}


def final_panel(total: dict, seed: int) -> dict[str, tuple[float | None, dict]]:
    """key -> (value, metadata) of every metric of the panel on the final model's codes of the
    whole validation split; a metric undefined on them (z_var when every code dimension has
    collapsed) is None, with the reason."""
    p = metrics.panel(total["factors"], total["codes"], seed=seed)
    common = {"samples": int(len(total["codes"])), "seed": int(seed)}
    return {k: (p.values[k], {**common, **({"not_computed": p.not_computed[k]}
                                           if k in p.not_computed else {})})
            for k in DISENTANGLE_PANEL}
