"""CloudMask data: a deterministic generator of Sentinel-3 SLSTR-like scenes, and the reader.

File format (the SciML-Bench `cloud_slstr` HDF5 files, one per scene):

    refs   (H, W, 6)  float   top-of-atmosphere reflectance of S1-S6 (0.555, 0.659, 0.865,
                              1.375, 1.61, 2.25 um), nominally 0-1
    bts    (H, W, 3)  float   brightness temperature of S7-S9 (3.74, 10.85, 12.0 um), kelvin
    bayes  (H, W, 1)  int     the Bayesian cloud mask; > 0 is cloud

At full scale H x W = 1200 x 1500 (the 1 km thermal grid). The reader does what the SciML-Bench
HDF5 reader does: `refs - 0.5` and `(bts - 270) / 22`, non-finite values then set to 0, the
scene centre-cropped to a multiple of the patch size and cut into non-overlapping patches
(256 x 256 at full scale), the mask binarised (> 0). It reads real files unchanged; put them in
`train/` and `validation/`.

The generator builds each daytime scene from the physics a cloud mask has to get right:
- surfaces: ocean (dark in S1-S3, darker still in the near infrared, sun glint), land
  (vegetation bright in S3, soil brighter in S5/S6, warm by day, cooler with altitude), snow
  and sea ice (bright in the visible like cloud, dark at 1.6 um; sea ice as polygonal floes
  with warm leads), all heterogeneous at the 1 km pixel scale as real surfaces are;
- clouds from fractal noise with an optical-thickness field: low convective cloud (decks or
  broken cumulus), thin mid-level sheets, thick high cloud, thin streaky cirrus. Reflectance
  from a two-stream law; cloud-top temperature from its height through the lapse rate (low
  cloud can sit in a polar inversion, warmer than the ice below); phase from the top
  temperature (ice crystals dark at 1.6 um and 3.7 um, droplets bright); emissivity from the
  optical thickness, ice more absorbing at 12 than at 11 um, so thin cirrus is nearly
  transparent in the visible but cold in the thermal;
- the atmosphere: water vapour varying across the scene (the clear-sky split-window
  difference, and the 1.375 um band that hides the surface and low cloud unless the air is
  dry), haze and dust plumes (bright, not cloud), Rayleigh path reflectance;
- the sensor: a wider point-spread function in the thermal than in the visible, noise, and
  values quantised to the instrument's precision (which also keeps the files bit-identical
  across machines whose maths libraries differ in the last bit).
The label is the cloud that is really there (optical thickness > LABEL_TAU): what the Bayesian
mask estimates. Scale changes scene size and count only; the physics is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from ..common.data import DataError, split_files

REFS, BTS, MASK = "refs", "bts", "bayes"
N_REFS, N_BTS = 6, 3
N_CHANNELS = N_REFS + N_BTS
SPLITS = ("train", "validation")
FILE_GLOB = "*.hdf"

# -- physical constants -------------------------------------------------------------------------

C1 = 1.191042e8  # 2hc^2, W m-2 sr-1 um^4
C2 = 1.4387752e4  # hc/k, um K
TIR_WAVELENGTHS = np.array([3.742, 10.854, 12.023])  # S7, S8, S9 centres, um
SOLAR_37 = 11.5  # solar spectral irradiance at 3.74 um, W m-2 um-1
LAPSE_RATE = 6.5  # K per km
LABEL_TAU = 0.4  # optical thickness the mask calls cloud
# Heterogeneity of the surface at the 1 km pixel scale (fields, rock and forest under snow,
# ridges, whitecaps): a multiplier on the pixel-scale spreads in synthesize_scene (per unit:
# land reflectance +-20 %, land temperature +-2.5 K, snow and ice +-1.5 K, sea 0.3 K).
HETEROGENEITY = 2.0
WHITECAP = np.array([1.0, 1.0, 0.95, 0.9, 0.8, 0.7, 0.5])  # foam is white, a little darker in SWIR
EDGE_TAU = 0.8  # optical thickness at the edge of a convective cloud (a partly filled pixel)

OCEAN, LAND, SEA_ICE, SNOW = 0, 1, 2, 3

# Surface reflectance of S1..S6 plus the 3.7 um reflectance (last column). S4 (1.375 um) is the
# value the surface would have without water vapour; the atmosphere hides most of it.
SPECTRA = {
    "ocean": [0.045, 0.030, 0.012, 0.010, 0.006, 0.003, 0.02],
    "vegetation": [0.07, 0.05, 0.34, 0.30, 0.22, 0.11, 0.03],
    "soil": [0.16, 0.24, 0.30, 0.35, 0.40, 0.35, 0.13],
    "fine_snow": [0.92, 0.90, 0.84, 0.45, 0.22, 0.08, 0.015],
    "coarse_snow": [0.86, 0.83, 0.73, 0.22, 0.05, 0.015, 0.005],
    "thick_ice": [0.74, 0.70, 0.60, 0.26, 0.09, 0.04, 0.01],
    "new_ice": [0.22, 0.20, 0.14, 0.06, 0.03, 0.015, 0.01],
}
# Emissivity at 3.7, 10.8, 12 um.
EMISSIVITY = {
    "ocean": [0.975, 0.990, 0.985],
    "vegetation": [0.965, 0.980, 0.985],
    "soil": [0.820, 0.950, 0.970],
    "snow": [0.985, 0.990, 0.980],
    "ice": [0.980, 0.990, 0.980],
}
RAYLEIGH = np.array([0.045, 0.025, 0.009, 0.0, 0.002, 0.0005])  # path reflectance at the zenith
# Aerosol path reflectance per unit optical depth (S1..S6; at 1.375 um the aerosol sits under
# the water vapour) and dust's infrared absorption per unit optical depth (3.7, 10.8, 12 um).
AEROSOL_PATH = {"haze": np.array([0.11, 0.09, 0.06, 0.0, 0.025, 0.015]),
                "dust": np.array([0.09, 0.11, 0.11, 0.0, 0.09, 0.07])}
DUST_IR_ABSORPTION = np.array([0.05, 0.30, 0.18])
# Water vapour absorption per cm at 3.7, 10.8, 12 um, and how much colder than the surface air
# the vapour emits: together they give clear-sky split-window differences of ~0.5 K (dry) to
# ~4 K (tropical), which is why the split-window cirrus test needs to know the humidity.
VAPOUR_ABSORPTION = np.array([0.04, 0.09, 0.18])
VAPOUR_EMISSION_DEFICIT = 20.0  # K
VAPOUR_VARIABILITY = 0.5  # log-std of the column across a scene (moist and dry air masses)
S4_VAPOUR_ABSORPTION = 4.0  # per cm along the path: the 1.375 um band sits in a vapour band
VAPOUR_SCALE_HEIGHT = 2.0  # km

# Cloud microphysics by phase: the fraction of the conservative-scattering reflectance kept in
# S1..S6 (absorption by droplets/crystals grows with wavelength), and the infrared absorption
# optical thickness per unit visible optical thickness at 3.7, 10.8, 12 um.
CLOUD_SPECTRAL = {"water": np.array([1.0, 1.0, 1.0, 1.0, 0.90, 0.72]),
                  "ice": np.array([1.0, 1.0, 1.0, 1.0, 0.58, 0.36])}
CLOUD_IR_ABSORPTION = {"water": np.array([0.40, 0.47, 0.50]),
                       "ice": np.array([0.40, 0.45, 0.56])}
ASYMMETRY = {"water": 0.85, "ice": 0.77}
ICE_REFLECT_37 = 0.03  # large crystals absorb at 3.7 um; droplets reflect 0.08-0.25
GLACIATION = (243.0, 263.0)  # K: all ice below, all liquid above, mixed between

# Gaussian point-spread function width in 1 km pixels: visible/SWIR, thermal.
PSF_SIGMA_PX = (0.4, 0.8)
# Sensor noise: reflectance (absolute + relative), brightness temperature at 10.8/12 um (the
# 3.7 um channel's noise grows as the scene gets colder).
REF_NOISE_ABS = np.array([0.0015, 0.0015, 0.0015, 0.0030, 0.0015, 0.0015])
REF_NOISE_REL = 0.01
BT_NOISE = np.array([0.08, 0.05, 0.05])
# Quantisation of the stored values (SLSTR level-1 stores scaled integers): 1e-4 reflectance,
# 0.01 K.
REF_QUANTUM, BT_QUANTUM = 1e-4, 0.01


def planck(wavelength_um, temperature_k):
    return C1 / (wavelength_um ** 5 * np.expm1(C2 / (wavelength_um * temperature_k)))


def brightness_temperature(wavelength_um, radiance):
    return C2 / (wavelength_um * np.log1p(C1 / (wavelength_um ** 5 * radiance)))


# -- fields ---------------------------------------------------------------------------------------

def fractal_noise(rng: np.random.Generator, shape: tuple[int, int], beta: float,
                  stretch: float = 1.0, angle: float = 0.0) -> np.ndarray:
    """Gaussian random field with power spectrum k^-beta (zero mean, unit variance); `stretch`
    > 1 elongates features along `angle` (cirrus streaks). Scale-free, so a scene looks alike at
    every size."""
    h, w = shape
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.rfftfreq(w)[None, :]
    if stretch != 1.0:
        c, s = np.cos(angle), np.sin(angle)
        ku, kv = kx * c + ky * s, -kx * s + ky * c
        k = np.sqrt((ku * stretch) ** 2 + (kv / stretch) ** 2)
    else:
        k = np.hypot(kx, ky)
    k = np.maximum(k, 1.0 / max(h, w))
    amplitude = k ** (-beta / 2)
    amplitude[0, 0] = 0.0
    spectrum = rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape)
    field_ = np.fft.irfft2(spectrum * amplitude, s=shape)
    field_ -= field_.mean()
    return field_ / (field_.std() + 1e-12)


def quantile_threshold(values: np.ndarray, fraction_above: float) -> float:
    """The value above which `fraction_above` of `values` lie."""
    fraction_above = float(np.clip(fraction_above, 0.0, 1.0))
    if fraction_above <= 0.0:
        return float(values.max()) + 1.0
    return float(np.quantile(values, 1.0 - fraction_above))


def voronoi_floes(rng: np.random.Generator, shape: tuple[int, int], spacing: float):
    """Polygonal floes: for every pixel the id of the nearest seed (one seed jittered in each
    spacing x spacing cell) and the gap to the second nearest (small on the cracks between
    floes)."""
    h, w = shape
    gh, gw = int(np.ceil(h / spacing)) + 2, int(np.ceil(w / spacing)) + 2
    jitter = rng.uniform(0.0, 1.0, size=(gh, gw, 2))
    seeds_y = (np.arange(gh)[:, None] - 1 + jitter[..., 0]) * spacing
    seeds_x = (np.arange(gw)[None, :] - 1 + jitter[..., 1]) * spacing
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (yy // spacing).astype(int) + 1, (xx // spacing).astype(int) + 1
    d1 = np.full(shape, np.inf)
    d2 = np.full(shape, np.inf)
    ident = np.zeros(shape, dtype=np.int64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            gy, gx = cy + dy, cx + dx
            d = np.hypot(yy - seeds_y[gy, gx], xx - seeds_x[gy, gx])
            nearer = d < d1
            d2 = np.where(nearer, d1, np.minimum(d2, d))
            ident = np.where(nearer, gy * gw + gx, ident)
            d1 = np.where(nearer, d, d1)
    return ident, d2 - d1, gh * gw


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _mix(a, b, t):
    """Per-pixel blend of two spectra: a where t = 0, b where t = 1 -> (H, W, len(a))."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a + (b - a) * np.asarray(t)[..., None]


