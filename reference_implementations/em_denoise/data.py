"""em_denoise data: a deterministic generator of graphene electron micrographs and the reader of
SciML-Bench's `em_graphene_sim` layout.

The real dataset (STFC SciML-Bench) holds pairs of HDF5 files, one pair per split:

    <data_dir>/train/graphene_img_noise.h5   dataset `images`, N x 256 x 256 x 1 (channels last)
    <data_dir>/train/graphene_img_clean.h5   the same N images without noise
    <data_dir>/test/graphene_img_noise.h5    the held-out pair (SciPerf's validation split)
    <data_dir>/test/graphene_img_clean.h5

The clean images are simulated micrographs of graphene; the noisy ones are the clean image scaled
by a non-uniform beam profile, Poisson (shot) noise and dead pixels. The generator here draws the
same kind of pair: a strained, rotated honeycomb lattice of atomic columns (Gaussian or Lorentzian
profiles, thermal jitter, vacancies, holes), then beam profile, shot noise at a dose drawn per
image, Gaussian read noise and dead pixels. Pixel values are stored as they would come off a
detector (counts for the noisy image, simulated intensity for the clean one); the reader
normalises each image, so it reads the real files unchanged.

Splits are whole folders: one entry per split, the folder holding the noisy/clean pair, so the
harness never separates a noisy file from its clean partner when it shards files by rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..common.config import ConfigError, config_section, split_counts
from ..common.data import DataError, hdf5_dataset, open_hdf5, reads_by_file, written_whole

NOISY_FILE = "graphene_img_noise.h5"
CLEAN_FILE = "graphene_img_clean.h5"
IMAGES_KEY = "images"
# SciPerf's split name -> the real dataset's folder name.
SPLIT_FOLDERS = {"train": "train", "validation": "test"}
# Stream ids mixed into every image's seed, so the splits never share an image.
_SPLIT_STREAM = {"train": 0, "validation": 1}
_WRITE_BLOCK = 64  # images rendered and written per HDF5 write
_CHECK_BLOCK = 256  # images read per block when scanning a file for non-finite values


# -- generator parameters -----------------------------------------------------------------------

@dataclass(frozen=True)
class Physics:
    """The `data.generator` section of a config. Pairs [lo, hi] are ranges each image draws
    from (uniformly, except the dose: log-uniformly, so low and high doses are equally common
    on a log scale)."""
    pixel_size_angstrom: tuple[float, float]  # sampling: Angstrom per pixel
    lattice_constant_angstrom: float  # graphene: 2.46 (C-C bond 1.42)
    strain_max: float  # each strain-tensor component uniform in [-s, s]
    thermal_sigma_angstrom: float  # random displacement of every atom (MD snapshot)
    column_width_angstrom: tuple[float, float]  # Gaussian sigma or Lorentzian half width
    lorentzian_fraction: float  # share of images with Lorentzian columns (else Gaussian)
    vacancy_fraction: tuple[float, float]  # share of atoms missing (point defects)
    holes_max: int  # 0..holes_max holes per image
    hole_radius_angstrom: tuple[float, float]
    background: tuple[float, float]  # clean-image background relative to a column's peak
    beam_width: tuple[float, float]  # beam profile sigma / image width
    beam_offset_max: float  # beam centre offset from the image centre / image width
    dose: tuple[float, float]  # mean counts per pixel under the beam's peak (log-uniform)
    read_noise: tuple[float, float]  # Gaussian read noise sigma, counts
    dead_pixel_fraction: tuple[float, float]

    @classmethod
    def from_cfg(cls, cfg: dict) -> Physics:
        return config_section(cls, cfg.get("generator"), "data.generator",
                              "the generator's physical parameters")


def image_size(cfg: dict) -> int:
    try:
        return int(cfg["image_size"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError("data.image_size: missing or not an integer") from None


# -- the clean image: atomic columns of a graphene sheet ----------------------------------------

def column_profile(r_px: np.ndarray, kind: str, width_px: float) -> np.ndarray:
    """Intensity of one atomic column at distance r (pixels), peak 1. Lorentzian tails are cut
    smoothly between 4 and 6 half widths (a 2D Lorentzian has no finite integral), Gaussians at
    4 sigma where they are already below 4e-4."""
    if kind == "gaussian":
        return np.where(r_px <= 4 * width_px, np.exp(-0.5 * (r_px / width_px) ** 2), 0.0)
    t = np.clip((r_px / width_px - 4.0) / 2.0, 0.0, 1.0)
    return np.cos(0.5 * np.pi * t) ** 2 / (1.0 + (r_px / width_px) ** 2)


def profile_radius(kind: str, width_px: float) -> float:
    return (4.0 if kind == "gaussian" else 6.0) * width_px


def graphene_columns(rng: np.random.Generator, p: Physics, extent_px: float,
                     pixel_size: float) -> np.ndarray:
    """Positions (pixels, origin at the canvas corner) of the carbon columns of one graphene
    sheet covering a square canvas of extent_px: honeycomb lattice (two atoms per hexagonal
    cell), random rotation, shift and strain, thermal jitter, vacancies and holes."""
    a = p.lattice_constant_angstrom / pixel_size
    cell = np.array([[a, 0.0], [0.5 * a, 0.5 * math.sqrt(3) * a]])  # rows: a1, a2
    basis = np.array([[0.0, 0.0], (cell[0] + cell[1]) / 3.0])  # the two sublattices
    theta = rng.uniform(0.0, math.pi / 3)  # the lattice has 60-degree symmetry
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    e = rng.uniform(-p.strain_max, p.strain_max, size=3)
    strain = np.eye(2) + np.array([[e[0], e[2]], [e[2], e[1]]])  # symmetric: no extra rotation
    transform = strain @ rot
    shift = rng.uniform(0.0, 1.0, size=2) @ cell  # anywhere in the unit cell
    n = int(math.ceil(extent_px * math.sqrt(2) / (0.5 * a))) + 2
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    sites = (i.reshape(-1, 1) * cell[0] + j.reshape(-1, 1) * cell[1])
    atoms = (sites[:, None, :] + basis[None, :, :]).reshape(-1, 2) + shift
    centre = 0.5 * extent_px
    xy = atoms @ transform.T + centre
    inside = np.all((xy >= 0.0) & (xy < extent_px), axis=1)
    xy = xy[inside]
    xy += rng.normal(0.0, p.thermal_sigma_angstrom / pixel_size, size=xy.shape)
    keep = rng.random(len(xy)) >= rng.uniform(*p.vacancy_fraction)
    for _ in range(rng.integers(0, p.holes_max + 1)):
        hole_centre = rng.uniform(0.0, extent_px, size=2)
        radius = rng.uniform(*p.hole_radius_angstrom) / pixel_size
        keep &= np.hypot(*(xy - hole_centre).T) > radius
    return xy[keep]


def render_columns(xy: np.ndarray, canvas: int, kind: str, width_px: float) -> np.ndarray:
    """Sum of column profiles at sub-pixel positions xy on a canvas x canvas grid, by Fourier
    synthesis: the structure factor sum_k exp(-2 pi i f.r_k) is separable in x and y, so it is
    one complex matrix product (atoms x rows)^T (atoms x columns), then multiplied by the
    profile's spectrum. Periodic: callers pad the canvas by profile_radius and crop."""
    fx = np.fft.rfftfreq(canvas)
    fy = np.fft.fftfreq(canvas)
    # Double precision throughout, cast to float32 only when stored: BLAS kernels sum in
    # different orders on different CPUs, and the stored bytes (hashed into the dataset
    # checksum) must not depend on that.
    ex = np.exp(-2j * np.pi * np.outer(xy[:, 0], fx))
    ey = np.exp(-2j * np.pi * np.outer(xy[:, 1], fy))
    structure = ey.T @ ex  # (canvas, canvas // 2 + 1)
    offsets = np.fft.fftfreq(canvas) * canvas  # signed pixel distances with wrap-around
    kernel = column_profile(np.hypot(offsets[:, None], offsets[None, :]), kind, width_px)
    return np.fft.irfft2(structure * np.fft.rfft2(kernel), s=(canvas, canvas))


