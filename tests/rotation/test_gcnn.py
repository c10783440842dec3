"""The group convolutions: exactly equivariant to quarter turns on the pixel grid, the network
exactly invariant to them; at other angles the invariance error is measured (and must stay well
below the plain CNN's)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from reference_implementations.common.config import load_config
from reference_implementations.rotation import galaxies as G
from reference_implementations.rotation import gcnn
from reference_implementations.rotation import model as M

N = 8
SIZE = 32


def turn_map(a: np.ndarray, q: int, n: int = N) -> np.ndarray:
    """What a quarter turn of the input does to a C_N feature map (B, H, W, F * N): the map
    turned q times and each field's orientations shifted by q N / 4."""
    a = np.rot90(a, q, axes=(1, 2))
    fields = a.reshape(a.shape[:3] + (-1, n))
    return np.roll(fields, q * n // 4, axis=-1).reshape(a.shape)


def test_the_basis_turned_a_quarter_is_np_rot90_of_it_bit_for_bit():
    for size in (3, 5, 7):
        basis = gcnn.steerable_basis(size, N).reshape(N, size, size, -1)
        for r in range(N // 4):
            for q in (1, 2, 3):
                np.testing.assert_array_equal(basis[r + q * N // 4],
                                              np.rot90(basis[r], q, axes=(0, 1)))


def test_the_basis_at_45_degrees_is_the_filter_turned_in_the_continuum():
    """A filter turned by 45 degrees and sampled again: the centre tap and the ring's energy
    are unchanged (the function rotates; the grid does not)."""
    basis = gcnn.steerable_basis(5, N)
    w = np.random.default_rng(0).normal(size=basis.shape[-1])
    f0, f1 = basis[0] @ w, basis[1] @ w
    assert f0[12] == pytest.approx(f1[12])  # the centre tap
    assert np.linalg.norm(f1) == pytest.approx(np.linalg.norm(f0), rel=0.15)


@pytest.mark.parametrize("layer", ["lifting", "group"])
def test_each_layer_is_exactly_equivariant_to_quarter_turns(layer):
    tf.keras.utils.set_random_seed(0)
    if layer == "lifting":
        f = gcnn.LiftingConv2D(4, 5, N)
        x = np.random.default_rng(1).normal(size=(2, SIZE, SIZE, 3)).astype(np.float32)
        expect = lambda y, q: turn_map(y, q)  # noqa: E731
        turn_in = lambda x, q: np.rot90(x, q, axes=(1, 2))  # noqa: E731
    else:
        f = gcnn.GroupConv2D(3, 3, N)
        x = np.random.default_rng(1).normal(size=(2, SIZE, SIZE, 5 * N)).astype(np.float32)
        expect = lambda y, q: turn_map(y, q)  # noqa: E731
        turn_in = turn_map
    y = f(x).numpy()
    for q in (1, 2, 3):
        yq = f(np.ascontiguousarray(turn_in(x, q))).numpy()
        # float32 round-off only (the convolution sums the same products in another order)
        np.testing.assert_allclose(yq, expect(y, q), rtol=0, atol=2e-5 * np.abs(y).max())


@pytest.fixture(scope="module")
def tiny():
    return load_config("rotation", "tiny")


def features(cfg, method: str):
    """The network up to its invariant features (before the classifier), randomly initialised."""
    cfg = load_config("rotation", "tiny", overrides=[f"model.method={method}"])
    tf.keras.utils.set_random_seed(3)
    net = M.build(cfg)
    return tf.keras.Model(net.input, net.get_layer("spatial_pool").output)


def test_the_network_is_exactly_invariant_to_quarter_turns(tiny):
    f = features(tiny, "gcnn")
    x = np.random.default_rng(2).uniform(size=(4, SIZE, SIZE, 3)).astype(np.float32)
    y = f(x).numpy()
    for q in (1, 2, 3):
        yq = f(np.ascontiguousarray(np.rot90(x, q, axes=(1, 2)))).numpy()
        np.testing.assert_allclose(yq, y, rtol=0, atol=1e-5 * np.abs(y).max())


def clean_galaxies(cfg, angle: float, n: int = 3) -> np.ndarray:
    """Noise-free galaxies of every class at `angle`, through the PSF and the stretch the data
    has, centred (so a turn of the angle is a turn about the grid's centre)."""
    from scipy import ndimage

    obs = G.Observing.from_cfg(cfg.data["observing"])
    out = []
    for label in range(len(G.CLASSES)):
        for i in range(n):
            g = G.draw_galaxy(np.random.default_rng([9, label, i]), label, obs)
            g.centre = (0.0, 0.0)
            flux = G.render(g, SIZE, angle, obs)
            blurred = np.stack([ndimage.gaussian_filter(flux[..., b], 0.04 * SIZE / 2.3548)
                                for b in range(3)], axis=-1)
            out.append(np.arcsinh(blurred / obs.stretch_soft)[..., ::-1]
                       / np.arcsinh(obs.stretch_max / obs.stretch_soft))
    return np.stack(out).astype(np.float32)


def invariance_error(f, cfg, angle: float) -> float:
    base = f(clean_galaxies(cfg, 0.0)).numpy()
    turned = f(clean_galaxies(cfg, angle)).numpy()
    return float(np.linalg.norm(turned - base) / np.linalg.norm(base))


def test_invariance_error_at_other_angles_is_measured_and_small(tiny):
    """Relative change of the invariant features when the galaxies are rendered at another
    angle (not interpolated): zero at quarter turns, small in between for the group network,
    several times larger for the plain CNN."""
    errors = {}
    for method in ("gcnn", "cnn"):
        f = features(tiny, method)
        errors[method] = {a: invariance_error(f, tiny, a) for a in (90.0, 45.0, 22.5, 10.0)}
    print("relative invariance error of the features:", errors)
    g, c = errors["gcnn"], errors["cnn"]
    assert g[90.0] < 1e-5 and c[90.0] > 0.01
    assert all(g[a] < 0.05 for a in (45.0, 22.5, 10.0)), g
    assert max(g.values()) < max(c.values()) / 2, (g, c)


def test_orientation_pool_is_invariant_to_the_cyclic_shift():
    x = np.random.default_rng(4).normal(size=(2, 4, 4, 3 * N)).astype(np.float32)
    shifted = np.roll(x.reshape(2, 4, 4, 3, N), 3, axis=-1).reshape(x.shape)
    for mode in ("max", "mean"):
        pool = gcnn.OrientationPool(N, mode)
        np.testing.assert_allclose(pool(shifted).numpy(), pool(x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="not max or mean"):
        gcnn.OrientationPool(N, "median")