# -- one scene ------------------------------------------------------------------------------------

@dataclass
class Scene:
    refs: np.ndarray  # (H, W, 6) float32, as stored
    bts: np.ndarray  # (H, W, 3) float32, kelvin, as stored
    cloud: np.ndarray  # (H, W) bool: the label
    surface: np.ndarray  # (H, W) int8: OCEAN, LAND, SEA_ICE, SNOW
    tau: dict[str, np.ndarray]  # optical thickness of each cloud layer present
    surface_temperature: np.ndarray  # (H, W) K, skin temperature
    params: dict = field(default_factory=dict)


@dataclass
class _CloudLayer:
    name: str
    tau: np.ndarray
    top_temperature: np.ndarray
    top_height_km: np.ndarray
    ice_fraction: np.ndarray  # 0 liquid droplets .. 1 ice crystals, from the top temperature
    droplet_reflect_37: float  # 3.7 um reflectance of thick liquid cloud (droplet size)


def synthesize_scene(rng: np.random.Generator, height: int, width: int) -> Scene:
    """One SLSTR-like daytime scene, entirely determined by `rng`'s state."""
    shape = (height, width)
    p: dict = {}
    # Climate regime: near-surface air temperature from polar to tropical, with fronts across
    # the scene; moisture follows temperature (Clausius-Clapeyron) and varies across the scene
    # too; the sun is lower at high latitude.
    t_mean = p["t_air"] = rng.uniform(245.0, 303.0)
    polar = p["polar"] = float(np.clip((275.0 - t_mean) / 22.0, 0.0, 1.0))
    t_air = t_mean + 3.0 * fractal_noise(rng, shape, 4.5)
    vapour_mean = 0.25 + 4.5 * ((t_mean - 245.0) / 58.0) ** 2 * rng.uniform(0.6, 1.2)
    vapour = vapour_mean * np.exp(VAPOUR_VARIABILITY * fractal_noise(rng, shape, 3.5))
    p["water_vapour_cm"] = float(vapour_mean)
    sza = rng.uniform(15.0, 50.0) + 25.0 * polar
    mu0 = p["mu0"] = float(np.cos(np.radians(sza)))
    airmass = 1.0 + 1.0 / mu0  # sun to surface to the (near-nadir) sensor

    # -- surface types -------------------------------------------------------------------------
    land_fraction = p["land_fraction"] = 0.0 if rng.uniform() < 0.25 else rng.uniform(0.05, 0.8)
    land_noise = fractal_noise(rng, shape, 3.6)
    land = land_noise > quantile_threshold(land_noise, land_fraction)
    elevation_km = np.where(land, rng.uniform(0.2, 3.0) * np.clip(
        0.5 + 0.35 * fractal_noise(rng, shape, 3.0), 0.0, 1.0) ** 2, 0.0)
    vegetation = _sigmoid(1.6 * fractal_noise(rng, shape, 3.0) + rng.uniform(-2.0, 2.5))

    snow_score = elevation_km + 3.0 * polar + 0.4 * fractal_noise(rng, shape, 3.0)
    snow = land & (snow_score > rng.uniform(1.6, 3.4))
    grain = np.clip(0.5 + 0.25 * fractal_noise(rng, shape, 3.0) + rng.uniform(-0.3, 0.3)
                    + HETEROGENEITY * 0.25 * fractal_noise(rng, shape, 1.0), 0, 1)
    snow_cover = np.clip(0.8 + HETEROGENEITY * 0.2 * fractal_noise(rng, shape, 1.2), 0.3, 1.0)

    sea_ice = np.zeros(shape, dtype=bool)
    ice_thickness = np.zeros(shape)
    if polar > 0.25 and rng.uniform() < 0.85:
        spacing = rng.uniform(6.0, 24.0)
        ident, gap, n_cells = voronoi_floes(rng, shape, spacing)
        concentration = _sigmoid(2.5 * fractal_noise(rng, shape, 4.0) + 5.0 * (polar - 0.45))
        draw = rng.uniform(0.0, 1.0, n_cells)[ident]
        lead_width = rng.uniform(0.6, 2.0)
        sea_ice = ~land & (draw < concentration) & (gap > lead_width)
        floe_thickness = rng.uniform(0.35, 1.0, n_cells)[ident]
        ice_thickness = np.clip(floe_thickness + 0.05 * fractal_noise(rng, shape, 2.5)
                                + HETEROGENEITY * 0.15 * fractal_noise(rng, shape, 1.2), 0, 1)
        p["floe_spacing_px"] = spacing

    surface = np.full(shape, OCEAN, dtype=np.int8)
    surface[land] = LAND
    surface[snow] = SNOW
    surface[sea_ice] = SEA_ICE
    bare_land = land & ~snow

    # -- surface reflectance (S1..S6 + 3.7 um) ---------------------------------------------------
    land_refl = _mix(SPECTRA["soil"], SPECTRA["vegetation"], vegetation)
    land_refl *= (1.0 + 0.08 * fractal_noise(rng, shape, 2.2)
                  + HETEROGENEITY * 0.2 * fractal_noise(rng, shape, 1.0))[..., None]
    snow_refl = _mix(SPECTRA["coarse_snow"], SPECTRA["fine_snow"], grain)
    # Forest and rock show through the snow.
    snow_refl = _mix(land_refl, snow_refl, snow_cover * (1.0 - 0.55 * vegetation))
    ice_refl = _mix(SPECTRA["new_ice"], SPECTRA["thick_ice"], ice_thickness)
    ocean_refl = np.broadcast_to(np.asarray(SPECTRA["ocean"]), shape + (7,)).copy()
    ocean_refl *= (1.0 + 0.15 * fractal_noise(rng, shape, 3.0))[..., None]  # plankton, sediment
    ocean_refl += np.multiply.outer(  # whitecaps and sub-pixel swell: small, flat, pixel-scale
        np.abs(HETEROGENEITY * 0.006 * fractal_noise(rng, shape, 1.0)), WHITECAP)
    if sza < 45.0 and rng.uniform() < 0.6:  # sun glint: bright, smooth, warm at 3.7 um
        cy, cx = rng.uniform(-0.2, 1.2, 2) * np.array(shape)
        radius = rng.uniform(0.2, 0.6) * max(shape)
        yy, xx = np.mgrid[0:height, 0:width]
        glint = rng.uniform(0.04, 0.30) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2)
                                                 / (2 * radius ** 2))
        glint *= np.clip(1.0 + 0.3 * fractal_noise(rng, shape, 1.5), 0.2, None)
        ocean_refl += glint[..., None] * np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 1.0])
        p["glint"] = True
    refl = np.clip(np.select([bare_land[..., None], snow[..., None], sea_ice[..., None]],
                             [land_refl, snow_refl, ice_refl], ocean_refl), 0.0, 1.0)

    # -- surface temperature and emissivity --------------------------------------------------
    heating = rng.uniform(0.0, 15.0) * mu0 * (1.0 - 0.7 * polar)
    t_land = (t_air + heating * (1.0 - 0.6 * vegetation) + 1.5 * fractal_noise(rng, shape, 3.0)
              + HETEROGENEITY * 2.5 * fractal_noise(rng, shape, 1.0)
              - LAPSE_RATE * elevation_km)
    sst = np.maximum(271.4, t_air + rng.uniform(-1.0, 3.0) + 1.2 * fractal_noise(rng, shape, 4.0)
                     + HETEROGENEITY * 0.3 * fractal_noise(rng, shape, 1.5))
    t_snow = (np.minimum(t_land, 272.8) - rng.uniform(0.0, 4.0)
              + HETEROGENEITY * 1.5 * fractal_noise(rng, shape, 1.0))
    t_ice = np.minimum(t_air - 10.0 * polar * ice_thickness + 0.6 * fractal_noise(rng, shape, 3.0)
                       + HETEROGENEITY * 1.5 * fractal_noise(rng, shape, 1.0), 271.2)
    t_surface = np.select([bare_land, snow, sea_ice], [t_land, t_snow, t_ice], sst)
    emis = np.select(
        [bare_land[..., None], snow[..., None], sea_ice[..., None]],
        [_mix(EMISSIVITY["soil"], EMISSIVITY["vegetation"], vegetation),
         np.broadcast_to(np.asarray(EMISSIVITY["snow"]), shape + (3,)),
         np.broadcast_to(np.asarray(EMISSIVITY["ice"]), shape + (3,))],
        np.broadcast_to(np.asarray(EMISSIVITY["ocean"]), shape + (3,)))

    # -- clear-sky top-of-atmosphere signal --------------------------------------------------
    # Thermal: surface emission plus reflected sky, through a moist layer below the clouds.
    wl = TIR_WAVELENGTHS
    transmittance = np.exp(-VAPOUR_ABSORPTION * vapour[..., None])
    t_sky = (t_air - 45.0)[..., None]
    t_atmosphere = (t_air - VAPOUR_EMISSION_DEFICIT)[..., None]
    radiance = emis * planck(wl, t_surface[..., None]) + (1 - emis) * planck(wl, t_sky)
    radiance = transmittance * radiance + (1 - transmittance) * planck(wl, t_atmosphere)
    solar37 = SOLAR_37 * mu0 / np.pi  # reflected radiance per unit reflectance, above the air
    radiance[..., 0] += refl[..., 6] * solar37 * transmittance[..., 0] ** 2
    # Visible/SWIR: the 1.375 um band sees the surface only through a dry atmosphere.
    toa_refl = refl[..., :6].copy()
    toa_refl[..., 3] *= np.exp(-S4_VAPOUR_ABSORPTION * vapour * airmass)

    # Aerosol in the boundary layer (haze everywhere, sometimes a dust plume): bright in the
    # visible, hazy, not cloud. Dust absorbs more at 10.8 than at 12 um.
    haze = rng.uniform(0.03, 0.35) * np.exp(0.5 * fractal_noise(rng, shape, 4.0))
    dust = np.zeros(shape)
    if polar < 0.5 and rng.uniform() < 0.3:
        plume = fractal_noise(rng, shape, 4.5)
        dust = rng.uniform(0.5, 2.5) * np.clip(plume - quantile_threshold(
            plume, rng.uniform(0.2, 0.5)), 0.0, None)
        p["dust"] = True
    aerosol_refl = (np.multiply.outer(haze, AEROSOL_PATH["haze"])
                    + np.multiply.outer(dust, AEROSOL_PATH["dust"])) / np.sqrt(mu0)
    toa_refl = aerosol_refl + np.exp(-0.2 * (haze + dust) * airmass)[..., None] * toa_refl
    dust_emiss = 1.0 - np.exp(-np.multiply.outer(dust, DUST_IR_ABSORPTION))
    radiance = (1 - dust_emiss) * radiance + dust_emiss * planck(
        wl, (t_air - 3.0 * LAPSE_RATE)[..., None])

    # -- clouds --------------------------------------------------------------------------------
    layers: list[_CloudLayer] = []
    if rng.uniform() < 0.85:
        broken = rng.uniform() < 0.35  # fair-weather cumulus: many small cells
        layers.append(_make_layer(
            rng, shape, "low", cover=rng.uniform(0.1, 0.6),
            beta=rng.uniform(1.8, 2.4) if broken else rng.uniform(2.6, 3.4),
            tau_core=rng.uniform(3, 15) if broken else rng.uniform(4, 40),
            height_km=rng.uniform(0.5, 2.5), t_air=t_air, polar=polar))
    if rng.uniform() < 0.5:
        layers.append(_make_layer(rng, shape, "mid", cover=rng.uniform(0.1, 0.4),
                                  beta=rng.uniform(2.8, 3.4), tau_core=rng.uniform(0.8, 3.0),
                                  height_km=rng.uniform(2.5, 6.0), t_air=t_air, polar=polar,
                                  sheet=True))
    if rng.uniform() < 0.35:
        layers.append(_make_layer(rng, shape, "high", cover=rng.uniform(0.05, 0.35),
                                  beta=rng.uniform(3.0, 3.8), tau_core=rng.uniform(8, 50),
                                  height_km=rng.uniform(6.0, 11.0), t_air=t_air, polar=polar))
    if rng.uniform() < 0.7:
        layers.append(_make_layer(rng, shape, "cirrus", cover=rng.uniform(0.1, 0.45),
                                  beta=rng.uniform(3.0, 3.6), tau_core=rng.uniform(0.5, 2.0),
                                  height_km=rng.uniform(8.0, 13.0), t_air=t_air, polar=polar,
                                  sheet=True, stretch=rng.uniform(2.0, 4.0),
                                  angle=rng.uniform(0, np.pi)))
    for layer in layers:  # bottom to top
        toa_refl, radiance = _add_cloud_layer(layer, toa_refl, radiance, vapour, airmass,
                                               solar37)
    p["layers"] = [layer.name for layer in layers]

    toa_refl = toa_refl + RAYLEIGH * (1.0 / mu0) ** 0.5

    # -- sensor ------------------------------------------------------------------------------
    # Point-spread functions: the thermal channels see a wider footprint than the visible ones
    # (500 m detectors aggregated to the 1 km grid), so cloud edges blur more in the thermal.
    toa_refl = gaussian_filter(toa_refl, (PSF_SIGMA_PX[0], PSF_SIGMA_PX[0], 0), mode="reflect")
    radiance = gaussian_filter(radiance, (PSF_SIGMA_PX[1], PSF_SIGMA_PX[1], 0), mode="reflect")
    toa_refl = toa_refl + rng.standard_normal(toa_refl.shape) * (
        REF_NOISE_ABS + REF_NOISE_REL * np.abs(toa_refl))
    bts = brightness_temperature(wl, radiance)
    bt_noise = BT_NOISE * np.stack([np.exp((280.0 - bts[..., 0]) / 18.0),
                                    np.ones(shape), np.ones(shape)], axis=-1)
    bts = bts + rng.standard_normal(bts.shape) * bt_noise
    refs = (np.round(np.clip(toa_refl, 0.0, 1.5) / REF_QUANTUM) * REF_QUANTUM).astype(np.float32)
    bts = (np.round(bts / BT_QUANTUM) * BT_QUANTUM).astype(np.float32)

    total_tau = sum((layer.tau for layer in layers), np.zeros(shape))
    return Scene(refs=refs, bts=bts, cloud=total_tau > LABEL_TAU, surface=surface,
                 tau={layer.name: layer.tau for layer in layers},
                 surface_temperature=t_surface, params=p)


