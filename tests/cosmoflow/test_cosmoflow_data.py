"""CosmoFlow generator and reader: determinism across parts, the real data's record format,
and a DataError naming the file and record for every kind of bad file."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from reference_implementations.common.data import DataError  # noqa: E402
from reference_implementations.cosmoflow import data  # noqa: E402


def _real_example(x: np.ndarray, y) -> bytes:
    """A record built the way mlcommons/hpc cosmoflow/prepare.py builds the real data's."""
    feature = dict(
        x=tf.train.Feature(bytes_list=tf.train.BytesList(value=[x.tobytes()])),
        y=tf.train.Feature(float_list=tf.train.FloatList(value=y)))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write(path: Path, records: list[bytes], gzip_it: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzip_it else "")
    with tf.io.TFRecordWriter(str(path), options) as w:
        for r in records:
            w.write(r)
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# -- generator ----------------------------------------------------------------------------------

def test_generate_writes_the_real_layout(micro_data, micro_cfg):
    splits = data.list_splits(micro_data, micro_cfg)
    assert [p.name for p in splits["train"]] == [f"cosmo_{i:06d}.tfrecord.gz" for i in range(3)]
    assert len(splits["validation"]) == 2  # 3 samples, 2 per file
    counts = {s: [data.check_file(p, micro_cfg) for p in files] for s, files in splits.items()}
    assert counts == {"train": [2, 2, 2], "validation": [2, 1]}
    for p in splits["train"]:
        assert p.read_bytes()[:2] == b"\x1f\x8b"  # gzip, as the real v2 files
    assert not list(micro_data.rglob("*.part"))


def test_generate_is_the_same_split_across_parts(tmp_path, micro_cfg):
    one = data.generate(tmp_path / "one", micro_cfg, seed=11)
    two = (data.generate(tmp_path / "two", micro_cfg, seed=11, part=0, parts=2)
           + data.generate(tmp_path / "two", micro_cfg, seed=11, part=1, parts=2))
    assert len(one) == len(two) == 5
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    data.generate(tmp_path / "other", micro_cfg, seed=12)
    assert _tree(tmp_path / "one") != _tree(tmp_path / "other")


def test_generate_rejects_a_bad_part(tmp_path, micro_cfg):
    with pytest.raises(ValueError, match="part 2"):
        data.generate(tmp_path, micro_cfg, seed=1, part=2, parts=2)


def test_records_hold_counts_and_normalised_targets(micro_data, micro_cfg):
    files = data.list_splits(micro_data, micro_cfg)["train"]
    raw = next(iter(tf.data.TFRecordDataset(str(files[0]), compression_type="GZIP")))
    ex = tf.train.Example.FromString(raw.numpy()).features.feature
    x = np.frombuffer(ex["x"].bytes_list.value[0], dtype="<i2").reshape(8, 8, 8, 4)
    y = np.array(ex["y"].float_list.value)
    assert x.min() >= 0 and x.sum() > 0
    assert y.shape == (4,) and np.all(np.abs(y) <= 1)


# -- reader on the real format ------------------------------------------------------------------

@pytest.mark.parametrize("name,gzip_it", [
    ("univ_ics_2019-03_a10000668_000.tfrecord", True),  # v2: gzip without a .gz suffix
    ("univ_ics_2019-03_a10000668_000.tfrecord", False),  # v0.7: uncompressed
    ("cosmo_000000.tfrecord.gz", True),
])
def test_reader_reads_a_real_cosmoflow_record(tmp_path, micro_cfg, name, gzip_it):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 300, size=(8, 8, 8, 4)).astype(np.int16)
    y = [0.25, -0.5, 0.75, -1.0]
    for split in ("train", "validation"):
        _write(tmp_path / split / name, [_real_example(x, y)], gzip_it)
    splits = data.list_splits(tmp_path, micro_cfg)
    assert data.check_file(splits["train"][0], micro_cfg) == 1
    (bx, by), = list(data.make_dataset(splits["train"], micro_cfg, batch_size=1,
                                       training=False, shuffle_seed=None))
    np.testing.assert_allclose(bx.numpy()[0], np.log1p(x.astype(np.float32)), rtol=1e-6)
    np.testing.assert_allclose(by.numpy()[0], y)


