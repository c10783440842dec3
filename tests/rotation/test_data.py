"""rotation data: the reader on a file in the real Galaxy10 DECaLS layout, clear errors naming
file and key for bad files, a deterministic generator, and the views the evaluation uses."""

from __future__ import annotations

import copy
import hashlib
import shutil

import h5py
import numpy as np
import pytest

from reference_implementations.common.config import ConfigError, load_config
from reference_implementations.common.data import DataError
from reference_implementations.rotation import data as D

SIZE = 32


@pytest.fixture(scope="module")
def cfg() -> dict:
    c = copy.deepcopy(load_config("rotation", "tiny").data)
    c.update(train_images=14, validation_images=14, files=2)
    return c


@pytest.fixture(scope="module")
def generated(tmp_path_factory, cfg):
    out = tmp_path_factory.mktemp("rotation")
    D.generate(out, cfg, seed=1)
    return out


def write_galaxy10(path, n=9, size=SIZE, classes=7, seed=0):
    """A file as astroNN's Galaxy10_DECals.h5 has it, written with h5py alone (not by our
    generator): images, ans, redshift, ra, dec, pxscale, and nothing of SciPerf's."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=rng.integers(0, 256, (n, size, size, 3), np.uint8))
        f.create_dataset("ans", data=(np.arange(n) % classes).astype(np.uint8))
        for key in ("redshift", "ra", "dec", "pxscale"):
            f.create_dataset(key, data=rng.uniform(0, 1, n))
    return path


def test_reader_reads_the_real_layout_as_training_data(tmp_path, cfg):
    path = write_galaxy10(tmp_path / "train" / D.FILE_NAME)
    assert D.check_file(path, cfg) == 9
    batches = list(D.make_dataset([path], cfg, batch_size=4, training=True, shuffle_seed=3))
    assert [tuple(x.shape) for x, _ in batches] == [(4, SIZE, SIZE, 3)] * 2  # full batches
    with h5py.File(path) as f:
        images, labels = f["images"][:], f["ans"][:]
    for x, y in batches:  # every image as stored (scaled to [0, 1]) with its own label
        for xi, yi in zip(x.numpy(), y.numpy()):
            i = int(np.flatnonzero((images == np.round(xi * 255)).all(axis=(1, 2, 3)))[0])
            assert labels[i] == yi


def test_generated_files_are_in_the_layout(generated, cfg):
    splits = D.list_splits(generated, cfg)
    assert [p.name for p in splits["train"]] == ["Galaxy10_DECals_000.h5",
                                                 "Galaxy10_DECals_001.h5"]
    with h5py.File(splits["train"][0]) as f:
        assert set(f) == {"images", "ans", "angle", "redshift", "ra", "dec", "pxscale"}
        assert f["images"].dtype == np.uint8 and f["images"].shape == (7, SIZE, SIZE, 3)
        assert (f["angle"][:] == 0).all()  # upright
        assert list(f["ans"][:]) == [0, 1, 2, 3, 4, 5, 6]  # classes take turns
    with h5py.File(splits["validation"][1]) as f:
        assert {D.TURNED, D.UPRIGHT, "angle"} <= set(f)
        angles = f["angle"][:]
        assert ((angles >= 0) & (angles < 360)).all() and len(set(angles)) == 7
    assert sum(D.check_file(p, cfg) for p in splits["validation"]) == 14


def test_generation_is_deterministic_and_independent_of_the_file_split(tmp_path, generated,
                                                                       cfg):
    one = dict(cfg, files=1)
    D.generate(tmp_path / "one", one, seed=1)
    with h5py.File(tmp_path / "one" / "validation" / D.FILE_NAME) as f:
        whole = f["images"][:]
    parts = []
    for p in D.list_splits(generated, cfg)["validation"]:
        with h5py.File(p) as f:
            parts.append(f["images"][:])
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    D.generate(tmp_path / "again", cfg, seed=1)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    for p in D.list_splits(generated, cfg)["train"]:
        with h5py.File(p) as f, h5py.File(tmp_path / "again" / "train" / p.name) as g:
            np.testing.assert_array_equal(f["images"][:], g["images"][:])
    assert digest(tmp_path / "again" / "train" / "Galaxy10_DECals_000.h5") == \
        digest(generated / "train" / "Galaxy10_DECals_000.h5")


def test_validation_batches_carry_every_galaxys_views(generated, cfg):
    files = D.list_splits(generated, cfg)["validation"]
    x, y = next(iter(D.make_dataset(files, cfg, batch_size=5, training=False,
                                    shuffle_seed=None)))
    x, y = x.numpy(), y.numpy()
    assert x.shape == (5, D.VIEWS, SIZE, SIZE, 3) and y.shape == (5, 2)
    with h5py.File(files[0]) as f:
        np.testing.assert_array_equal(x[:, 0] * 255, f["images"][:5])
        np.testing.assert_array_equal(x[:, 1] * 255, f[D.TURNED][:5])
        np.testing.assert_array_equal(x[:, D.UPRIGHT_VIEW] * 255, f[D.UPRIGHT][:5])
        np.testing.assert_array_equal(y[:, 0], f["ans"][:5])
        np.testing.assert_array_equal(y[:, 1], f["angle"][:5])
    for t in range(1, 4):  # views 2t, 2t + 1: t quarter turns of views 0 and 1
        np.testing.assert_array_equal(x[:, 2 * t], np.rot90(x[:, 0], t, axes=(1, 2)))
        np.testing.assert_array_equal(x[:, 2 * t + 1], np.rot90(x[:, 1], t, axes=(1, 2)))


def test_rotations8_turns_each_image_by_a_multiple_of_45_degrees_anew_every_pass(generated,
                                                                                  cfg):
    import tensorflow as tf

    files = D.list_splits(generated, cfg)["train"]
    stored = np.concatenate([x.numpy() for x, _ in D.make_dataset(
        files, cfg, batch_size=14, training=True, shuffle_seed=None)])
    # every stored image at every turn, as the pipeline turns it
    turned = {(i, k): D.rotate(tf.constant(stored[i:i + 1]), tf.constant([45.0 * k]))[0].numpy()
              for i in range(len(stored)) for k in range(D.TURNS)}
    aug = dict(cfg, augmentation="rotations8")
    passes = []
    for x, _ in D.make_dataset(files, aug, batch_size=14, training=True,
                               shuffle_seed=5).repeat(2):
        turns = {}
        for xi in x.numpy():
            [(i, k)] = [ik for ik, t in turned.items() if np.allclose(t, xi, atol=1e-5)]
            turns[i] = k
        assert sorted(turns) == list(range(14))  # each image once per pass
        passes.append(turns)
    assert passes[0] != passes[1]  # drawn anew
    assert len(set(passes[0].values()) | set(passes[1].values())) > 4
    for k in (2, 4, 6):  # even turns are exact quarter turns
        np.testing.assert_array_equal(turned[0, k], np.rot90(stored[0], k // 2, axes=(0, 1)))


def test_an_unknown_augmentation_is_refused(cfg):
    with pytest.raises(ConfigError, match="data.augmentation: 'flips' is not one of"):
        D.augmentation(dict(cfg, augmentation="flips"))


# -- bad files: the error names the file and the key --------------------------------------------

def copy_split(generated, tmp_path, split="validation"):
    out = tmp_path / "data"
    shutil.copytree(generated, out)
    return sorted((out / split).glob("*.h5"))[0]


def test_a_mislabelled_file_names_file_and_key(tmp_path, generated, cfg):
    path = copy_split(generated, tmp_path, "train")
    with h5py.File(path, "r+") as f:
        f["ans"][3] = 9
    with pytest.raises(DataError) as e:
        D.check_file(path, cfg)
    assert e.value.path == str(path) and e.value.key == "ans"
    assert "label 9 of image 3 is not a class (0 .. 6)" in str(e.value)


def test_labels_that_do_not_pair_with_the_images(tmp_path, generated, cfg):
    path = copy_split(generated, tmp_path, "train")
    with h5py.File(path, "r+") as f:
        labels = f["ans"][:-2]
        del f["ans"]
        f.create_dataset("ans", data=labels)
    with pytest.raises(DataError, match=r"ans: uint8 \(5,\), expected 7 integer labels") as e:
        D.check_file(path, cfg)
    assert str(path) in str(e.value)


def test_a_truncated_file_names_the_file(tmp_path, generated, cfg):
    path = copy_split(generated, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(DataError, match="truncated or corrupt") as e:
        D.check_file(path, cfg)
    assert e.value.path == str(path)


@pytest.mark.parametrize("key", [D.TURNED, D.UPRIGHT, D.ANGLE])
def test_a_validation_file_without_sciperfs_keys_names_the_key(tmp_path, generated, cfg, key):
    path = copy_split(generated, tmp_path)
    with h5py.File(path, "r+") as f:
        del f[key]
    with pytest.raises(DataError, match=f"no dataset '{key}'") as e:
        D.check_file(path, cfg)
    assert e.value.key == key and e.value.path == str(path)


def test_images_of_another_size_or_type(tmp_path, cfg):
    path = write_galaxy10(tmp_path / "train" / D.FILE_NAME, size=48)
    with pytest.raises(DataError, match=r"images: uint8 \(9, 48, 48, 3\), expected uint8 "
                                        r"\(9, 32, 32, 3\)"):
        D.check_file(path, cfg)


def test_an_angle_out_of_range(tmp_path, generated, cfg):
    path = copy_split(generated, tmp_path)
    with h5py.File(path, "r+") as f:
        f["angle"][2] = 360.0
    with pytest.raises(DataError, match="angle: angle 360.0 of image 2 is not in"):
        D.check_file(path, cfg)


def test_a_missing_split_folder_is_named(tmp_path, cfg):
    write_galaxy10(tmp_path / "train" / D.FILE_NAME)
    with pytest.raises(DataError, match="validation: missing"):
        D.list_splits(tmp_path, cfg)