def _make_layer(rng, shape, name, *, cover, beta, tau_core, height_km, t_air, polar,
                sheet=False, stretch=1.0, angle=0.0) -> _CloudLayer:
    """A cloud layer: fractal noise above a threshold set by the cover fraction. Optical
    thickness, smoothly textured, either grows from the edge to thick cores (a 1 km pixel on
    the edge of a cloud deck is partly filled: EDGE_TAU) or saturates across a thin sheet; the
    top rises where the cloud is thick; the phase follows the top temperature."""
    n = fractal_noise(rng, shape, beta, stretch=stretch, angle=angle)
    q = quantile_threshold(n, cover)
    excess = np.clip(n - q, 0.0, None)
    texture = np.exp(0.25 * fractal_noise(rng, shape, 3.0))
    inside = n > q
    if sheet:  # thin sheets (cirrus, altostratus): the optical thickness saturates at tau_core
        tau = tau_core * -np.expm1(-excess / 0.3) * texture
    else:  # convective: thickest in the cores
        tau = (EDGE_TAU + tau_core * excess ** 1.5) * texture * inside

    top = height_km + 0.4 * fractal_noise(rng, shape, 3.5) + 0.25 * np.log1p(tau)
    top = np.clip(top, 0.2, None)
    if name == "low":
        # Polar boundary layers often carry an inversion: low cloud tops warmer than the ice.
        lapse = LAPSE_RATE * (1.0 - 0.6 * polar)
        t_top = t_air + polar * rng.uniform(0.0, 8.0) - lapse * top
    else:
        t_top = t_air - LAPSE_RATE * top
    t_top = np.maximum(t_top, 195.0)
    # Supercooled droplets survive to about -10 C; below about -30 C clouds are glaciated.
    ice_fraction = np.clip((GLACIATION[1] - t_top) / (GLACIATION[1] - GLACIATION[0]), 0.0, 1.0)
    return _CloudLayer(name, tau, t_top, top, ice_fraction, rng.uniform(0.08, 0.25))


