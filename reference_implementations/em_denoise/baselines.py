"""Classical baselines for em_denoise: what mean PSNR must a model beat?

    python -m reference_implementations.em_denoise.baselines --scale tiny [--data-dir DIR]

Three methods, each read through the benchmark's reader (data.PairReader) and scored exactly as
the model is (model.per_image) on the validation split:
  - the noisy input itself;
  - a Gaussian filter (scipy.ndimage), sigma tuned on the training split;
  - a median filter (scipy.ndimage), window tuned on the training split.
A filtered image is not yet on the clean image's [0, 1] scale, so each method also chooses, on
the training split, how to map it there: one gain and offset for all images (least squares), or
a per-image stretch between two of the image's own percentiles (min/max included). Filter
parameter and mapping are tuned together; the validation split is only scored.

Each method is also scored with an oracle mapping, a per-image gain and offset fitted against
that image's clean answer. No real method can do that; it bounds what any per-image rescaling
of the filter's output could reach, so a target above it is beyond any such pipeline.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..common.config import ConfigError, load_config
from ..common.data import DataError
from . import model as em_model
from .data import PairReader, list_splits

GAUSSIAN_SIGMAS = tuple(float(s) for s in np.round(np.arange(0.5, 4.01, 0.25), 2))  # pixels
MEDIAN_SIZES = (3, 5, 7, 9, 11)  # window side, pixels
STRETCH_PERCENTILES = ((0.0, 100.0), (0.5, 99.5), (1.0, 99.0), (2.0, 98.0), (5.0, 95.0))


def psnr(estimate: np.ndarray, clean: np.ndarray) -> float:
    return float(em_model.per_image(clean, estimate)["psnr"].mean())


# -- mapping a filtered image onto the clean scale ----------------------------------------------

def _axes(a: np.ndarray) -> tuple[int, ...]:
    return tuple(range(1, a.ndim))


def fit_to_clean(estimate: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Oracle: per image, the gain and offset minimising the squared error to the clean image."""
    ax = _axes(estimate)
    e = estimate.astype(np.float64)
    e_mean = e.mean(axis=ax, keepdims=True)
    c_mean = clean.mean(axis=ax, keepdims=True)
    cov = ((e - e_mean) * (clean - c_mean)).mean(axis=ax, keepdims=True)
    var = ((e - e_mean) ** 2).mean(axis=ax, keepdims=True)
    return (cov / np.maximum(var, 1e-12) * (e - e_mean) + c_mean).astype(np.float32)


