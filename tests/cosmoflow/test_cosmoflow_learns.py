"""A benchmark that does not learn is a bug: on the tiny dataset, a plain single-process Keras
fit with the tiny config must beat both no-learning baselines within its epoch budget."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from reference_implementations.common.config import load_config  # noqa: E402
from reference_implementations.common.optim import make_optimizer  # noqa: E402
from reference_implementations.cosmoflow import baselines, data, model  # noqa: E402

EPOCHS = 12


@pytest.mark.slow
def test_tiny_config_learns_better_than_the_baselines(tmp_path):
    cfg = load_config("cosmoflow", "tiny")
    data.generate(tmp_path, cfg.data, cfg.seed)
    splits = data.list_splits(tmp_path, cfg.data)
    base = baselines.baselines(tmp_path, cfg.data)

    tf.keras.utils.set_random_seed(1)
    # as the two-rank run that tiny is made for: global batch 2 x batch_size, peak lr 2 x base
    t = {**cfg.train, "batch_size": 2 * cfg.train["batch_size"]}
    net = model.build(cfg)
    steps = cfg.data["n_train"] // t["batch_size"]
    net.compile(optimizer=make_optimizer(t, steps, 2.0), loss=model.loss(cfg))
    curve = []
    for epoch in range(1, EPOCHS + 1):
        net.fit(data.make_dataset(splits["train"], cfg.data, batch_size=t["batch_size"],
                                  training=True, shuffle_seed=epoch), epochs=1, verbose=0)
        sums: dict[str, float] = {}
        for x, y in data.make_dataset(splits["validation"], cfg.data, batch_size=64,
                                      training=False, shuffle_seed=None):
            for k, v in model.eval_sums(y.numpy(), net(x, training=False).numpy()).items():
                sums[k] = sums.get(k, 0.0) + v
        curve.append(model.eval_finalize(sums)[0])
    best = min(curve[-3:])
    report = f"MAE per epoch {np.round(curve, 3).tolist()}; baselines {base}"
    assert best < 0.6 * base["mean"]["mae"], report
    assert best < base["power_spectrum_overdensity"]["mae"] - 0.03, report
    assert best < base["power_spectrum_log1p"]["mae"], report