def _by_phase(table: dict, ice_fraction: np.ndarray) -> np.ndarray:
    """Per-pixel blend of a liquid and an ice property -> (H, W, ...)."""
    water, ice = np.asarray(table["water"], float), np.asarray(table["ice"], float)
    f = ice_fraction.reshape(ice_fraction.shape + (1,) * water.ndim)
    return water + (ice - water) * f


def _add_cloud_layer(layer: _CloudLayer, below_refl, below_radiance, vapour, airmass,
                     solar37):
    """Put one cloud layer over what lies below it (adding method, two-stream reflectance;
    thermal emission from the cloud top weighted by its emissivity; at 3.7 um the cloud also
    reflects sunlight, which reaches its top through little water vapour)."""
    tau = layer.tau[..., None]
    f_ice = layer.ice_fraction
    g = _by_phase(ASYMMETRY, f_ice)[..., None]
    r_cons = (1 - g) * tau / (2.0 + (1 - g) * tau)  # conservative scattering
    r_cloud = r_cons * _by_phase(CLOUD_SPECTRAL, f_ice)
    # The 1.375 um band: water vapour above the cloud top dims the cloud; high cloud is bright.
    above = np.exp(-layer.top_height_km / VAPOUR_SCALE_HEIGHT)
    r_cloud[..., 3] *= np.exp(-S4_VAPOUR_ABSORPTION * vapour * above * airmass)
    trans = 1.0 - r_cons
    refl = r_cloud + trans ** 2 * below_refl / (1.0 - r_cons * below_refl)

    emiss = 1.0 - np.exp(-tau * _by_phase(CLOUD_IR_ABSORPTION, f_ice))
    reflect_37 = layer.droplet_reflect_37 + (ICE_REFLECT_37 - layer.droplet_reflect_37) * f_ice
    r37 = reflect_37 * (1.0 - np.exp(-layer.tau / 3.0))
    emiss[..., 0] *= 1.0 - reflect_37
    b_top = planck(TIR_WAVELENGTHS, layer.top_temperature[..., None])
    radiance = (1.0 - emiss) * below_radiance + emiss * b_top
    radiance[..., 0] += r37 * (solar37 - below_radiance[..., 0])
    return refl, radiance