def stretch(estimate: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Per image: percentile lo -> 0, percentile hi -> 1 (lo 0, hi 100: min-max)."""
    p_lo, p_hi = np.percentile(estimate, (lo, hi), axis=_axes(estimate), keepdims=True)
    return _between(estimate, p_lo, p_hi)


def _between(estimate: np.ndarray, p_lo: np.ndarray, p_hi: np.ndarray) -> np.ndarray:
    return ((estimate - p_lo) / np.maximum(p_hi - p_lo, 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class Mapping:
    """A way onto the clean scale, chosen on the training split."""
    kind: str  # "global" (one gain and offset) or "stretch" (per-image percentiles)
    a: float
    b: float

    def apply(self, estimate: np.ndarray) -> np.ndarray:
        if self.kind == "global":
            return (self.a * estimate + self.b).astype(np.float32)
        return stretch(estimate, self.a, self.b)

    def __str__(self) -> str:
        if self.kind == "global":
            return f"gain {self.a:.3g}, offset {self.b:.3g}"
        return "min-max" if (self.a, self.b) == (0.0, 100.0) else \
            f"stretch {self.a:g}-{self.b:g} percentile"


def mapped(train_estimate: np.ndarray, train_clean: np.ndarray):
    """Every candidate mapping, fitted on these training images, with the images it maps
    (percentiles computed once for all stretches)."""
    e = train_estimate.astype(np.float64).ravel()
    c = train_clean.astype(np.float64).ravel()
    gain = np.cov(e, c, bias=True)[0, 1] / max(e.var(), 1e-12)
    linear = Mapping("global", float(gain), float(c.mean() - gain * e.mean()))
    yield linear, linear.apply(train_estimate)
    levels = sorted({q for pair in STRETCH_PERCENTILES for q in pair})
    pct = dict(zip(levels, np.percentile(train_estimate, levels, axis=_axes(train_estimate),
                                         keepdims=True)))
    for lo, hi in STRETCH_PERCENTILES:
        yield Mapping("stretch", lo, hi), _between(train_estimate, pct[lo], pct[hi])


# -- the methods ----------------------------------------------------------------------------------

def identity(noisy: np.ndarray, _param=None) -> np.ndarray:
    return noisy


def gaussian(noisy: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(noisy, sigma=(0, sigma, sigma, 0), mode="reflect")


def median(noisy: np.ndarray, size: int) -> np.ndarray:
    return ndimage.median_filter(noisy, size=(1, size, size, 1), mode="reflect")


METHODS = {"noisy input": (identity, (None,)), "Gaussian filter": (gaussian, GAUSSIAN_SIGMAS),
           "median filter": (median, MEDIAN_SIZES)}


@dataclass
class Result:
    method: str
    param: float | int | None
    mapping: Mapping
    train_psnr: float
    validation_psnr: float
    oracle_psnr: float  # validation, per-image gain/offset fitted against the clean image

    def describe(self) -> str:
        if self.param is None:
            return f"{self.method} ({self.mapping})"
        what = f"sigma {self.param:g} px" if self.method.startswith("Gaussian") else \
            f"{self.param}x{self.param} px"
        return f"{self.method} ({what}, {self.mapping})"


def tune(method: str, train: tuple, validation: tuple) -> Result:
    """The (parameter, mapping) with the best mean PSNR on the training images, then scored on
    the validation images (and with the oracle mapping)."""
    fn, grid = METHODS[method]
    (tx, ty), (vx, vy) = train, validation
    best = None
    for param in grid:
        for m, images in mapped(fn(tx, param), ty):
            score = psnr(images, ty)
            if best is None or score > best[0]:
                best = (score, param, m)
    score, param, m = best
    val = fn(vx, param)
    return Result(method, param, m, score, psnr(m.apply(val), vy),
                  psnr(fit_to_clean(val, vy), vy))


def read_split(folders: list[Path], cfg: dict, limit: int | None = None):
    reader = PairReader(folders, cfg)
    try:
        n = len(reader) if limit is None else min(limit, len(reader))
        return reader.read(np.arange(n))
    finally:
        reader.close()


def measure(data_dir: Path, cfg: dict, tune_images: int | None = None) -> list[Result]:
    splits = list_splits(data_dir, cfg)
    train = read_split(splits["train"], cfg, tune_images)
    validation = read_split(splits["validation"], cfg)
    return [tune(method, train, validation) for method in METHODS]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m reference_implementations.em_denoise.baselines",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", default="tiny", help="tiny | small | full (default tiny)")
    p.add_argument("--data-dir", type=Path, help="dataset folder (default data/em_denoise/SCALE)")
    p.add_argument("--tune-images", type=int, help="tune on the first N training images only "
                                                   "(default: all)")
    a = p.parse_args(argv)
    try:
        cfg = load_config("em_denoise", a.scale)
        data_dir = a.data_dir or cfg.data_dir
        results = measure(data_dir, cfg.data, a.tune_images)
    except (ConfigError, DataError) as e:
        print(f"baselines: error: {e}", file=sys.stderr)
        return 2
    print(f"em_denoise {a.scale}, {data_dir}: mean PSNR (dB) of the validation images; "
          "parameters and mapping tuned on the training images")
    print(f"  {'method (as tuned)':<62} {'validation':>10} {'oracle':>7}")
    for r in results:
        print(f"  {r.describe():<62} {r.validation_psnr:10.2f} {r.oracle_psnr:7.2f}")
    print(f"  target ({a.scale}): {cfg.train['target']:.2f} dB. oracle: per-image gain/offset "
          "fitted against the clean image (a bound, not a method)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
