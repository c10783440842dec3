"""CosmoFlow data: the deterministic synthetic generator and the reader of the real format.

Layout and format are the real CosmoFlow data's (MLPerf HPC, cosmoUniverse_2019_05_4parE_tf_v2):

    <data_dir>/train/*.tfrecord[.gz]
    <data_dir>/validation/*.tfrecord[.gz]

Each record is a tf.train.Example with
    x: bytes, the raw little-endian bytes of a D x D x D x 4 int16 array (particle counts per
       voxel, channels = 4 redshifts, channels last);
    y: 4 float32, the normalised cosmological parameters (Omega_m, sigma_8, n_s, h), in [-1, 1].

The real v2 files are gzip-compressed TFRecords (whatever their suffix); v0.7's were not. The
reader takes the compression from `data.compression` ("auto": gzip when the file starts with
the gzip magic bytes), so it runs unchanged on both and on the files written here, which are
named `cosmo_<index>.tfrecord.gz`. Input transform as the MLPerf HPC reference: x -> log(1 + x)
with `apply_log: true`, else x / mean(x).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..common.data import DataError, split_files
from . import cosmology

SPLITS = ("train", "validation")
_SPLIT_CODE = {"train": 0, "validation": 1}  # part of each file's RNG seed
_GZIP_MAGIC = b"\x1f\x8b\x08"  # gzip header + deflate method
_PATTERNS = ("*.tfrecord", "*.tfrecord.gz")
FILE_NAME = "cosmo_{index:06d}.tfrecord.gz"
N_TARGETS = len(cosmology.PARAMETERS)


# -- config -----------------------------------------------------------------------------------

DATA_KEYS = {
    "sample_size", "box_size", "particle_density", "redshifts", "parameter_ranges", "n_train",
    "n_valid", "samples_per_file", "apply_log", "input_offset", "input_scale", "compression",
    "shuffle_buffer", "augment", "parallel_reads",
}


def check_config(cfg: dict) -> None:
    """A typo in the data section must not pass silently as a default."""
    unknown = set(cfg) - DATA_KEYS
    if unknown:
        raise ValueError(f"data: unknown keys {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(DATA_KEYS))}")


def sample_shape(cfg: dict) -> tuple[int, int, int, int]:
    size = int(cfg["sample_size"])
    return (size, size, size, len(cfg.get("redshifts", cosmology.DEFAULT_REDSHIFTS)))


def mean_count(cfg: dict) -> float:
    """Mean particles per voxel: the particle density (per (Mpc/h)^3) times the voxel volume."""
    voxel = float(cfg["box_size"]) / int(cfg["sample_size"])
    return float(cfg["particle_density"]) * voxel**3


def file_plan(cfg: dict) -> list[tuple[str, int, int]]:
    """Every file of the dataset as (split, file index, samples in it), in a fixed order."""
    per_file = int(cfg.get("samples_per_file", 1))
    if per_file < 1:
        raise ValueError("data.samples_per_file must be at least 1")
    plan = []
    for split, key in (("train", "n_train"), ("validation", "n_valid")):
        n = int(cfg[key])
        for index, start in enumerate(range(0, n, per_file)):
            plan.append((split, index, min(per_file, n - start)))
    return plan


# -- generator --------------------------------------------------------------------------------

def generate_sample(rng: np.random.Generator, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """One (x int16 D^3 x 4, y float32 [4]) sample from rng."""
    ranges = cosmology.parameter_ranges(cfg)
    params = cosmology.draw_parameters(rng, ranges)
    x = cosmology.sample_counts(
        rng, params, int(cfg["sample_size"]), float(cfg["box_size"]),
        redshifts=tuple(cfg.get("redshifts", cosmology.DEFAULT_REDSHIFTS)),
        mean_count=mean_count(cfg))
    y = cosmology.normalise([params[p] for p in cosmology.PARAMETERS], ranges)
    return x, y.astype(np.float32)


def serialize_example(x: np.ndarray, y: np.ndarray) -> bytes:
    """A record exactly as the real data's (mlcommons/hpc cosmoflow/prepare.py)."""
    import tensorflow as tf

    feature = {
        "x": tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[np.ascontiguousarray(x, dtype="<i2").tobytes()])),
        "y": tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(y, np.float32))),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


# gzip level 1: six times faster than zlib's default level 6 for files 2 % larger
# (tools/perf/bench_cosmoflow_data.py). TF bundles its own zlib, so with TF pinned the bytes
# (and so the manifest) are reproducible.
GZIP_LEVEL = 1