# -- files ---------------------------------------------------------------------------------------

def scene_shape(cfg: dict) -> tuple[int, int]:
    return int(cfg["scene_height"]), int(cfg["scene_width"])


def file_name(index: int) -> str:
    """A name in the SLSTR level-1 style (S3A_SL_1_RBT____<start>_<stop>_...): frames of 3
    minutes from a fixed epoch, so the name depends on the index only."""
    start = np.datetime64("2020-06-01T00:00:00") + np.timedelta64(180 * index, "s")
    stop = start + np.timedelta64(180, "s")
    fmt = lambda t: str(t).replace("-", "").replace(":", "")  # noqa: E731
    return f"S3A_SL_1_RBT____{fmt(start)}_{fmt(stop)}_SCIPERF_{index:06d}.hdf"


def generate(out_dir: Path, cfg: dict, seed: int, part: int = 0, parts: int = 1) -> list[Path]:
    """Write scenes index % parts == part; scene i comes from (seed, i) alone."""
    import h5py

    out_dir = Path(out_dir)
    n_train, n_val = int(cfg["train_scenes"]), int(cfg["validation_scenes"])
    height, width = scene_shape(cfg)
    written = []
    for index in range(part, n_train + n_val, parts):
        split = "train" if index < n_train else "validation"
        folder = out_dir / split
        folder.mkdir(parents=True, exist_ok=True)
        scene = synthesize_scene(np.random.default_rng([seed, index]), height, width)
        path = folder / file_name(index)
        tmp = path.with_suffix(".hdf.partial")
        with h5py.File(tmp, "w", track_order=False) as f:
            f.create_dataset(REFS, data=scene.refs, track_times=False)
            f.create_dataset(BTS, data=scene.bts, track_times=False)
            f.create_dataset(MASK, data=scene.cloud.astype(np.uint8)[..., None],
                             track_times=False)
        tmp.replace(path)  # a crash never leaves a half-written file under the real name
        written.append(path)
    return written


