"""The physics behind the synthetic CosmoFlow data: a log-normal dark-matter density field with
four redshift snapshots, drawn from a Gaussian random field whose power spectrum is set by four
cosmological parameters, then Poisson-sampled into particle counts per voxel.

The real CosmoFlow data are N-body simulations (particle counts per voxel at redshifts 0 to 3);
this model keeps what a network can learn from them and nothing costly:

* linear power spectrum P(k) = A k^n_s T(k)^2 with the BBKS transfer function (Bardeen et al.
  1986) and Sugiyama's (1995) shape parameter Gamma = Omega_m h exp(-Omega_b (1 + sqrt(2h) /
  Omega_m)); A is fixed by sigma_8, the rms of the linear field in spheres of 8 Mpc/h;
* one Gaussian realisation per sample, scaled per channel by the linear growth factor D(z) of a
  flat LCDM universe (so the four channels share their structure, as snapshots of one
  simulation do);
* log-normal density rho = exp(delta - sigma^2 / 2) (Coles & Jones 1991), mean one;
* counts ~ Poisson(mean_count * rho), clipped to int16 (at 1 Mpc/h voxels a handful of the
  densest z = 0 voxels per cube reach the clip; the real data are int16 too).

The Gaussian field carries the linear P(k) itself (the classic log-normal model), not the
P_G = FT[ln(1 + xi)] of log-normal mocks: the network reads log1p(counts), about that Gaussian
field, so every parameter acts on all scales rather than only on the few large-scale modes.

What each parameter changes, so that all four are learnable from one cube:
  sigma_8  the amplitude of the fluctuations (contrast and skewness of every channel);
  n_s      the slope of P(k): small-scale against large-scale power;
  Omega_m  the growth between the channels (D(z) depends on Omega_m only) and the shape Gamma;
  h        the shape Gamma (the turnover scale); with Omega_m known from the growth, Gamma
           gives h.

Units: lengths in Mpc/h, wavenumbers in h/Mpc.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import hyp2f1

# The order of the targets y, as in the real CosmoFlow data (Omega_m, sigma_8, n_s, H0).
PARAMETERS = ("omega_m", "sigma_8", "n_s", "h")

# Uniform prior ranges. Wider than the real data's (which vary each parameter by ~10-20 %), so
# that one small cube constrains every parameter: the tiny scale must learn within seconds.
DEFAULT_RANGES = {
    "omega_m": (0.20, 0.40),
    "sigma_8": (0.60, 1.00),
    "n_s": (0.80, 1.20),
    "h": (0.55, 0.85),
}
OMEGA_B = 0.049  # baryon density, held fixed (enters Gamma only)
DEFAULT_REDSHIFTS = (0.0, 0.5, 1.5, 3.0)  # the four channels

_R8 = 8.0  # Mpc/h, the sigma_8 sphere
_K_INTEGRAL = np.logspace(-4, 2, 4000)  # h/Mpc, wide enough for the top-hat integral


def parameter_ranges(cfg: dict) -> dict[str, tuple[float, float]]:
    """The prior ranges from the data config (`parameter_ranges:`), defaults elsewhere."""
    given = cfg.get("parameter_ranges") or {}
    unknown = set(given) - set(PARAMETERS)
    if unknown:
        raise ValueError(f"data.parameter_ranges: unknown parameters {sorted(unknown)}; "
                         f"known: {', '.join(PARAMETERS)}")
    ranges = {p: tuple(float(v) for v in given.get(p, DEFAULT_RANGES[p])) for p in PARAMETERS}
    for p, (lo, hi) in ranges.items():
        if not lo < hi:
            raise ValueError(f"data.parameter_ranges.{p}: need low < high, got {lo}, {hi}")
    return ranges


def normalise(params: np.ndarray, ranges: dict) -> np.ndarray:
    """Physical parameters -> targets y in [-1, 1]: y = 2 (p - low) / (high - low) - 1."""
    lo = np.array([ranges[p][0] for p in PARAMETERS])
    hi = np.array([ranges[p][1] for p in PARAMETERS])
    return 2.0 * (np.asarray(params) - lo) / (hi - lo) - 1.0


def denormalise(y: np.ndarray, ranges: dict) -> np.ndarray:
    lo = np.array([ranges[p][0] for p in PARAMETERS])
    hi = np.array([ranges[p][1] for p in PARAMETERS])
    return lo + (np.asarray(y) + 1.0) * (hi - lo) / 2.0


def shape_gamma(omega_m: float, h: float) -> float:
    """Sugiyama's (1995) shape parameter of the CDM transfer function."""
    return omega_m * h * np.exp(-OMEGA_B * (1.0 + np.sqrt(2.0 * h) / omega_m))