def test_reader_mean_normalisation_without_log(micro_data, micro_cfg):
    cfg = {**micro_cfg, "apply_log": False}
    files = data.list_splits(micro_data, cfg)["train"]
    x, _ = next(iter(data.make_dataset(files, cfg, batch_size=2, training=False,
                                       shuffle_seed=None)))
    np.testing.assert_allclose(x.numpy().mean(axis=(1, 2, 3, 4)), 1.0, rtol=1e-5)


def test_input_offset_and_scale(micro_data, micro_cfg):
    files = data.list_splits(micro_data, micro_cfg)["train"]
    plain, _ = next(iter(data.make_dataset(files, micro_cfg, batch_size=2, training=False,
                                           shuffle_seed=None)))
    cfg = {**micro_cfg, "input_offset": 3.0, "input_scale": 0.5}
    moved, _ = next(iter(data.make_dataset(files, cfg, batch_size=2, training=False,
                                           shuffle_seed=None)))
    np.testing.assert_allclose(moved.numpy(), (plain.numpy() - 3.0) * 0.5, rtol=1e-6)


def test_training_batches_drop_the_remainder_evaluation_keeps_it(micro_data, micro_cfg):
    files = data.list_splits(micro_data, micro_cfg)["train"]  # 6 samples
    train = [y.shape[0] for _, y in data.make_dataset(files, micro_cfg, batch_size=4,
                                                      training=True, shuffle_seed=1)]
    valid = [y.shape[0] for _, y in data.make_dataset(files, micro_cfg, batch_size=4,
                                                      training=False, shuffle_seed=None)]
    assert train == [4] and valid == [4, 2]


def _targets(files, cfg, seed, passes=1):
    ds = data.make_dataset(files, cfg, batch_size=1, training=True, shuffle_seed=seed)
    return [tuple(y.numpy()[0]) for _, y in ds.repeat(passes)]


def test_training_shuffle_is_deterministic_per_seed(micro_data, micro_cfg):
    files = data.list_splits(micro_data, micro_cfg)["train"]
    assert _targets(files, micro_cfg, 5) == _targets(files, micro_cfg, 5)
    orders = {tuple(_targets(files, micro_cfg, s)) for s in range(6)}
    assert len(orders) > 1
    assert all(sorted(o) == sorted(next(iter(orders))) for o in orders)


def test_every_pass_is_reshuffled_the_same_way_per_seed(micro_data, micro_cfg):
    """The harness repeats one training pipeline over the epochs: each pass a new order of the
    same samples, and the same sequence of orders for the same seed."""
    files = data.list_splits(micro_data, micro_cfg)["train"]
    seq = _targets(files, micro_cfg, 5, passes=4)
    n = len(seq) // 4
    passes = [seq[i * n:(i + 1) * n] for i in range(4)]
    assert all(sorted(p) == sorted(passes[0]) for p in passes)
    assert len({tuple(p) for p in passes}) > 1
    assert _targets(files, micro_cfg, 5, passes=4) == seq


def test_augmentation_is_a_symmetry_of_the_cube(micro_data, micro_cfg):
    files = data.list_splits(micro_data, micro_cfg)["train"][:1]
    plain = list(data.make_dataset(files, micro_cfg, batch_size=1, training=True,
                                   shuffle_seed=0))
    cfg = {**micro_cfg, "augment": True}
    seen = set()
    for seed in range(8):
        aug = list(data.make_dataset(files, cfg, batch_size=1, training=True, shuffle_seed=seed))
        again = list(data.make_dataset(files, cfg, batch_size=1, training=True,
                                       shuffle_seed=seed))
        for (xa, ya), (xb, _), (xp, yp) in zip(aug, again, plain):
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())  # deterministic per seed
            np.testing.assert_array_equal(ya.numpy(), yp.numpy())
            xa, xp = xa.numpy()[0], xp.numpy()[0]
            assert any(np.array_equal(xa, _symmetry(xp, order, flips))
                       for order in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1),
                                     (2, 1, 0)) for flips in np.ndindex(2, 2, 2))
            seen.add(xa.tobytes())
    assert len(seen) > 1