def list_splits(data_dir: Path, cfg: dict) -> dict[str, list[Path]]:
    return split_files(data_dir, SPLITS, (FILE_GLOB,), "a CloudMask dataset",
                       "scene files (*.hdf)")


def patch_grid(height: int, width: int, patch: int) -> tuple[int, int]:
    return height // patch, width // patch


def check_file(path: Path, cfg: dict) -> int:
    """Read the whole file; every dataset must be there with the scale's shape, a numeric dtype
    and plausible values. Returns the number of patches the scene yields."""
    refs, bts, mask = read_scene(path, expected_shape=scene_shape(cfg))
    rows, cols = patch_grid(*refs.shape[:2], int(cfg["patch_size"]))
    return rows * cols


# Physical bounds on finite values: wide enough for any real scene, narrow enough to catch a
# file that stores something else (kelvin vs Celsius, counts vs reflectance, swapped datasets).
_RANGES = {REFS: (-0.5, 5.0, "reflectance"), BTS: (100.0, 400.0, "brightness temperature (K)")}


def read_scene(path, expected_shape: tuple[int, int] | None = None):
    """(refs, bts, mask) of one file as float32/float32/bool arrays (mask (H, W)); DataError
    naming the file and the dataset key on anything wrong."""
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataError(path, f"cannot be opened as HDF5 (truncated or not an HDF5 file): "
                              f"{_h5_reason(e)}") from None
    with f:
        arrays = {}
        for key, channels in ((REFS, N_REFS), (BTS, N_BTS), (MASK, 1)):
            if key not in f:
                present = ", ".join(sorted(f.keys())) or "none"
                raise DataError(path, f"dataset missing (datasets present: {present}); an SLSTR "
                                      f"scene file holds {REFS}, {BTS} and {MASK}", key=key)
            try:
                ds = f[key]
            except (KeyError, OSError, RuntimeError, ValueError) as e:
                raise DataError(path, f"cannot be read (truncated or corrupt file): "
                                      f"{_h5_reason(e)}", key=key) from None
            if not isinstance(ds, h5py.Dataset):
                raise DataError(path, "is a group, expected a dataset", key=key)
            shape = ds.shape
            if key == MASK and len(shape) == 2:
                shape = shape + (1,)
            want = (expected_shape or shape[:2]) + (channels,)
            if len(shape) != 3 or tuple(shape) != tuple(want):
                raise DataError(path, f"shape {ds.shape}, expected {want}", key=key)
            kind = ds.dtype.kind
            if key == MASK:
                if kind not in "biuf":
                    raise DataError(path, f"dtype {ds.dtype} is not numeric", key=key)
            elif kind != "f":
                raise DataError(path, f"dtype {ds.dtype}, expected floating point", key=key)
            try:
                arrays[key] = ds[()]
            except (OSError, RuntimeError, ValueError) as e:
                raise DataError(path, f"cannot be read (truncated or corrupt file): "
                                      f"{_h5_reason(e)}", key=key) from None
    heights = {k: a.shape[:2] for k, a in arrays.items()}
    if len(set(heights.values())) != 1:
        raise DataError(path, f"datasets disagree in size: {heights}")
    for key, (lo, hi, what) in _RANGES.items():
        values = arrays[key]
        finite = np.isfinite(values)
        if not finite.any():
            raise DataError(path, "holds no finite values", key=key)
        vmin, vmax = float(values[finite].min()), float(values[finite].max())
        if vmin < lo or vmax > hi:
            raise DataError(path, f"values {vmin:.4g}..{vmax:.4g} are not a {what} "
                                  f"(expected within {lo}..{hi})", key=key)
    mask = arrays[MASK].reshape(arrays[MASK].shape[:2])
    mask = np.nan_to_num(mask.astype(np.float64), nan=0.0) > 0
    return arrays[REFS].astype(np.float32), arrays[BTS].astype(np.float32), mask