def write_tfrecord(path: Path, records, gzip: bool = True, level: int = GZIP_LEVEL) -> None:
    """Write serialized records; via a temporary name, so an interrupted run leaves no file
    that looks complete."""
    import tensorflow as tf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzip else "",
                                    compression_level=level if gzip else None)
    with tf.io.TFRecordWriter(str(tmp), options) as writer:
        for record in records:
            writer.write(record)
    os.replace(tmp, path)


def generate(out_dir: Path, cfg: dict, seed: int, part: int = 0, parts: int = 1) -> list[Path]:
    """Write this part's files (every parts-th file of file_plan, from `part`). Each file's
    content depends only on (seed, split, file index), so any split into parts writes the same
    files."""
    if not 0 <= part < parts:
        raise ValueError(f"part {part} is not in 0..{parts - 1}")
    check_config(cfg)  # fail on a bad config before writing anything
    cosmology.parameter_ranges(cfg)
    plan = file_plan(cfg)
    _remove_stale(Path(out_dir), plan)
    written = []
    for j, (split, index, count) in enumerate(plan):
        if j % parts != part:
            continue
        rng = np.random.default_rng([int(seed), _SPLIT_CODE[split], index])
        path = Path(out_dir) / split / FILE_NAME.format(index=index)
        write_tfrecord(path, (serialize_example(*generate_sample(rng, cfg))
                              for _ in range(count)))
        written.append(path)
    return written


def _remove_stale(out_dir: Path, plan) -> None:
    """Delete generator files the plan does not have (left by an earlier, larger run into the
    same folder): else they would silently join the dataset. Every part does this; a file
    another part removed first is fine."""
    keep = {(split, FILE_NAME.format(index=index)) for split, index, _ in plan}
    for split in SPLITS:
        for p in (out_dir / split).glob("cosmo_*.tfrecord.gz*"):
            if (split, p.name) not in keep:
                p.unlink(missing_ok=True)


# -- reader -----------------------------------------------------------------------------------

def list_splits(data_dir: Path, cfg: dict) -> dict[str, list[Path]]:
    check_config(cfg)
    return split_files(data_dir, SPLITS, _PATTERNS, "a CosmoFlow dataset",
                       "TFRecord files (*.tfrecord, *.tfrecord.gz)")


def compression_of(path: Path, cfg: dict) -> str:
    """"GZIP" or "" for TFRecordDataset, from data.compression (auto | gzip | none)."""
    mode = str(cfg.get("compression", "auto")).lower()
    if mode in ("gzip", "none", ""):
        return "GZIP" if mode == "gzip" else ""
    if mode != "auto":
        raise ValueError(f"data.compression: {mode!r} is not auto, gzip or none")
    try:
        with open(path, "rb") as f:
            head = f.read(len(_GZIP_MAGIC))
    except OSError as e:
        raise DataError(path, f"cannot read: {e.strerror}") from None
    return "GZIP" if head == _GZIP_MAGIC else ""


def _tf_message(error) -> str:
    """TF's error text without its op and device decorations."""
    text = str(getattr(error, "message", error)).strip().splitlines()[0]
    text = re.sub(r"\{\{.*?\}\}\s*", "", text)
    return re.sub(r"\s*\[Op:.*$", "", text).strip()


def _record_iterator(path: Path, compression: str):
    """TF's plain record iterator: a tenth of the cost of a tf.data pipeline per file, which
    counts with one file per sample. Deprecated in favour of tf.data, hence the quiet logger."""
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        return tf.compat.v1.io.tf_record_iterator(
            str(path), tf.io.TFRecordOptions(compression_type=compression))
    finally:
        logger.setLevel(level)


