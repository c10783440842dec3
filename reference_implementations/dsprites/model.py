"""dsprites model: the disentanglement blueprint's VAEs (beta-VAE, the closed division's reference;
DIP-VAE-II, open), their loss and evaluation: reference_implementations/disentangle/vae.py.
The decoder is Bernoulli (why: vae.py)."""

from ..disentangle.vae import (build, eval_finalize, eval_rows, eval_sums,  # noqa: F401
                               final_panel, hyperparameters, loss, predict)
