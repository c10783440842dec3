"""The synthetic universe: P(k) normalisation, growth, field statistics, and that each of the
four parameters visibly changes the cubes in its own way (else the benchmark cannot learn it)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from reference_implementations.cosmoflow import cosmology as C
from reference_implementations.cosmoflow.baselines import power_spectrum_features

FIDUCIAL = dict(omega_m=0.3, sigma_8=0.8, n_s=0.96, h=0.7)


def _sigma_r(radius, **params):
    """Top-hat rms by adaptive quadrature: an independent check of the trapezoid normalisation."""
    def integrand(lnk):
        k = np.exp(lnk)
        x = k * radius
        w = 3 * (np.sin(x) - x * np.cos(x)) / x**3
        return k**3 * C.linear_power(np.array([k]), **params)[0] * w * w / (2 * np.pi**2)
    return np.sqrt(quad(integrand, np.log(1e-4), np.log(1e2), limit=400)[0])


@pytest.mark.parametrize("params", [FIDUCIAL, dict(omega_m=0.2, sigma_8=1.0, n_s=1.2, h=0.55),
                                    dict(omega_m=0.4, sigma_8=0.6, n_s=0.8, h=0.85)])
def test_power_spectrum_is_normalised_to_sigma_8(params):
    assert _sigma_r(8.0, **params) == pytest.approx(params["sigma_8"], rel=2e-3)


def test_growth_factor():
    z = np.array([0.0, 0.5, 1.5, 3.0])
    np.testing.assert_allclose(C.growth_factor(z, 1.0), 1 / (1 + z), rtol=1e-10)  # EdS: D = a

    def by_integral(zz, om):  # D(a) ~ H(a) int_0^a da' / (a' H(a'))^3, flat LCDM
        def hub(a):
            return np.sqrt(om / a**3 + 1 - om)
        def d(a):
            return hub(a) * quad(lambda s: 1 / (s * hub(s)) ** 3, 0, a)[0]
        return d(1 / (1 + zz)) / d(1.0)
    for om in (0.2, 0.3, 0.4):
        got = C.growth_factor(z, om)
        np.testing.assert_allclose(got, [by_integral(zz, om) for zz in z], rtol=1e-6)
        assert np.all(np.diff(got) < 0)


def test_gaussian_field_has_its_expected_variance():
    rng = np.random.default_rng(0)
    field, variance = C.gaussian_field(rng, 64, 128.0, **FIDUCIAL)
    assert field.shape == (64, 64, 64)
    assert abs(field.mean()) < 0.05 * np.sqrt(variance)
    assert field.var() == pytest.approx(variance, rel=0.1)


def test_counts_are_int16_with_the_mean_density():
    rng = np.random.default_rng(1)
    x = C.sample_counts(rng, FIDUCIAL, 32, 128.0, mean_count=64.0)
    assert x.shape == (32, 32, 32, 4) and x.dtype == np.int16 and x.min() >= 0
    # log-normal density has mean one, so every channel's mean is near the mean count; the
    # later channels (higher z, smaller fluctuations) have less sample variance
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), 64.0, rtol=0.25)
    assert np.all(np.diff(x.std(axis=(0, 1, 2))) < 0)


def test_normalisation_round_trip_and_range():
    ranges = C.parameter_ranges({})
    rng = np.random.default_rng(2)
    p = np.array([[rng.uniform(*ranges[k]) for k in C.PARAMETERS] for _ in range(100)])
    y = C.normalise(p, ranges)
    assert np.all(np.abs(y) <= 1)
    np.testing.assert_allclose(C.denormalise(y, ranges), p)
    lows = [ranges[k][0] for k in C.PARAMETERS]
    np.testing.assert_allclose(C.normalise(lows, ranges), -1.0)


def test_parameter_ranges_from_config():
    assert C.parameter_ranges({"parameter_ranges": {"h": [0.6, 0.8]}})["h"] == (0.6, 0.8)
    with pytest.raises(ValueError, match="unknown parameters"):
        C.parameter_ranges({"parameter_ranges": {"w0": [-1.2, -0.8]}})
    with pytest.raises(ValueError, match="low < high"):
        C.parameter_ranges({"parameter_ranges": {"h": [0.8, 0.6]}})


# -- each parameter moves the field in its own direction --------------------------------------

def _cube(**change):
    """Same phases and Poisson draws (same seed), one parameter changed."""
    params = {**FIDUCIAL, **change}
    return C.sample_counts(np.random.default_rng(7), params, 32, 128.0, mean_count=64.0)


def _log_std(x, channel):
    return np.log1p(x[..., channel].astype(float)).std()


def _tilt(x, channel=0):
    """log power in the highest k bins minus the lowest (of log1p counts)."""
    f = power_spectrum_features(np.log1p(x.astype(float)))
    per = f.reshape(x.shape[-1], -1)[channel]
    return per[-2:].mean() - per[:2].mean()


def test_sigma_8_raises_the_contrast_of_every_channel():
    lo, hi = _cube(sigma_8=0.6), _cube(sigma_8=1.0)
    for c in range(4):
        assert _log_std(hi, c) > 1.1 * _log_std(lo, c)


def test_n_s_tilts_the_spectrum():
    assert _tilt(_cube(n_s=1.2)) > _tilt(_cube(n_s=0.8)) + 0.3


def test_omega_m_changes_the_growth_between_channels():
    lo, hi = _cube(omega_m=0.2), _cube(omega_m=0.4)
    # z = 3 against z = 0: more matter, more late growth, so a smaller early contrast
    assert _log_std(hi, 3) / _log_std(hi, 0) < 0.95 * _log_std(lo, 3) / _log_std(lo, 0)


def test_h_moves_the_turnover():
    # larger h -> larger Gamma -> relatively more small-scale power
    assert _tilt(_cube(h=0.85)) > _tilt(_cube(h=0.55)) + 0.2
