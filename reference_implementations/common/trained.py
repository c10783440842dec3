"""A trained model as a run keeps it: model_<i>/ beside the run's result_<i>.txt
(sciperf/layout.py `model_dir`), written after run_stop, so never inside the timed region.

    model_<i>/config.yaml   the whole config of the run (what `model.build` made the model from)
    model_<i>/weights.h5    the final weights (Keras' HDF5 weights file)
    model_<i>/model.json    the benchmark, the scale and the weights' sha256

The weights' sha256 (`weights_sha256`: over the arrays themselves, in the model's order, so it
does not depend on the file format) is logged in the training log; `sciperf infer` logs the
hash of the model it loaded, and the package check matches the two (docs/inference.md).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .config import Config

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "weights.h5"
MODEL_FILE = "model.json"


class ModelError(Exception):
    """A model folder that cannot be loaded; the message names the file and says why."""


def weights_sha256(model) -> str:
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


def save(model, cfg: Config, folder: Path, sha256: str | None = None) -> str:
    """Write the model folder (replacing one that is there); return the weights' sha256. The
    files go into a temporary folder renamed into place, so a folder of that name is whole."""
    import yaml

    folder = Path(folder)
    sha256 = sha256 or weights_sha256(model)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}")
    _remove(staging)
    staging.mkdir(parents=True)
    try:
        tree = {k: v for k, v in asdict(cfg).items() if k != "source"}
        (staging / CONFIG_FILE).write_text(yaml.safe_dump(tree, sort_keys=False))
        model.save_weights(str(staging / WEIGHTS_FILE))
        (staging / MODEL_FILE).write_text(json.dumps(
            {"benchmark": cfg.benchmark, "scale": cfg.scale, "weights_sha256": sha256},
            indent=1) + "\n")
        _remove(folder)
        staging.rename(folder)
    finally:
        _remove(staging)
    return sha256


def load(folder: Path):
    """(cfg, model, model_lib) of a model folder; the model's weights_sha256 is the one its
    model.json records (ModelError otherwise, or for anything missing or unreadable)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder (a training run keeps its model in "
                         "model_<i>/ beside result_<i>.txt)")
    try:
        recorded = json.loads((folder / MODEL_FILE).read_text())["weights_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{folder / MODEL_FILE}: cannot read the recorded weights sha256 "
                         f"({type(e).__name__}: {e})") from None
    cfg = read_config(folder / CONFIG_FILE)
    model_lib = importlib.import_module(f"reference_implementations.{cfg.benchmark}.model")
    try:
        model = model_lib.build(cfg)
        model.load_weights(str(folder / WEIGHTS_FILE))
    except (OSError, ValueError) as e:
        raise ModelError(f"{folder / WEIGHTS_FILE}: the weights do not load into the model "
                         f"{CONFIG_FILE} builds ({type(e).__name__}: {e})") from None
    got = weights_sha256(model)
    if got != recorded:
        raise ModelError(f"{folder}: the weights loaded hash to {got}, but {MODEL_FILE} records "
                         f"{recorded}: the files are not the model the run kept")
    return cfg, model, model_lib


def read_config(path: Path) -> Config:
    import yaml

    try:
        tree = yaml.safe_load(Path(path).read_text())
        cfg = Config(**tree, source=str(path))
    except OSError as e:
        raise ModelError(f"{path}: cannot read: {e.strerror}") from None
    except (yaml.YAMLError, TypeError) as e:
        raise ModelError(f"{path}: not a run's config ({e})") from None
    from sciperf.vocab import BENCHMARKS

    if cfg.benchmark not in BENCHMARKS:
        raise ModelError(f"{path}: unknown benchmark {cfg.benchmark!r}")
    return cfg


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


__all__ = ["ModelError", "load", "save", "weights_sha256"]