def render_columns_direct(xy: np.ndarray, canvas: int, kind: str, width_px: float) -> np.ndarray:
    """The same image summed atom by atom in real space (no wrap-around): the reference the
    Fourier synthesis is checked against, and the perf baseline."""
    yy, xx = np.mgrid[0:canvas, 0:canvas].astype(np.float64)
    image = np.zeros((canvas, canvas))
    for x, y in xy:
        image += column_profile(np.hypot(xx - x, yy - y), kind, width_px)
    return image


@dataclass(frozen=True)
class Sample:
    noisy: np.ndarray  # H x W float32, detector counts
    clean: np.ndarray  # H x W float32, simulated intensity
    dose: float  # mean counts per pixel under the beam's peak


class Generator:
    """Deterministic: image `index` of `split` depends only on (seed, split, index), so any
    process can render any image and parallel generation equals serial generation."""

    def __init__(self, cfg: dict):
        self.size = image_size(cfg)
        self.physics = Physics.from_cfg(cfg)

    def rng(self, seed: int, split: str, index: int) -> np.random.Generator:
        return np.random.default_rng([seed, _SPLIT_STREAM[split], index])

    def clean(self, rng: np.random.Generator, renderer=render_columns) -> np.ndarray:
        p, size = self.physics, self.size
        pixel_size = rng.uniform(*p.pixel_size_angstrom)
        kind = "lorentzian" if rng.random() < p.lorentzian_fraction else "gaussian"
        width = rng.uniform(*p.column_width_angstrom) / pixel_size
        pad = int(math.ceil(profile_radius(kind, width))) + 1
        canvas = size + 2 * pad
        xy = graphene_columns(rng, p, canvas, pixel_size)
        image = renderer(xy, canvas, kind, width)[pad:pad + size, pad:pad + size]
        return rng.uniform(*p.background) + image

    def noisy(self, rng: np.random.Generator, clean: np.ndarray) -> tuple[np.ndarray, float]:
        """Beam profile, shot noise, read noise, dead pixels; the draws follow clean()'s on the
        same generator, so a noisy image is fixed by its clean one and the seed."""
        p, size = self.physics, self.size
        centre = 0.5 * size + rng.uniform(-p.beam_offset_max, p.beam_offset_max, size=2) * size
        sigma = rng.uniform(*p.beam_width) * size
        yy, xx = np.mgrid[0:size, 0:size] + 0.5
        beam = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma ** 2))
        dose = math.exp(rng.uniform(math.log(p.dose[0]), math.log(p.dose[1])))
        expected = dose * beam * clean / clean.mean()
        counts = rng.poisson(expected).astype(np.float64)
        counts += rng.normal(0.0, rng.uniform(*p.read_noise), size=counts.shape)
        counts[rng.random(counts.shape) < rng.uniform(*p.dead_pixel_fraction)] = 0.0
        return counts, dose

    def sample(self, seed: int, split: str, index: int, with_noise: bool = True) -> Sample:
        rng = self.rng(seed, split, index)
        clean = self.clean(rng)
        noisy, dose = self.noisy(rng, clean) if with_noise else (None, float("nan"))
        return Sample(None if noisy is None else noisy.astype(np.float32),
                      clean.astype(np.float32), dose)


