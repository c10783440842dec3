"""Procedural galaxies for the rotation benchmark: one morphological class per galaxy type a
rotation does not change, rendered at any position angle, observed in the g, r and z bands.

Every galaxy is drawn in its own frame (x' along its major axis, y' along its minor axis), so
rendering it at position angle theta only rotates the sampling grid: the same galaxy at any
angle, with no interpolation of the image. The components:

* Sersic (1963) profiles I(r) = exp(-b_n ((r / R_e)^(1/n) - 1)) on elliptical radii, b_n from
  Ciotti & Bertin (1999): ellipticals (n of 3 to 5), bulges (n of 1.5 to 3), bars (n 0.5, flat
  and elongated), the nuclei of mergers;
* exponential disks exp(-R / h) in the disk plane, projected by the axis ratio q = cos i; edge-on
  disks with a sech^2 vertical profile and a dust lane (extinction strongest in g);
* logarithmic spiral arms phi = (ln R / R_0) / tan(pitch) on the disk, m of them (2 for grand
  design, 3 or 4 for multi-armed), of random pitch (tight to loose), width and contrast, bluer
  than the disk, with star-forming knots (blue point sources) strung along them; barred spirals'
  arms start at the bar's ends;
* mergers: two nuclei along the major axis with tidal tails (curved streams of faint light).

Colours are per-component spectral energy distributions over (g, r, z): red for ellipticals
and bulges, bluer for disks and arms, bluest for the knots. Each galaxy gets a random size,
luminosity, axis ratio, handedness (the arms' winding sense) and redshift, which shrinks it and
dims its surface brightness by (1 + z)^-4. Observation: a Gaussian PSF per band, sky
background, Poisson noise on sky plus galaxy, sky subtraction, and the asinh stretch (Lupton et
al. 2004) into uint8, as Galaxy10 DECaLS stores its images.

"Upright" (the training split): the major axis at position angle 0, i.e. horizontal: disks and
bars lie along x, barred spirals' arms start at the bar's ends on x, unbarred spirals' arms start
on the line of nodes, mergers' nuclei sit on x. Angles are counter-clockwise on the displayed
image (rows downwards), about the centre of the pixel grid ((S - 1) / 2, (S - 1) / 2), so a
quarter turn of the angle is exactly np.rot90 of the pixel grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

# The classes, in label order (the `ans` values). Galaxy10 DECaLS's nearest classes are named in
# docs/rotation.md.
CLASSES = ("smooth_round", "smooth_elongated", "edge_on_disk", "spiral_two_arm",
           "spiral_many_arm", "barred_spiral", "merger")

# Spectral energy distributions: relative flux in (g, r, z) per unit of r-band flux.
SED = {
    "red": np.array([0.42, 1.0, 1.55]),  # old stars: ellipticals, bulges, bars
    "disk": np.array([0.70, 1.0, 1.20]),
    "arm": np.array([1.00, 1.0, 0.90]),  # young stars
    "knot": np.array([1.60, 1.0, 0.65]),  # HII regions
    "tail": np.array([0.75, 1.0, 1.10]),
}
DUST_G_R_Z = np.array([1.0, 0.72, 0.42])  # relative extinction, a Milky Way-like curve


@dataclass(frozen=True)
class Observing:
    """The `data.observing` section of a config: sizes are fractions of the image side, so
    every scale shows the same sky at a different resolution."""
    psf_fwhm: tuple[float, float]  # per image, of the side
    sky: float  # sky level per pixel, counts (the noise floor)
    flux: tuple[float, float]  # total r-band counts of a galaxy at z_ref (log-uniform)
    redshift: tuple[float, float]  # uniform; size and surface brightness scale with it
    z_ref: float  # the redshift at which the class sizes below hold
    oversample: int  # sub-pixels per pixel side when rendering
    stretch_soft: float  # asinh softening, counts
    stretch_max: float  # counts mapped to 255
    centre_jitter: float  # sigma of the galaxy centre's offset, of the side

    @classmethod
    def from_cfg(cls, raw: dict) -> "Observing":
        from ..common.config import config_section

        return config_section(cls, raw, "data.observing", "the survey's PSF, sky and noise")


# -- components: each an intensity over galaxy-frame coordinates (x', y'), in units of the side --

@dataclass
class Component:
    kind: str  # sersic | disk | edge_on | tail
    flux: float  # r-band counts
    sed: str
    params: dict = field(default_factory=dict)


def sersic_b(n: float) -> float:
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n * n)


def sersic(x, y, re, n, q, cx=0.0, cy=0.0, angle=0.0):
    c, s = math.cos(angle), math.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    r = np.sqrt(u * u + (v / q) ** 2)
    return np.exp(-sersic_b(n) * ((r / re) ** (1.0 / n) - 1.0))


def disk_plane(x, y, q):
    """Deprojected polar coordinates of a disk inclined about x' (the line of nodes)."""
    yd = y / q
    return np.sqrt(x * x + yd * yd), np.arctan2(yd, x)