def _h5_reason(e: Exception) -> str:
    text = (e.args[0] if isinstance(e, KeyError) and e.args else str(e)).strip()
    return (text or type(e).__name__).split("\n")[0]


# The SciML-Bench HDF5 reader's fixed scaling: reflectance - 0.5, (kelvin - 270) / 22; a
# fixed affine map keeps the physics (a cold pixel stays cold whatever the rest of the scene).
REF_OFFSET, BT_OFFSET, BT_SCALE = 0.5, 270.0, 22.0


def normalise(refs: np.ndarray, bts: np.ndarray) -> np.ndarray:
    """Model input (H, W, 9) float32: refs - 0.5 and (bts - 270) / 22, non-finite values then
    set to 0, as the SciML-Bench reader does."""
    image = np.concatenate([refs.astype(np.float32) - REF_OFFSET,
                            (bts.astype(np.float32) - BT_OFFSET) / BT_SCALE], axis=-1)
    return np.where(np.isfinite(image), image, np.float32(0.0))


def to_physical(channel: int, value: float) -> float:
    """A model-input value of one channel back in physical units (reflectance or kelvin)."""
    return value + REF_OFFSET if channel < N_REFS else value * BT_SCALE + BT_OFFSET


def to_patches(image: np.ndarray, patch: int) -> np.ndarray:
    """Centre-crop to a multiple of the patch size, cut into non-overlapping patches
    (row-major) -> (n, patch, patch, C)."""
    h, w, c = image.shape
    rows, cols = patch_grid(h, w, patch)
    top, left = (h - rows * patch) // 2, (w - cols * patch) // 2
    crop = image[top:top + rows * patch, left:left + cols * patch]
    crop = crop.reshape(rows, patch, cols, patch, c).transpose(0, 2, 1, 3, 4)
    return crop.reshape(rows * cols, patch, patch, c)