# -- the plug-in API ----------------------------------------------------------------------------

def generate(out_dir: Path, cfg: dict, seed: int, part: int = 0, parts: int = 1) -> list[Path]:
    """Write this part's share of the four files (train and test, noisy and clean). Each file is
    written to a temporary name and renamed when complete, so an interrupted run leaves no file
    that looks whole."""
    gen = Generator(cfg)
    counts = split_counts(cfg, "images")
    jobs = [(split, kind) for split in ("train", "validation") for kind in ("noisy", "clean")]
    written = []
    for i, (split, kind) in enumerate(jobs):
        if i % parts != part:
            continue
        path = Path(out_dir) / SPLIT_FOLDERS[split] / (NOISY_FILE if kind == "noisy"
                                                       else CLEAN_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        n, size = counts[split], gen.size
        with written_whole(path) as tmp, h5py.File(tmp, "w") as f:
            ds = f.create_dataset(IMAGES_KEY, shape=(n, size, size, 1), dtype="float32")
            for start in range(0, n, _WRITE_BLOCK):
                stop = min(n, start + _WRITE_BLOCK)
                block = np.empty((stop - start, size, size, 1), dtype=np.float32)
                for k in range(start, stop):
                    s = gen.sample(seed, split, k, with_noise=kind == "noisy")
                    block[k - start, :, :, 0] = s.noisy if kind == "noisy" else s.clean
                ds[start:stop] = block
        written.append(path)
    return written


def list_splits(data_dir: Path, cfg: dict) -> dict[str, list[Path]]:
    """{"train": [<data_dir>/train], "validation": [<data_dir>/test]}: one entry per split, the
    folder holding the noisy/clean pair."""
    data_dir = Path(data_dir)
    splits = {}
    for split, folder in SPLIT_FOLDERS.items():
        d = data_dir / folder
        if not d.is_dir():
            raise DataError(d, f"missing: the {split} split lives in {folder}/ holding "
                               f"{NOISY_FILE} and {CLEAN_FILE}")
        for name in (NOISY_FILE, CLEAN_FILE):
            if not (d / name).is_file():
                raise DataError(d / name, f"missing: the {split} split needs both "
                                          f"{NOISY_FILE} and {CLEAN_FILE}")
        splits[split] = [d]
    return splits


def pair_files(split_dir: Path) -> tuple[Path, Path]:
    return Path(split_dir) / NOISY_FILE, Path(split_dir) / CLEAN_FILE


def _open_images(path: Path, size: int) -> tuple[h5py.File, h5py.Dataset]:
    """Open one file of a pair and check its `images` dataset's layout (not its values)."""
    f = open_hdf5(path)
    try:
        ds = hdf5_dataset(f, path, IMAGES_KEY)
        if ds.dtype.kind not in "fiu":
            raise DataError(path, f"dtype {ds.dtype} is not numeric", key=IMAGES_KEY)
        if ds.ndim != 4 or ds.shape[1:] != (size, size, 1):
            raise DataError(path, f"shape {ds.shape}, expected (N, {size}, {size}, 1) at this "
                                  "scale", key=IMAGES_KEY)
        return f, ds
    except BaseException:
        f.close()
        raise


def check_file(path: Path, cfg: dict) -> int:
    """Check one split folder's pair: both files open, `images` has N x S x S x 1 numbers in each,
    the counts agree and every value is finite. Returns N."""
    size = image_size(cfg)
    noisy_path, clean_path = pair_files(path)
    noisy_f, noisy = _open_images(noisy_path, size)
    try:
        clean_f, clean = _open_images(clean_path, size)
        try:
            if noisy.shape != clean.shape:
                raise DataError(noisy_path, f"shape {noisy.shape} differs from {clean_path}'s "
                                            f"{clean.shape}: noisy and clean images must pair "
                                            "one to one", key=IMAGES_KEY)
            if noisy.shape[0] == 0:
                raise DataError(noisy_path, "holds no images", key=IMAGES_KEY)
            for p, ds in ((noisy_path, noisy), (clean_path, clean)):
                for start in range(0, ds.shape[0], _CHECK_BLOCK):
                    try:
                        block = ds[start:start + _CHECK_BLOCK]
                    except OSError as e:
                        raise DataError(p, f"images {start}..: cannot be read (truncated or "
                                           f"corrupt?): {e}", key=IMAGES_KEY) from None
                    bad = ~np.isfinite(block.reshape(len(block), -1)).all(axis=1)
                    if bad.any():
                        raise DataError(p, f"image {start + int(np.argmax(bad))} holds "
                                           "non-finite values", key=IMAGES_KEY)
            return int(noisy.shape[0])
        finally:
            clean_f.close()
    finally:
        noisy_f.close()


# -- normalisation: one definition for the model's input/target and the baselines --------------

def normalise_noisy(x: np.ndarray) -> np.ndarray:
    """Each image relative to its own mean, minus 1: the detector's gain, the units and the dose
    differ from image to image, but the signal's relative contrast does not depend on them, so
    only the noise changes with the dose. (Standardising instead would fold the dose-dependent
    noise variance into the scale of the signal.)"""
    axes = tuple(range(1, x.ndim))
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    return (x / np.where(np.abs(mean) > 1e-12, mean, 1e-12) - 1.0).astype(np.float32)


def normalise_clean(y: np.ndarray) -> np.ndarray:
    """Scale each clean image to [0, 1] (as SciML-Bench's reference does), so PSNR has peak 1."""
    axes = tuple(range(1, y.ndim))
    y = y.astype(np.float64)
    lo = y.min(axis=axes, keepdims=True)
    hi = y.max(axis=axes, keepdims=True)
    return ((y - lo) / np.maximum(hi - lo, 1e-12)).astype(np.float32)


class PairReader:
    """Random access to the (noisy, clean) pairs of several split folders, normalised. Files
    open on first use and stay open."""

    def __init__(self, folders: list[Path], cfg: dict):
        self.size = image_size(cfg)
        self.folders = [Path(f) for f in folders]
        self.counts = [check_file(f, cfg) for f in self.folders]
        self.offsets = np.cumsum([0] + self.counts)
        self._open: dict[int, tuple[h5py.File, h5py.File]] = {}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _datasets(self, i: int):
        if i not in self._open:
            noisy_path, clean_path = pair_files(self.folders[i])
            self._open[i] = (h5py.File(noisy_path, "r"), h5py.File(clean_path, "r"))
        noisy_f, clean_f = self._open[i]
        return noisy_f[IMAGES_KEY], clean_f[IMAGES_KEY]

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised (noisy, clean) for global indices, in the order given."""
        indices = np.asarray(indices, dtype=np.int64)
        x = np.empty((len(indices), self.size, self.size, 1), dtype=np.float32)
        y = np.empty_like(x)
        for i, at, unique, inverse in reads_by_file(self.offsets, indices):
            noisy, clean = self._datasets(i)
            x[at] = noisy[unique][inverse]
            y[at] = clean[unique][inverse]
        return normalise_noisy(x), normalise_clean(y)

    def close(self) -> None:
        for files in self._open.values():
            for f in files:
                f.close()
        self._open.clear()


def make_dataset(files: list[Path], cfg: dict, *, batch_size: int, training: bool,
                 shuffle_seed: int | None):
    """(noisy, clean) batches, both N x S x S x 1 float32: noisy standardised per image, clean
    scaled to [0, 1] per image. Reads lazily by index, so no split has to fit in memory."""
    import tensorflow as tf

    reader = PairReader(files, cfg)
    size = reader.size
    ds = tf.data.Dataset.range(len(reader))
    if training:
        ds = ds.shuffle(len(reader), seed=shuffle_seed)
    ds = ds.batch(batch_size, drop_remainder=training)

    def load(indices):
        x, y = tf.numpy_function(reader.read, [indices], [tf.float32, tf.float32],
                                 stateful=False)
        x.set_shape((None, size, size, 1))
        y.set_shape((None, size, size, 1))
        return x, y

    return ds.map(load).prefetch(2)
