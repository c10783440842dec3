"""CloudMask data: the reader on the real file layout, its errors on bad files, the generator's
determinism and physics."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest

from reference_implementations.cloudmask import data as D
from reference_implementations.common.data import DataError

# A miniature scale: 48 x 64 scenes cut into 16 x 16 patches (3 x 4 = 12 per scene).
CFG = {"scene_height": 48, "scene_width": 64, "patch_size": 16, "train_scenes": 3,
       "validation_scenes": 2, "shuffle_buffer": 64, "augment": True}


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.hdf"))}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cloudmask")
    D.generate(out, CFG, seed=7)
    return out


def write_real_layout(path: Path, h=48, w=64, *, refs_dtype="float32", mask_dtype="uint8",
                      mask_2d=False, skip=(), rename=None, shapes=None):
    """A scene file written directly with h5py in the SciML-Bench layout (not by our
    generator): refs (H, W, 6) reflectance, bts (H, W, 3) kelvin with a few NaNs as real
    files can have, bayes (H, W, 1) with nonzero flag values for cloud."""
    rng = np.random.default_rng(0)
    refs = rng.uniform(0.0, 0.9, (h, w, 6)).astype(refs_dtype)
    bts = rng.uniform(220.0, 300.0, (h, w, 3)).astype("float32")
    bts[0, 0, 1] = np.nan
    bayes = np.zeros((h, w, 1), mask_dtype)
    bayes[h // 2:, :, 0] = 2  # a Bayesian flag bit, not 1: the reader must test > 0
    if mask_2d:
        bayes = bayes[..., 0]
    arrays = {"refs": refs, "bts": bts, "bayes": bayes}
    for key, shape in (shapes or {}).items():
        arrays[key] = np.zeros(shape, arrays[key].dtype)
    with h5py.File(path, "w") as f:
        for key, arr in arrays.items():
            if key in skip:
                continue
            f.create_dataset((rename or {}).get(key, key), data=arr)
    return arrays


def test_reader_reads_a_file_written_in_the_real_layout(tmp_path):
    path = tmp_path / "S3A_SL_1_RBT____20191001T120000_real.hdf"
    arrays = write_real_layout(path)
    assert D.check_file(path, CFG) == 12
    x, y = D.load_patches(path, 16, (48, 64))
    assert x.shape == (12, 16, 16, 9) and x.dtype == np.float32
    assert y.shape == (12, 16, 16, 1) and set(np.unique(y)) == {0.0, 1.0}
    assert np.isfinite(x).all(), "the NaN brightness temperature is filled"
    # The fixed scaling of the SciML-Bench reader, patch (0, 0) = the scene's top-left corner.
    np.testing.assert_allclose(x[0, 1, 2, :6], arrays["refs"][1, 2] - 0.5, rtol=1e-6)
    np.testing.assert_allclose(x[0, 1, 2, 6:], (arrays["bts"][1, 2] - 270) / 22, rtol=1e-5)
    # Patches run row-major over the scene, 3 rows of 4; the lower half (rows 24..47) is cloud.
    assert not y[:4].any() and y[4:8].sum() == 4 * 8 * 16 and y[8:].all()


@pytest.mark.parametrize("variant", [{"refs_dtype": "float64"}, {"mask_dtype": "float32"},
                                     {"mask_2d": True}, {"mask_dtype": "bool"}])
def test_reader_accepts_the_layouts_real_files_come_in(tmp_path, variant):
    path = tmp_path / "S3A_scene.hdf"
    write_real_layout(path, **variant)
    assert D.check_file(path, CFG) == 12


def test_truncated_file_names_the_file(tmp_path, dataset):
    src = sorted((dataset / "train").glob("*.hdf"))[0]
    victim = tmp_path / src.name
    victim.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(DataError) as e:
        D.check_file(victim, CFG)
    assert str(victim) in str(e.value) and "truncated" in str(e.value)


def test_file_truncated_inside_a_dataset_names_the_key(tmp_path):
    """Cut short inside `bts`, with the superblock's end-of-file address rewritten to match
    (as a tool that rewrote the header would leave it): the file opens, `refs` reads, `bts`
    does not, and the error says so."""
    path = tmp_path / "S3A_cut.hdf"
    write_real_layout(path)
    with h5py.File(path, "r") as f:
        assert f.libver[0] == "earliest"  # superblock version 0: end-of-file address at 40
        cut = f["bts"].id.get_offset() + 10
    raw = bytearray(path.read_bytes()[:cut])
    raw[40:48] = struct.pack("<Q", cut)
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as e:
        D.check_file(path, CFG)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and "truncated or corrupt" in msg, msg
    assert ": bts: " in msg or ": bayes: " in msg, msg


@pytest.mark.parametrize("case, key, words", [
    ({"skip": ("bayes",)}, "bayes", "missing"),
    ({"rename": {"bayes": "mask"}}, "bayes", "datasets present: bts, mask, refs"),
    ({"rename": {"refs": "reflectance"}}, "refs", "missing"),
    ({"shapes": {"refs": (48, 64, 5)}}, "refs", "expected (48, 64, 6)"),
    ({"shapes": {"bts": (64, 48, 3)}}, "bts", "expected (48, 64, 3)"),
    ({"shapes": {"bayes": (48, 64, 2)}}, "bayes", "expected (48, 64, 1)"),
])
def test_mislabelled_file_names_the_file_and_the_key(tmp_path, case, key, words):
    path = tmp_path / "S3A_bad.hdf"
    write_real_layout(path, **case)
    with pytest.raises(DataError) as e:
        D.check_file(path, CFG)
    msg = str(e.value)
    assert msg.startswith(f"{path}: {key}: "), msg
    assert words in msg, msg


def test_values_in_the_wrong_units_name_the_key(tmp_path):
    path = tmp_path / "S3A_celsius.hdf"
    write_real_layout(path)
    with h5py.File(path, "r+") as f:
        f["bts"][...] = f["bts"][...] - 273.15  # Celsius, not kelvin
    with pytest.raises(DataError, match=r"bts: values .* not a brightness temperature"):
        D.check_file(path, CFG)


def test_integer_reflectance_is_refused(tmp_path):
    path = tmp_path / "S3A_counts.hdf"
    write_real_layout(path)
    with h5py.File(path, "r+") as f:
        del f["refs"]
        f.create_dataset("refs", data=np.zeros((48, 64, 6), np.int16))
    with pytest.raises(DataError, match=r"refs: dtype int16, expected floating point"):
        D.check_file(path, CFG)


def test_not_hdf5_names_the_file(tmp_path):
    path = tmp_path / "S3A_text.hdf"
    path.write_text("this is not HDF5\n")
    with pytest.raises(DataError, match="cannot be opened as HDF5"):
        D.check_file(path, CFG)


def test_list_splits(tmp_path, dataset):
    splits = D.list_splits(dataset, CFG)
    assert [len(splits["train"]), len(splits["validation"])] == [3, 2]
    assert splits["train"] == sorted(splits["train"])
    with pytest.raises(DataError, match=f"^{tmp_path}/train: missing"):
        D.list_splits(tmp_path, CFG)
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / splits["train"][0].name).write_bytes(splits["train"][0].read_bytes())
    with pytest.raises(DataError, match=f"^{tmp_path}/validation: missing"):
        D.list_splits(tmp_path, CFG)
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "notes.txt").write_text("not a scene")
    with pytest.raises(DataError, match=r"validation: holds no scene files \(\*\.hdf\)"):
        D.list_splits(tmp_path, CFG)


def test_generator_is_deterministic_and_parts_add_up(tmp_path, dataset):
    D.generate(tmp_path / "again", CFG, seed=7)
    assert digest(tmp_path / "again") == digest(dataset)
    for part in range(3):
        D.generate(tmp_path / "parts", CFG, seed=7, part=part, parts=3)
    assert digest(tmp_path / "parts") == digest(dataset)
    D.generate(tmp_path / "other", CFG, seed=8)
    assert digest(tmp_path / "other") != digest(dataset)
    assert not list(tmp_path.rglob("*.partial"))


def test_generated_files_are_in_the_real_layout(dataset):
    path = sorted((dataset / "validation").glob("*.hdf"))[0]
    assert path.name.startswith("S3A_SL_1_RBT____")
    with h5py.File(path, "r") as f:
        assert sorted(f.keys()) == ["bayes", "bts", "refs"]
        assert f["refs"].shape == (48, 64, 6) and f["refs"].dtype == np.float32
        assert f["bts"].shape == (48, 64, 3) and f["bts"].dtype == np.float32
        assert f["bayes"].shape == (48, 64, 1)
        assert 150 < float(np.min(f["bts"])) and float(np.max(f["bts"])) < 340
    assert D.check_file(path, CFG) == 12


def test_make_dataset_batches_and_determinism(dataset):
    files = D.list_splits(dataset, CFG)
    train = [D.make_dataset(files["train"], CFG, batch_size=5, training=True, shuffle_seed=3)
             for _ in range(2)]
    batches = [list(ds.as_numpy_iterator()) for ds in train]
    assert len(batches[0]) == 36 // 5, "training drops the remainder"
    for (x0, y0), (x1, y1) in zip(*batches):
        assert x0.shape == (5, 16, 16, 9) and y0.shape == (5, 16, 16, 1)
        np.testing.assert_array_equal(x0, x1)
        np.testing.assert_array_equal(y0, y1)
    other = list(D.make_dataset(files["train"], CFG, batch_size=5, training=True,
                                shuffle_seed=4).as_numpy_iterator())
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(batches[0], other))
    val = list(D.make_dataset(files["validation"], CFG, batch_size=5, training=False,
                              shuffle_seed=None).as_numpy_iterator())
    assert [len(x) for x, _ in val] == [5, 5, 5, 5, 4], "evaluation keeps the remainder"
    x, y = D.load_patches(files["validation"][0], 16)
    np.testing.assert_array_equal(val[0][0], x[:5])
    # Augmentation moves x and y together: every training patch is a flip/turn of a scene patch.
    xt, yt = batches[0][0]
    scene_patches = [np.concatenate([a, b], -1) for f in files["train"]
                     for a, b in zip(*D.load_patches(f, 16))]
    for xi, yi in zip(xt, yt):
        both = np.concatenate([xi, yi], -1)
        turns = [np.rot90(p, k) for p in scene_patches for k in range(4)]
        assert any(np.array_equal(both, t) or np.array_equal(both, t[:, ::-1]) for t in turns)


# -- physics -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenes():
    return [D.synthesize_scene(np.random.default_rng([11, i]), 96, 96) for i in range(24)]


def pooled(scenes, select):
    """Concatenate refs+bts of the pixels `select(scene)` picks, over all scenes."""
    rows = [np.concatenate([s.refs, s.bts], -1)[select(s)] for s in scenes]
    return np.concatenate(rows)


def test_ocean_darker_than_land_in_the_near_infrared(scenes):
    ocean = pooled(scenes, lambda s: ~s.cloud & (s.surface == D.OCEAN))
    land = pooled(scenes, lambda s: ~s.cloud & (s.surface == D.LAND))
    assert len(ocean) > 1000 and len(land) > 1000
    assert np.median(ocean[:, 2]) < 0.12 < np.median(land[:, 2])  # S3, 0.865 um
    assert np.median(ocean[:, 2]) < np.median(ocean[:, 0])  # ocean darkest in the NIR


def test_snow_and_ice_bright_in_the_visible_dark_at_1_6um(scenes):
    frozen = pooled(scenes, lambda s: ~s.cloud & np.isin(s.surface, [D.SNOW, D.SEA_ICE]))
    ocean = pooled(scenes, lambda s: ~s.cloud & (s.surface == D.OCEAN))
    assert len(frozen) > 1000
    assert np.median(frozen[:, 0]) > 0.4 > np.median(ocean[:, 0])  # S1 like cloud
    assert np.median(frozen[:, 4]) < 0.5 * np.median(frozen[:, 0])  # S5 absorbs


def test_thick_cloud_bright_and_colder_than_its_surface(scenes):
    checked = 0
    for s in scenes:
        tau = sum(s.tau.values(), np.zeros(s.cloud.shape))
        thick = tau > 10
        if thick.sum() < 50:
            continue
        bt11 = s.bts[..., 1]
        assert np.median(s.refs[..., 0][thick]) > 0.35
        # Colder than the ground beneath it (polar inversions aside: high cloud always is).
        high = thick & (s.tau.get("high", np.zeros_like(tau)) > 10)
        if high.sum() >= 50:
            assert np.median(s.surface_temperature[high] - bt11[high]) > 15
        checked += 1
    assert checked >= 5


def test_cloud_top_temperature_falls_with_height():
    rng = np.random.default_rng(0)
    t_air = np.full((64, 64), 290.0)
    low = D._make_layer(rng, (64, 64), "low", cover=1.0, beta=3.0, tau_core=10,
                        height_km=1.0, t_air=t_air, polar=0.0)
    high = D._make_layer(rng, (64, 64), "high", cover=1.0, beta=3.0, tau_core=10,
                         height_km=10.0, t_air=t_air, polar=0.0)
    assert high.top_temperature.mean() < low.top_temperature.mean() - 40
    np.testing.assert_allclose(t_air - low.top_temperature, D.LAPSE_RATE * low.top_height_km)
    assert (high.ice_fraction == 1).all() and low.ice_fraction.max() == 0


def test_thin_cirrus_faint_in_the_visible_cold_in_the_thermal(scenes):
    """Over ocean, thin cirrus adds little reflectance but lowers the 11 um temperature."""
    checked = 0
    for s in scenes:
        if "cirrus" not in s.tau:
            continue
        others = sum((t for k, t in s.tau.items() if k != "cirrus"), np.zeros(s.cloud.shape))
        ocean = (s.surface == D.OCEAN) & (others < 0.05)
        cirrus = ocean & (s.tau["cirrus"] > D.LABEL_TAU) & (s.tau["cirrus"] < 1.5)
        clear = ocean & (s.tau["cirrus"] < 0.05)
        if cirrus.sum() < 30 or clear.sum() < 30:
            continue
        d_vis = np.median(s.refs[..., 1][cirrus]) - np.median(s.refs[..., 1][clear])
        d_bt = np.median(s.bts[..., 1][clear]) - np.median(s.bts[..., 1][cirrus])
        assert d_vis < 0.12, "thin cirrus is nearly transparent in the visible"
        assert d_bt > 3.0, "but clearly colder at 11 um"
        checked += 1
    assert checked >= 2


def test_quantised_to_instrument_precision(scenes):
    s = scenes[0]
    np.testing.assert_allclose(s.bts * 100, np.round(s.bts * 100), atol=2e-3)
    assert 0.05 < np.mean([x.cloud.mean() for x in scenes]) < 0.8