def truncation(r, rmax):
    """Disks end: a smooth cut-off over the last fifth of rmax."""
    return np.clip((rmax - r) / (0.2 * rmax), 0.0, 1.0) ** 2


def arm_pattern(r, phi, p) -> np.ndarray:
    """m logarithmic arms, 1 on an arm's ridge and 0 between arms, faded in inside r0 (where a
    bar or the bulge is) and out beyond the disk; p: arms, pitch_deg, hand, r0, sharpness."""
    winding = p["hand"] * np.log(np.maximum(r, 1e-6) / p["r0"]) / math.tan(
        math.radians(p["pitch_deg"]))
    ridge = (0.5 + 0.5 * np.cos(p["arms"] * (phi - winding))) ** p["sharpness"]
    fade_in = 1.0 / (1.0 + np.exp(-(r - p["r0"]) / (0.25 * p["r0"])))
    return ridge * fade_in


def component_image(comp: Component, frame: "Frame", separable: bool = True) -> np.ndarray:
    p = comp.params
    gaussians = frame.gaussians if separable else frame.gaussians_direct
    x, y = frame.x, frame.y
    if comp.kind == "sersic":
        return sersic(x, y, p["re"], p["n"], p["q"], p.get("cx", 0.0), p.get("cy", 0.0),
                      p.get("angle", 0.0))
    if comp.kind == "disk":  # exponential disk, optionally carrying arms
        r, phi = disk_plane(x, y, p["q"])
        smooth = np.exp(-r / p["h"]) * truncation(r, p["rmax"])
        if "arms" not in p:
            return smooth
        return smooth * ((1.0 - p["contrast"]) + p["contrast"] * arm_pattern(r, phi, p))
    if comp.kind == "arms":  # the arms' own (bluer) light
        r, phi = disk_plane(x, y, p["q"])
        return np.exp(-r / p["h"]) * truncation(r, p["rmax"]) * arm_pattern(r, phi, p)
    if comp.kind == "edge_on":
        z = (y - p["offset"]) / p["hz"]
        return np.exp(-np.abs(x) / p["h"]) / np.cosh(z) ** 2 * truncation(np.abs(x), p["rmax"])
    if comp.kind == "knots":  # star-forming regions: Gaussians at galaxy-frame positions
        return gaussians(p["xy"], np.full(len(p["xy"]), p["sigma"]), p["weights"])
    if comp.kind == "tail":  # a tidal stream: Gaussians strung along a curve, widening outwards
        return gaussians(p["xy"], p["sigmas"], p["weights"])
    raise ValueError(f"unknown component kind {comp.kind!r}")


@dataclass
class Galaxy:
    label: int
    components: list[Component]
    dust: dict | None  # edge-on dust lane: tau (g band), width, offset, extent (galaxy frame)
    redshift: float
    centre: tuple[float, float]  # offset of the centre on the image, of the side (x right, y up)


# -- drawing a galaxy of a class ------------------------------------------------------------------