def _symmetry(x, order, flips):
    x = np.transpose(x, (*order, 3))
    for axis, f in enumerate(flips):
        if f:
            x = np.flip(x, axis)
    return x


# -- listing ------------------------------------------------------------------------------------

def test_list_splits_names_a_missing_folder(tmp_path, micro_cfg):
    (tmp_path / "train").mkdir()
    _write(tmp_path / "train" / "a.tfrecord", [b""], False)
    with pytest.raises(DataError) as e:
        data.list_splits(tmp_path, micro_cfg)
    assert str(tmp_path / "validation") in str(e.value)


def test_list_splits_names_an_empty_folder(tmp_path, micro_cfg):
    (tmp_path / "train").mkdir()
    (tmp_path / "validation").mkdir()
    (tmp_path / "train" / "notes.txt").write_text("no data here")
    with pytest.raises(DataError, match="holds no"):
        data.list_splits(tmp_path, micro_cfg)


# -- check_file: every kind of bad file ---------------------------------------------------------

def _check_error(path, cfg) -> DataError:
    with pytest.raises(DataError) as e:
        data.check_file(path, cfg)
    assert str(path) in str(e.value)
    return e.value


def test_check_file_flipped_bytes_in_the_middle_of_a_gzip_file(tmp_path, micro_cfg):
    rng = np.random.default_rng(1)
    records = [_real_example(rng.integers(0, 9, (8, 8, 8, 4)).astype(np.int16), [0.0] * 4)
               for _ in range(4)]
    path = _write(tmp_path / "c.tfrecord.gz", records, True)
    blob = bytearray(path.read_bytes())
    mid = len(blob) // 2
    blob[mid:mid + 8] = bytes(b ^ 0xFF for b in blob[mid:mid + 8])
    path.write_bytes(bytes(blob))
    err = _check_error(path, micro_cfg)
    assert err.key is not None and err.key.startswith("record ")
    assert "corrupt" in str(err)


def test_check_file_truncated_gzip_file(tmp_path, micro_cfg):
    x = np.ones((8, 8, 8, 4), np.int16)
    path = _write(tmp_path / "t.tfrecord.gz", [_real_example(x, [0.0] * 4)] * 3, True)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) * 2 // 3])
    err = _check_error(path, micro_cfg)
    assert err.key.startswith("record ")


def test_check_file_names_the_corrupt_record(tmp_path, micro_cfg):
    """Uncompressed, so the damage lands in a known record: the third."""
    x = np.ones((8, 8, 8, 4), np.int16)
    rec = _real_example(x, [0.0] * 4)
    path = _write(tmp_path / "u.tfrecord", [rec] * 4, False)
    blob = bytearray(path.read_bytes())
    framed = 8 + 4 + len(rec) + 4  # length, its crc, data, data crc
    at = 2 * framed + 12 + len(rec) // 2  # inside record 2's data
    blob[at] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert _check_error(path, micro_cfg).key == "record 2"


def test_check_file_wrong_cube_size(tmp_path, micro_cfg):
    x = np.ones((4, 4, 4, 4), np.int16)
    path = _write(tmp_path / "s.tfrecord", [_real_example(x, [0.0] * 4)], True)
    err = _check_error(path, micro_cfg)
    assert err.key == "record 0" and "512 bytes" in str(err) and "4096" in str(err)


def test_check_file_wrong_dtype_is_a_wrong_size(tmp_path, micro_cfg):
    x = np.ones((8, 8, 8, 4), np.float32)  # float32 counts: twice the bytes of int16
    path = _write(tmp_path / "d.tfrecord", [_real_example(x, [0.0] * 4)], True)
    assert "8192 bytes" in str(_check_error(path, micro_cfg))