def load_patches(path, patch: int, expected_shape=None) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs and labels of one scene: (n, P, P, 9) float32 and (n, P, P, 1) float32."""
    refs, bts, mask = read_scene(path, expected_shape)
    x = to_patches(normalise(refs, bts), patch)
    y = to_patches(mask[..., None].astype(np.float32), patch)
    return x, y


def make_dataset(files: list[Path], cfg: dict, *, batch_size: int, training: bool,
                 shuffle_seed: int | None):
    """Patches of these scenes as (x, y) batches: x (B, P, P, 9) scaled channels, y
    (B, P, P, 1) in {0, 1}. Training: files and patches shuffled from shuffle_seed, anew on
    every pass, random flips and quarter turns (clouds, ice and land have no preferred
    orientation), full batches only."""
    import tensorflow as tf

    patch = int(cfg["patch_size"])
    expected = scene_shape(cfg)

    def load(path):
        return load_patches(path.decode(), patch, expected)

    paths = [str(p) for p in files]
    ds = tf.data.Dataset.from_tensor_slices(paths)
    if training:
        ds = ds.shuffle(len(paths), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda p: tf.numpy_function(load, [p], (tf.float32, tf.float32),
                                            stateful=False),
                num_parallel_calls=2, deterministic=True)
    ds = ds.map(lambda x, y: (tf.ensure_shape(x, (None, patch, patch, N_CHANNELS)),
                              tf.ensure_shape(y, (None, patch, patch, 1))))
    ds = ds.unbatch()
    if training:
        ds = ds.shuffle(int(cfg.get("shuffle_buffer", 1024)), seed=shuffle_seed,
                        reshuffle_each_iteration=True)
        if cfg.get("augment", True):
            ds = ds.enumerate().map(_augment(shuffle_seed), num_parallel_calls=1,
                                    deterministic=True)
    return ds.batch(batch_size, drop_remainder=training).prefetch(1)


def _augment(seed):
    """Random flip and quarter turn per patch, drawn from (seed, element index): deterministic,
    and the same for x and y."""
    import tensorflow as tf

    def fn(index, xy):
        x, y = xy
        both = tf.concat([x, y], axis=-1)
        key = tf.stack([tf.constant(seed or 0, tf.int64), index])
        k = tf.random.stateless_uniform((), seed=key, minval=0, maxval=8, dtype=tf.int32)
        both = tf.image.rot90(both, k % 4)
        both = tf.cond(k >= 4, lambda: tf.reverse(both, axis=[1]), lambda: both)
        return both[..., :N_CHANNELS], both[..., N_CHANNELS:]

    return fn