def check_file(path: Path, cfg: dict) -> int:
    """Read every record as the real reader would and check it; return the record count."""
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "missing or not a file")
    shape = sample_shape(cfg)
    x_bytes = int(np.prod(shape)) * 2
    records = _record_iterator(path, compression_of(path, cfg))
    index = 0
    while True:
        key = f"record {index}"
        try:
            raw = next(records)
        except StopIteration:
            break
        except tf.errors.OpError as e:
            raise DataError(path, f"corrupt or truncated ({_tf_message(e)})", key=key) from None
        try:
            example = tf.train.Example.FromString(raw)
        except Exception as e:  # protobuf's DecodeError; its module path varies by version
            raise DataError(path, f"not a tf.train.Example ({e})", key=key) from None
        features = example.features.feature
        for name in ("x", "y"):
            if name not in features:
                raise DataError(path, f"has no feature {name!r}", key=key)
        x, y = features["x"], features["y"]
        if x.WhichOneof("kind") != "bytes_list" or len(x.bytes_list.value) != 1:
            raise DataError(path, "feature 'x' must be one bytes value (raw int16 data)", key=key)
        if len(x.bytes_list.value[0]) != x_bytes:
            raise DataError(path, f"'x' holds {len(x.bytes_list.value[0])} bytes; "
                                  f"{'x'.join(map(str, shape))} int16 is {x_bytes} bytes",
                            key=key)
        if y.WhichOneof("kind") != "float_list" or len(y.float_list.value) != N_TARGETS:
            raise DataError(path, f"feature 'y' must be {N_TARGETS} floats", key=key)
        if not np.all(np.isfinite(y.float_list.value)):
            raise DataError(path, "'y' holds a NaN or infinity", key=key)
        index += 1
    if index == 0:
        raise DataError(path, "holds no records")
    return index


def parse_example(record, cfg: dict):
    """Record -> (x float32 D^3 x 4 after the input transform, y float32 [4]), as the MLPerf HPC
    reference's _parse_data."""
    import tensorflow as tf

    shape = sample_shape(cfg)
    spec = {"x": tf.io.FixedLenFeature([], tf.string),
            "y": tf.io.FixedLenFeature([N_TARGETS], tf.float32)}
    parsed = tf.io.parse_single_example(record, spec)
    x = tf.cast(tf.reshape(tf.io.decode_raw(parsed["x"], tf.int16), shape), tf.float32)
    if cfg.get("apply_log", True):
        x = tf.math.log1p(x)
    else:
        x = x / (tf.reduce_sum(x) / float(np.prod(shape)))
    # Optional fixed affine rescaling, one number or one per channel (reference: 0 and 1);
    # centring the input near zero lets the un-normalised reference network start learning
    # epochs sooner.
    offset = np.asarray(cfg.get("input_offset", 0.0), np.float32)
    scale = np.asarray(cfg.get("input_scale", 1.0), np.float32)
    if np.any(offset != 0) or np.any(scale != 1):
        x = (x - offset) * scale
    return x, parsed["y"]


_AXIS_ORDERS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def augment(x, seed):
    """One of the 48 symmetries of the cube (axis order, then a flip per axis), drawn from a
    stateless seed: a statistically isotropic field's targets do not change under them, so
    every sample counts 48 times (the real data's crops are as isotropic as ours)."""
    import tensorflow as tf

    # 48 is a multiple of 6 and 2, so each choice below is uniform
    draw = tf.random.stateless_uniform([4], seed=tf.cast(seed, tf.int64), minval=0,
                                       maxval=48, dtype=tf.int32)
    order = tf.gather(tf.constant(_AXIS_ORDERS, tf.int32), draw[0] % 6)
    x = tf.transpose(x, tf.concat([order, [3]], 0))
    for axis in range(3):
        x = tf.cond(draw[1 + axis] % 2 == 1, lambda a=axis: tf.reverse(x, [a]), lambda: x)
    return x


def make_dataset(files: list[Path], cfg: dict, *, batch_size: int, training: bool,
                 shuffle_seed: int | None):
    """(x, y) batches of these files. Training: files and samples shuffled from shuffle_seed,
    anew on every pass over the dataset, optional augmentation, full batches only."""
    import tensorflow as tf

    files = [str(f) for f in files]
    if not files:
        raise ValueError("make_dataset: no files")
    compressions = [compression_of(Path(f), cfg) for f in files]
    ds = tf.data.Dataset.from_tensor_slices((files, compressions))
    if training:
        ds = ds.shuffle(len(files), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.interleave(lambda f, c: tf.data.TFRecordDataset(f, compression_type=c),
                       cycle_length=int(cfg.get("parallel_reads", 4)),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.map(lambda r: parse_example(r, cfg), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    if training and cfg.get("augment", False):
        seed = 0 if shuffle_seed is None else int(shuffle_seed)
        ds = ds.enumerate().map(
            lambda i, xy: (augment(xy[0], tf.stack([tf.constant(seed, tf.int64), i])), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    buffer = int(cfg.get("shuffle_buffer", 0))
    if training and buffer > 1:
        # Files are shuffled above; this mixes samples when files hold several.
        ds = ds.shuffle(buffer, seed=None if shuffle_seed is None else shuffle_seed + 1,
                        reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=training).prefetch(tf.data.AUTOTUNE)
