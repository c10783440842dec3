"""The CosmoFlow network (shape, config knobs) and its evaluation sums."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from reference_implementations.common.config import load_config  # noqa: E402
from reference_implementations.cosmoflow import model  # noqa: E402
from reference_implementations.cosmoflow.cosmology import PARAMETERS  # noqa: E402


def _cfg(*overrides):
    return load_config("cosmoflow", "tiny", overrides=list(overrides))


def test_build_from_the_tiny_config():
    cfg = _cfg()
    net = model.build(cfg)
    size = cfg.data["sample_size"]
    assert net.input_shape == (None, size, size, size, 4)
    assert net.output_shape == (None, 4)
    convs = [la for la in net.layers if isinstance(la, tf.keras.layers.Conv3D)]
    assert [c.filters for c in convs] == [cfg.model["conv_filters"] * 2**i
                                          for i in range(cfg.model["n_conv_layers"])]
    out = net(np.random.default_rng(0).normal(0, 50, (2, size, size, size, 4)).astype("f4"))
    assert np.all(np.abs(out.numpy()) <= model.OUTPUT_SCALE + 1e-6)


def test_dropout_and_weight_decay_come_from_the_train_section():
    cfg = _cfg("train.dropout=0.25", "train.weight_decay=0.001")
    net = model.build(cfg)
    rates = [la.rate for la in net.layers if isinstance(la, tf.keras.layers.Dropout)]
    assert rates == [0.25, 0.25]
    assert len(net.losses) == cfg.model["n_conv_layers"] + 3  # L2 per conv and dense kernel
    assert model.build(_cfg()).losses == []


def test_pooling_choice():
    net = model.build(_cfg("model.pooling=average"))
    assert any(isinstance(la, tf.keras.layers.AveragePooling3D) for la in net.layers)
    with pytest.raises(ValueError, match="model.pooling"):
        model.build(_cfg("model.pooling=median"))


def test_too_many_pools_for_the_cube_is_a_clear_error():
    with pytest.raises(ValueError, match="n_conv_layers=6"):
        model.build(_cfg("model.n_conv_layers=6"))


def test_loss_choice():
    assert isinstance(model.loss(_cfg()), tf.keras.losses.MeanSquaredError)
    assert isinstance(model.loss(_cfg("model.loss=mae")), tf.keras.losses.MeanAbsoluteError)
    with pytest.raises(ValueError, match="model.loss"):
        model.loss(_cfg("model.loss=huber"))


def test_eval_sums_add_up_to_the_mae():
    rng = np.random.default_rng(3)
    y_true = rng.uniform(-1, 1, (10, 4))
    y_pred = rng.uniform(-1, 1, (10, 4))
    total: dict[str, float] = {}
    for lo, hi in ((0, 3), (3, 4), (4, 10)):  # uneven batches, as the last one is
        for k, v in model.eval_sums(y_true[lo:hi], y_pred[lo:hi]).items():
            total[k] = total.get(k, 0.0) + v
    value, extras = model.eval_finalize(total)
    assert value == pytest.approx(np.mean(np.abs(y_true - y_pred)))
    assert set(extras) == {f"mae_{p}" for p in PARAMETERS}
    for i, p in enumerate(PARAMETERS):
        assert extras[f"mae_{p}"] == pytest.approx(np.mean(np.abs(y_true[:, i] - y_pred[:, i])))


def test_eval_finalize_without_samples():
    with pytest.raises(ValueError, match="no validation samples"):
        model.eval_finalize({})


def test_a_typo_in_the_model_config_is_an_error():
    cfg = _cfg()
    cfg.model["conv_filter"] = 4
    with pytest.raises(ValueError, match="unknown keys conv_filter"):
        model.build(cfg)
