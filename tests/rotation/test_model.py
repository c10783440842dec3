"""rotation model and metrics: both methods classify an image, about the same size; predict folds
the views; the accuracy and its panel from known predictions, summed over batches (and ranks)."""

from __future__ import annotations

import numpy as np
import pytest

from reference_implementations.common.config import load_config
from reference_implementations.rotation import data as D
from reference_implementations.rotation import model as M
from sciperf import vocab as K


@pytest.mark.parametrize("method", M.METHODS)
def test_each_method_maps_an_image_to_class_logits(method):
    cfg = load_config("rotation", "tiny", overrides=[f"model.method={method}"])
    net = M.build(cfg)
    size = cfg.data["image_size"]
    assert net.input_shape == (None, size, size, 3) and net.output_shape == (None, 7)
    views = np.random.default_rng(0).uniform(size=(2, D.VIEWS, size, size, 3)).astype(np.float32)
    folded = M.predict(net, views).numpy()
    assert folded.shape == (2, D.VIEWS, 7)
    np.testing.assert_allclose(folded[1, 3], net(views[1:2, 3], training=False).numpy()[0],
                               rtol=1e-4, atol=1e-5)


def test_the_plain_cnn_is_about_the_group_networks_size():
    counts = {m: M.build(load_config("rotation", "tiny", overrides=[f"model.method={m}"]))
              .count_params() for m in M.METHODS}
    assert 0.8 < counts["cnn"] / counts["gcnn"] < 1.25, counts


def test_an_image_size_the_pooling_does_not_divide_is_refused():
    cfg = load_config("rotation", "tiny", overrides=["data.image_size=30"])
    with pytest.raises(ValueError, match="not divisible by 2\\*\\*2"):
        M.build(cfg)


def logits_for(classes: np.ndarray) -> np.ndarray:
    """(B, VIEWS) predicted classes -> one-hot logits (B, VIEWS, 7)."""
    return np.eye(7)[classes] * 5.0


def test_the_panel_from_known_predictions():
    assert M.PANEL == K.BENCHMARKS["rotation"].panel and len(M.ANGLE_KEYS) == 8
    # four galaxies: classes 0..3, angles in bins 0, 0, 3 and 7
    y = np.array([[0, 10.0], [1, 44.9], [2, 170.0], [3, 359.0]], np.float32)
    pred = np.tile(np.arange(4)[:, None], (1, D.VIEWS))  # all right, everywhere
    pred[1, 0] = 5  # galaxy 1 wrong as stored
    pred[2, 3] = 6  # galaxy 2 changes its mind at one turn: inconsistent, still right at view 0
    pred[3, D.UPRIGHT_VIEW] = 0  # galaxy 3 wrong upright
    sums = M.eval_sums(y, logits_for(pred))
    # a second batch (or rank): one galaxy in every other bin, all right
    y2 = np.array([[4, a + 1.0] for a in (45, 90, 135, 180, 225, 270)], np.float32)
    more = M.eval_sums(y2, logits_for(np.tile(np.full(6, 4)[:, None], (1, D.VIEWS))))
    total = {k: sums[k] + more[k] for k in sums}
    accuracy, panel = M.eval_finalize(total)
    assert accuracy == pytest.approx(9 / 10)
    assert panel["upright_accuracy"] == pytest.approx(9 / 10)
    assert panel["rotation_consistency"] == pytest.approx(8 / 10)  # galaxies 1 and 2
    assert panel["angle_accuracy_000"] == pytest.approx(1 / 2)  # galaxies 0 and 1
    assert panel["angle_accuracy_135"] == pytest.approx(1.0)  # galaxy 2 and one more
    assert panel["angle_accuracy_315"] == pytest.approx(1.0)
    assert set(panel) == set(M.PANEL)


def test_an_empty_angle_bin_is_an_error_not_a_number():
    y = np.array([[0, 10.0]], np.float32)
    with pytest.raises(ValueError, match=r"no validation galaxy has an angle in \[45, 90\)"):
        M.eval_finalize(M.eval_sums(y, logits_for(np.zeros((1, D.VIEWS), int))))
