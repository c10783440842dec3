"""The galaxy generator: deterministic, exact under quarter turns, and each class shows the
morphology it is named after (shape, colour, arms, two nuclei) in measurable form."""

from __future__ import annotations

import numpy as np
import pytest

from reference_implementations.common.config import load_config
from reference_implementations.rotation import galaxies as G

SIZE = 64


@pytest.fixture(scope="module")
def obs() -> G.Observing:
    return G.Observing.from_cfg(load_config("rotation", "tiny").data["observing"])


def centred(rng, label, obs) -> G.Galaxy:
    g = G.draw_galaxy(rng, label, obs)
    g.centre = (0.0, 0.0)
    return g


def moments(flux: np.ndarray) -> tuple[float, float]:
    """Axis ratio and position angle (degrees, counter-clockwise) from the second moments of
    the r band."""
    img = flux[..., 1]
    rows, cols = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    x, y = cols - (img.shape[1] - 1) / 2, (img.shape[0] - 1) / 2 - rows
    w = img / img.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    cxx, cyy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    cxy = (w * (x - mx) * (y - my)).sum()
    lam = np.linalg.eigvalsh([[cxx, cxy], [cxy, cyy]])
    return float(np.sqrt(lam[0] / lam[1])), float(np.degrees(0.5 * np.arctan2(2 * cxy,
                                                                             cxx - cyy)))


def test_a_quarter_turn_of_the_angle_is_a_quarter_turn_of_the_pixel_grid(obs):
    for label in range(len(G.CLASSES)):
        g = centred(np.random.default_rng([7, label]), label, obs)
        a = G.render(g, SIZE, 31.0, obs)
        for q in (1, 2, 3):
            b = G.render(g, SIZE, 31.0 + 90.0 * q, obs)
            np.testing.assert_allclose(np.rot90(a, q, axes=(0, 1)), b, rtol=1e-9,
                                       atol=1e-9 * a.max())
        # the upright rendering is exactly the quarter-turned one turned back
        np.testing.assert_allclose(np.rot90(G.render(g, SIZE, 90.0, obs), -1, axes=(0, 1)),
                                   G.render(g, SIZE, 0.0, obs), rtol=1e-12)


def test_same_seed_same_galaxy_other_seed_other_galaxy(obs):
    a = G.galaxy_images(np.random.default_rng([1, 2]), 3, SIZE, [0.0, 45.0], obs)[0]
    b = G.galaxy_images(np.random.default_rng([1, 2]), 3, SIZE, [0.0, 45.0], obs)[0]
    c = G.galaxy_images(np.random.default_rng([1, 3]), 3, SIZE, [0.0, 45.0], obs)[0]
    assert a.dtype == np.uint8 and a.shape == (2, SIZE, SIZE, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_major_axis_lies_at_the_position_angle(obs):
    for label in (1, 2):  # elongated ellipticals, edge-on disks
        for angle in (0.0, 30.0, 125.0):
            g = centred(np.random.default_rng([11, label]), label, obs)
            _, pa = moments(G.render(g, SIZE, angle, obs))
            assert abs((pa - angle + 90) % 180 - 90) < 6, (G.CLASSES[label], angle, pa)


def class_stats(obs, label, n=12):
    q, colour = [], []
    for i in range(n):
        g = centred(np.random.default_rng([3, label, i]), label, obs)
        flux = G.render(g, SIZE, 0.0, obs)
        q.append(moments(flux)[0])
        colour.append(flux[..., 0].sum() / flux[..., 1].sum())  # g / r: bluer is larger
    return np.median(q), np.median(colour)


def test_each_class_has_its_shape_and_colour(obs):
    stats = {name: class_stats(obs, i) for i, name in enumerate(G.CLASSES)}
    q = {k: v[0] for k, v in stats.items()}
    colour = {k: v[1] for k, v in stats.items()}
    assert q["smooth_round"] > 0.9
    assert q["smooth_elongated"] < 0.55
    assert q["edge_on_disk"] < 0.8 * q["smooth_elongated"]  # thin (its bulge rounds it)
    assert q["merger"] < 0.7  # two nuclei side by side
    # old red ellipticals; spirals bluer (young arms and knots)
    for spiral in ("spiral_two_arm", "spiral_many_arm", "barred_spiral"):
        assert colour[spiral] > colour["smooth_round"] + 0.1, (spiral, colour)


def azimuthal_power(flux: np.ndarray, m: int) -> float:
    """Power of the m-fold azimuthal mode of the r band in an annulus (arms: m = arm count)."""
    img = flux[..., 1]
    rows, cols = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    x, y = cols - (img.shape[1] - 1) / 2, (img.shape[0] - 1) / 2 - rows
    r, phi = np.hypot(x, y), np.arctan2(y, x)
    ring = (r > 0.12 * SIZE) & (r < 0.3 * SIZE)
    w = img[ring] / img[ring].sum()
    return float(abs((w * np.exp(-1j * m * phi[ring])).sum()))


def test_two_armed_spirals_show_two_fold_and_many_armed_ones_higher_symmetry(obs):
    def median_mode(label, m):
        vals = []
        for i in range(16):
            g = centred(np.random.default_rng([5, label, i]), label, obs)
            for c in g.components[1:3]:  # disk and arms face-on: projection adds 2-fold power
                c.params["q"] = 1.0
            vals.append(azimuthal_power(G.render(g, SIZE, 0.0, obs), m))
        return np.median(vals)

    two, many = G.CLASSES.index("spiral_two_arm"), G.CLASSES.index("spiral_many_arm")
    assert median_mode(two, 2) > 2 * median_mode(many, 2)
    assert median_mode(many, 3) + median_mode(many, 4) > 2 * median_mode(two, 3)


def test_the_separable_sum_of_gaussians_is_the_direct_one(obs):
    for label in (3, 5, 6):  # knots on arms; tidal tails
        g = G.draw_galaxy(np.random.default_rng([13, label]), label, obs)  # off-centre too
        for angle in (0.0, 37.0):
            np.testing.assert_allclose(G.render(g, SIZE, angle, obs),
                                       G.render(g, SIZE, angle, obs, separable=False),
                                       rtol=1e-9, atol=1e-12)