def test_check_file_wrong_target_count(tmp_path, micro_cfg):
    x = np.ones((8, 8, 8, 4), np.int16)
    ok = _real_example(x, [0.0] * 4)
    path = _write(tmp_path / "y.tfrecord", [ok, _real_example(x, [0.0] * 3)], True)
    err = _check_error(path, micro_cfg)
    assert err.key == "record 1" and "4 floats" in str(err)


def test_check_file_missing_feature_and_wrong_kind(tmp_path, micro_cfg):
    only_y = tf.train.Example(features=tf.train.Features(feature={
        "y": tf.train.Feature(float_list=tf.train.FloatList(value=[0.0] * 4))}))
    path = _write(tmp_path / "m.tfrecord", [only_y.SerializeToString()], False)
    assert "no feature 'x'" in str(_check_error(path, micro_cfg))
    x_floats = tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[0.0] * 2048)),
        "y": tf.train.Feature(float_list=tf.train.FloatList(value=[0.0] * 4))}))
    path = _write(tmp_path / "k.tfrecord", [x_floats.SerializeToString()], False)
    assert "bytes value" in str(_check_error(path, micro_cfg))


def test_check_file_non_finite_target(tmp_path, micro_cfg):
    x = np.ones((8, 8, 8, 4), np.int16)
    path = _write(tmp_path / "n.tfrecord", [_real_example(x, [0.0, np.nan, 0.0, 0.0])], True)
    assert "NaN" in str(_check_error(path, micro_cfg))


def test_check_file_not_an_example(tmp_path, micro_cfg):
    path = _write(tmp_path / "g.tfrecord", [b"\xff\xfe definitely not a protobuf"], True)
    assert "tf.train.Example" in str(_check_error(path, micro_cfg))


def test_check_file_empty_and_garbage_files(tmp_path, micro_cfg):
    empty = tmp_path / "e.tfrecord.gz"
    empty.write_bytes(gzip.compress(b""))
    assert "no records" in str(_check_error(empty, micro_cfg))
    junk = tmp_path / "j.tfrecord"
    junk.write_bytes(b"this is not a TFRecord file at all, just text" * 3)
    assert _check_error(junk, micro_cfg).key == "record 0"
    assert "missing" in str(_check_error(tmp_path / "absent.tfrecord", micro_cfg))


def test_compression_setting(tmp_path, micro_cfg):
    x = np.ones((8, 8, 8, 4), np.int16)
    path = _write(tmp_path / "z.tfrecord", [_real_example(x, [0.0] * 4)], True)
    assert data.compression_of(path, micro_cfg) == "GZIP"
    assert data.compression_of(path, {**micro_cfg, "compression": "none"}) == ""
    assert data.check_file(path, {**micro_cfg, "compression": "gzip"}) == 1
    _check_error(path, {**micro_cfg, "compression": "none"})  # read as plain: corrupt
    with pytest.raises(ValueError, match="data.compression"):
        data.compression_of(path, {**micro_cfg, "compression": "zstd"})


def test_a_typo_in_the_data_config_is_an_error(tmp_path, micro_cfg):
    with pytest.raises(ValueError, match="unknown keys augmnet"):
        data.generate(tmp_path, {**micro_cfg, "augmnet": True}, seed=1)
    with pytest.raises(ValueError, match="unknown keys"):
        data.list_splits(tmp_path, {**micro_cfg, "n_trian": 5})


def test_regenerating_smaller_removes_the_files_it_no_longer_plans(tmp_path, micro_cfg):
    data.generate(tmp_path, micro_cfg, seed=1)
    (tmp_path / "train" / "cosmo_000002.tfrecord.gz.part").write_bytes(b"interrupted")
    data.generate(tmp_path, {**micro_cfg, "n_train": 4}, seed=1, part=1, parts=2)
    names = sorted(p.name for p in (tmp_path / "train").iterdir())
    assert names == ["cosmo_000000.tfrecord.gz", "cosmo_000001.tfrecord.gz"]