def _spiral_arms(rng, h, q, arms, r0, hand):
    return {"h": h, "q": q, "arms": arms, "pitch_deg": rng.uniform(12.0, 35.0), "hand": hand,
            "r0": r0, "sharpness": rng.uniform(1.5, 4.0), "rmax": h * rng.uniform(3.0, 4.5)}


def _knots_on_arms(rng, arm_params, count, h):
    """Positions (galaxy frame) of star-forming knots scattered about the arms' ridges."""
    p = arm_params
    r = p["r0"] + np.minimum(rng.gamma(2.0, 0.6 * h, size=count), 2.5 * h)
    j = rng.integers(0, p["arms"], size=count)
    winding = p["hand"] * np.log(r / p["r0"]) / math.tan(math.radians(p["pitch_deg"]))
    phi = winding + 2 * math.pi * j / p["arms"] + rng.normal(0.0, 0.12, size=count)
    xy = np.stack([r * np.cos(phi), r * np.sin(phi) * p["q"]], axis=1)
    return xy, rng.lognormal(0.0, 0.5, size=count)


def draw_galaxy(rng: np.random.Generator, label: int, obs: Observing) -> Galaxy:
    """One galaxy of class `label` in its own frame (all lengths in units of the image side)."""
    name = CLASSES[label]
    z = rng.uniform(*obs.redshift)
    size = obs.z_ref / z  # angular size scales as 1/z at these low redshifts
    dimming = ((1 + obs.z_ref) / (1 + z)) ** 4 * size ** 2  # surface brightness x area
    flux = math.exp(rng.uniform(math.log(obs.flux[0]), math.log(obs.flux[1]))) * dimming
    hand = rng.choice((-1.0, 1.0))
    comps: list[Component] = []
    dust = None
    if name in ("smooth_round", "smooth_elongated"):
        q = rng.uniform(0.8, 1.0) if name == "smooth_round" else rng.uniform(0.28, 0.5)
        comps.append(Component("sersic", flux, "red", {
            "re": rng.uniform(0.07, 0.13) * size, "n": rng.uniform(3.0, 5.0), "q": q}))
    elif name == "edge_on_disk":
        h = rng.uniform(0.09, 0.13) * size
        hz = h * rng.uniform(0.16, 0.24)
        bulge = rng.uniform(0.05, 0.3)
        comps.append(Component("edge_on", flux * (1 - bulge), "disk",
                               {"h": h, "hz": hz, "offset": 0.0, "rmax": h * rng.uniform(3.0, 4.0)}))
        comps.append(Component("sersic", flux * bulge, "red", {
            "re": h * rng.uniform(0.25, 0.45), "n": rng.uniform(1.5, 3.0),
            "q": rng.uniform(0.55, 0.8)}))
        dust = {"tau": rng.uniform(3.0, 5.0), "width": hz * rng.uniform(0.7, 1.0),
                "offset": hz * rng.uniform(-0.4, 0.4), "extent": 2.5 * h}
    elif name in ("spiral_two_arm", "spiral_many_arm", "barred_spiral"):
        h = rng.uniform(0.11, 0.16) * size
        q = rng.uniform(0.55, 1.0)
        bulge = rng.uniform(0.08, 0.3)
        arms = 2 if name != "spiral_many_arm" else int(rng.choice((3, 4)))
        if name == "barred_spiral":
            bar_length = h * rng.uniform(1.1, 1.8)
            bar = rng.uniform(0.15, 0.28)
            p = _spiral_arms(rng, h, q, arms, bar_length, hand)
            # A bar: a flat (n = 0.5), thin Sersic along the line of nodes, projected.
            comps.append(Component("sersic", flux * bar, "red", {
                "re": 0.6 * bar_length, "n": 0.5, "q": rng.uniform(0.18, 0.3) * q}))
        else:
            bar = 0.0
            p = _spiral_arms(rng, h, q, arms, h * rng.uniform(0.5, 0.9), hand)
        arm_light = rng.uniform(0.3, 0.45)
        knots = rng.uniform(0.04, 0.1)
        disk = 1.0 - bulge - bar - arm_light - knots
        comps.append(Component("sersic", flux * bulge, "red", {
            "re": h * rng.uniform(0.2, 0.4), "n": rng.uniform(1.5, 3.0),
            "q": rng.uniform(0.8, 1.0) * max(q, 0.7)}))
        comps.append(Component("disk", flux * disk, "disk",
                               {**p, "contrast": rng.uniform(0.3, 0.6)}))
        comps.append(Component("arms", flux * arm_light, "arm", p))
        xy, weights = _knots_on_arms(rng, p, int(rng.integers(8, 25)), h)
        comps.append(Component("knots", flux * knots, "knot",
                               {"xy": xy, "weights": weights, "sigma": 0.006 * size}))
    elif name == "merger":
        sep = rng.uniform(0.2, 0.34) * size
        ratio = rng.uniform(0.35, 1.0)  # flux of the second nucleus / the first
        first = flux / (1 + ratio) * 0.8
        centres = ((-sep * ratio / (1 + ratio), 0.0), (sep / (1 + ratio), 0.0))
        for (cx, cy), f in zip(centres, (first, first * ratio)):
            comps.append(Component("sersic", f, rng.choice(("red", "disk")), {
                "re": rng.uniform(0.045, 0.08) * size, "n": rng.uniform(1.0, 4.0),
                "q": rng.uniform(0.5, 1.0), "cx": cx,
                "cy": cy + rng.normal(0.0, 0.01 * size), "angle": rng.uniform(0, math.pi)}))
        # Tidal tails: one from each nucleus, curling away in opposite directions (the
        # handedness of the encounter), faint and widening.
        for (cx, cy), side in zip(centres, (-1.0, 1.0)):
            n = 24
            t = np.linspace(0.0, 1.0, n)
            length = rng.uniform(0.18, 0.32) * size
            curl = hand * rng.uniform(1.2, 2.4)
            start = (math.pi if side < 0 else 0.0) + rng.normal(0.0, 0.3)
            ang = start + curl * t
            rad = 0.02 * size + length * t
            xy = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)
            comps.append(Component("tail", flux * 0.15 * rng.uniform(0.6, 1.0), "tail", {
                "xy": xy, "sigmas": (0.012 + 0.025 * t) * size,
                "weights": np.exp(-1.5 * t)}))
    else:
        raise ValueError(f"unknown class {label}")
    jitter = rng.normal(0.0, obs.centre_jitter, size=2)
    return Galaxy(label, comps, dust, z, (float(jitter[0]), float(jitter[1])))