def bbks_transfer(k: np.ndarray, gamma: float) -> np.ndarray:
    q = np.asarray(k, dtype=np.float64) / gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (np.log1p(2.34 * q) / (2.34 * q)
             * (1 + 3.89 * q + (16.1 * q) ** 2 + (5.46 * q) ** 3 + (6.71 * q) ** 4) ** -0.25)
    return np.where(q > 0, t, 1.0)


def _tophat(x: np.ndarray) -> np.ndarray:
    return 3.0 * (np.sin(x) - x * np.cos(x)) / x**3


def linear_power(k: np.ndarray, omega_m: float, sigma_8: float, n_s: float,
                 h: float) -> np.ndarray:
    """P(k) in (Mpc/h)^3 at z = 0, normalised so the top-hat rms at 8 Mpc/h is sigma_8."""
    gamma = shape_gamma(omega_m, h)

    def shape(kk):
        return kk**n_s * bbks_transfer(kk, gamma) ** 2

    kk = _K_INTEGRAL
    integrand = kk**3 * shape(kk) * _tophat(kk * _R8) ** 2 / (2 * np.pi**2)
    sigma2_unit = np.trapz(integrand, np.log(kk))
    k = np.asarray(k, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sigma_8**2 / sigma2_unit * shape(k)
    return np.where(k > 0, p, 0.0)


def growth_factor(z, omega_m: float) -> np.ndarray:
    """Linear growth D(z) / D(0) of a flat LCDM universe (exact: a 2F1(1/3, 1; 11/6; -x))."""
    def d(a):
        return a * hyp2f1(1.0 / 3.0, 1.0, 11.0 / 6.0, -(a**3) * (1.0 - omega_m) / omega_m)

    a = 1.0 / (1.0 + np.asarray(z, dtype=np.float64))
    return d(a) / d(1.0)


@lru_cache(maxsize=8)
def _grid(size: int, box: float) -> tuple[np.ndarray, np.ndarray]:
    """|k| on the rfft grid of a periodic cube, and each mode's weight in the full grid."""
    k1 = 2 * np.pi * np.fft.fftfreq(size, d=box / size)
    kz = 2 * np.pi * np.fft.rfftfreq(size, d=box / size)
    kmag = np.sqrt(k1[:, None, None] ** 2 + k1[None, :, None] ** 2 + kz[None, None, :] ** 2)
    weight = np.full(kz.shape, 2.0)
    weight[0] = 1.0
    if size % 2 == 0:
        weight[-1] = 1.0  # the Nyquist plane is its own mirror
    return kmag, np.broadcast_to(weight, kmag.shape)


def gaussian_field(rng: np.random.Generator, size: int, box: float,
                   power: np.ndarray | None = None, **params) -> tuple[np.ndarray, float]:
    """One realisation of the linear density field on a size^3 periodic grid of side `box`,
    and its expected variance. White noise coloured in Fourier space by sqrt(P(k) / dV)."""
    kmag, weight = _grid(size, box)
    if power is None:
        power = linear_power(kmag, **params)
    cell = (box / size) ** 3
    noise = np.fft.rfftn(rng.standard_normal((size, size, size)))
    field = np.fft.irfftn(noise * np.sqrt(power / cell), s=(size, size, size))
    variance = float(np.sum(weight * power) / (cell * size**3))
    return field, variance


def sample_counts(rng: np.random.Generator, params: dict, size: int, box: float,
                  redshifts=DEFAULT_REDSHIFTS, mean_count: float = 8.0) -> np.ndarray:
    """Particle counts per voxel, shape (size, size, size, len(redshifts)), int16."""
    delta, variance = gaussian_field(rng, size, box, **params)
    growth = growth_factor(redshifts, params["omega_m"])
    counts = np.empty(delta.shape + (len(redshifts),), dtype=np.int16)
    for c, g in enumerate(growth):
        rho = np.exp(g * delta - 0.5 * g * g * variance)
        n = rng.poisson(mean_count * rho)
        counts[..., c] = np.minimum(n, np.iinfo(np.int16).max)
    return counts


def draw_parameters(rng: np.random.Generator, ranges: dict) -> dict[str, float]:
    return {p: float(rng.uniform(*ranges[p])) for p in PARAMETERS}