# -- rendering and observing ---------------------------------------------------------------------

@dataclass
class Frame:
    """The sub-pixel grid of a size x size image whose galaxy lies at position angle angle_deg
    and centre offset `centre`, in units of the side. Image x runs along columns, y up the rows
    (against the row index); (x, y) of the grid in the galaxy frame. A multiple of 90 degrees
    takes its cosine and sine exact, so a quarter turn maps the grid onto itself exactly."""
    u: np.ndarray  # sub-pixel centres along a side, symmetric about the grid's centre
    centre: tuple[float, float]
    cos: float
    sin: float
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, size: int, oversample: int, angle_deg: float, centre) -> "Frame":
        n = size * oversample
        u = (np.arange(n) - (n - 1) / 2.0) / n
        quarter = angle_deg / 90.0
        if quarter == round(quarter):
            c, s = ((1, 0), (0, 1), (-1, 0), (0, -1))[int(round(quarter)) % 4]
        else:
            a = math.radians(angle_deg)
            c, s = math.cos(a), math.sin(a)
        x, y = np.meshgrid(u - centre[0], -u - centre[1])  # rows go down the image, y up
        return cls(u, centre, c, s, x * c + y * s, -x * s + y * c)

    def gaussians(self, xy: np.ndarray, sigmas: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Sum of round Gaussians at galaxy-frame positions xy: separable in the image's own
        axes, so one matrix product (rows x Gaussians) (Gaussians x columns)."""
        xy = np.asarray(xy).reshape(-1, 2)
        # galaxy frame -> image frame (the inverse rotation), then the centre offset
        ix = xy[:, 0] * self.cos - xy[:, 1] * self.sin + self.centre[0]
        iy = xy[:, 0] * self.sin + xy[:, 1] * self.cos + self.centre[1]
        s2 = 2.0 * np.asarray(sigmas)[:, None] ** 2
        along_x = np.exp(-(self.u[None, :] - ix[:, None]) ** 2 / s2)
        along_y = np.exp(-(-self.u[None, :] - iy[:, None]) ** 2 / s2)  # row r sits at y = -u
        return (along_y * np.asarray(weights)[:, None]).T @ along_x

    def gaussians_direct(self, xy: np.ndarray, sigmas: np.ndarray,
                         weights: np.ndarray) -> np.ndarray:
        """The same sum, Gaussian by Gaussian over the whole grid in the galaxy frame: the
        obvious way, the reference `gaussians` is checked against and the perf baseline."""
        out = np.zeros_like(self.x)
        for (kx, ky), s, w in zip(np.asarray(xy).reshape(-1, 2), sigmas, weights):
            out += w * np.exp(-((self.x - kx) ** 2 + (self.y - ky) ** 2) / (2 * s * s))
        return out


def render(g: Galaxy, size: int, angle_deg: float, obs: Observing,
           separable: bool = True) -> np.ndarray:
    """Noise-free flux (size x size x 3, counts per pixel in g, r, z) of the galaxy at position
    angle angle_deg, before the PSF. separable=False sums knots and tails the direct way."""
    k = obs.oversample
    frame = Frame.of(size, k, angle_deg, g.centre)
    xg, yg = frame.x, frame.y
    bands = np.zeros((3,) + xg.shape)
    for comp in g.components:
        img = component_image(comp, frame, separable)
        total = img.sum()
        if total > 0:
            bands += (comp.flux / total) * img[None] * SED[comp.sed][:, None, None]
    if g.dust is not None:
        d = g.dust
        lane = np.exp(-((yg - d["offset"]) / d["width"]) ** 2) * np.exp(-(xg / d["extent"]) ** 2)
        bands *= np.exp(-d["tau"] * DUST_G_R_Z[:, None, None] * lane[None])
    # sum the sub-pixels of each pixel
    bands = bands.reshape(3, size, k, size, k).sum(axis=(2, 4))
    return np.moveaxis(bands, 0, -1)


def observe(rng: np.random.Generator, flux: np.ndarray, obs: Observing,
            psf_fwhm: float) -> np.ndarray:
    """PSF (FWHM in units of the side), sky, Poisson noise, sky subtraction and the asinh
    stretch into uint8. The PSF is circular, so it commutes with the rotation."""
    size = flux.shape[0]
    out = np.empty(flux.shape, dtype=np.uint8)  # channels as a colour image: z, r, g
    for band in range(3):
        sigma = psf_fwhm * size / 2.3548 * (1.1, 1.0, 0.95)[band]  # seeing is worse in g
        blurred = ndimage.gaussian_filter(flux[..., band], sigma, mode="constant")
        counts = rng.poisson(np.maximum(blurred, 0.0) + obs.sky) - obs.sky
        stretched = np.arcsinh(counts / obs.stretch_soft) / math.asinh(
            obs.stretch_max / obs.stretch_soft)
        out[..., 2 - band] = np.clip(np.round(255.0 * (0.08 + 0.92 * stretched)), 0, 255)
    return out


def galaxy_images(rng: np.random.Generator, label: int, size: int, angles_deg,
                  obs: Observing) -> tuple[np.ndarray, Galaxy]:
    """One galaxy of class `label` observed at each of angles_deg: (len(angles), S, S, 3)
    uint8. The views share the galaxy and the seeing; each has its own noise."""
    g = draw_galaxy(rng, label, obs)
    fwhm = rng.uniform(*obs.psf_fwhm)
    return np.stack([observe(rng, render(g, size, a, obs), obs, fwhm) for a in angles_deg]), g
