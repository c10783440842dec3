"""em_denoise data: the reader on files in the real (SciML-Bench em_graphene_sim) layout, clear
errors for bad files, a deterministic generator, and the physics the images must show."""

from __future__ import annotations

import copy
import hashlib
import math
import shutil

import h5py
import numpy as np
import pytest

from reference_implementations.common.config import ConfigError, load_config
from reference_implementations.common.data import DataError
from reference_implementations.em_denoise import data as D

SIZE = 32


@pytest.fixture(scope="module")
def cfg() -> dict:
    c = copy.deepcopy(load_config("em_denoise", "tiny").data)
    c.update(image_size=SIZE, train_images=10, validation_images=6)
    return c


def write_real_layout(root, counts=(5, 3), size=SIZE, dtype="float32", seed=0):
    """Files as the real dataset has them, written with h5py alone (not by our generator):
    train/ and test/ folders, each a graphene_img_noise.h5 / graphene_img_clean.h5 pair with an
    `images` dataset of N x S x S x 1."""
    rng = np.random.default_rng(seed)
    for folder, n in zip(("train", "test"), counts):
        d = root / folder
        d.mkdir(parents=True)
        clean = rng.uniform(10.0, 500.0, size=(n, size, size, 1)).astype(dtype)
        noisy = rng.poisson(clean).astype(dtype)
        for name, arr in ((D.NOISY_FILE, noisy), (D.CLEAN_FILE, clean)):
            with h5py.File(d / name, "w") as f:
                f.create_dataset("images", data=arr)
    return root


# -- reading the real layout --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "uint16"])
def test_reader_reads_real_layout(tmp_path, cfg, dtype):
    root = write_real_layout(tmp_path, dtype=dtype)
    splits = D.list_splits(root, cfg)
    assert splits == {"train": [root / "train"], "validation": [root / "test"]}
    assert D.check_file(splits["train"][0], cfg) == 5
    assert D.check_file(splits["validation"][0], cfg) == 3

    batches = list(D.make_dataset(splits["validation"], cfg, batch_size=2, training=False,
                                  shuffle_seed=None))
    assert [tuple(x.shape) for x, _ in batches] == [(2, SIZE, SIZE, 1), (1, SIZE, SIZE, 1)]
    x = np.concatenate([b[0].numpy() for b in batches])
    y = np.concatenate([b[1].numpy() for b in batches])
    with h5py.File(root / "test" / D.CLEAN_FILE) as f:
        raw_clean = f["images"][:].astype(np.float64)
    with h5py.File(root / "test" / D.NOISY_FILE) as f:
        raw_noisy = f["images"][:].astype(np.float64)
    # in file order; clean: scaled to [0, 1] per image; noisy: relative to its mean, minus 1
    lo = raw_clean.min(axis=(1, 2, 3), keepdims=True)
    hi = raw_clean.max(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (raw_clean - lo) / (hi - lo), atol=1e-6)
    np.testing.assert_allclose(x, raw_noisy / raw_noisy.mean(axis=(1, 2, 3), keepdims=True) - 1,
                               atol=1e-5)


def test_training_dataset_shuffles_deterministically_and_drops_remainder(tmp_path, cfg):
    root = write_real_layout(tmp_path, counts=(7, 2))
    files = D.list_splits(root, cfg)["train"]

    def order(seed):
        ds = D.make_dataset(files, cfg, batch_size=2, training=True, shuffle_seed=seed)
        return np.concatenate([y.numpy() for _, y in ds])

    a, b, c = order(3), order(3), order(4)
    assert a.shape[0] == 6  # 7 images, batches of 2, remainder dropped
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# -- bad files: a DataError naming the file (and the `images` key) -------------------------------

def test_count_mismatch_between_noisy_and_clean(tmp_path, cfg):
    root = write_real_layout(tmp_path)
    with h5py.File(root / "train" / D.CLEAN_FILE, "w") as f:
        f.create_dataset("images", data=np.ones((4, SIZE, SIZE, 1), "float32"))
    with pytest.raises(DataError) as e:
        D.check_file(root / "train", cfg)
    assert e.value.path == str(root / "train" / D.NOISY_FILE)
    assert e.value.key == "images"
    assert str(root / "train" / D.CLEAN_FILE) in str(e.value)
    assert "(5, 32, 32, 1)" in str(e.value) and "(4, 32, 32, 1)" in str(e.value)


@pytest.mark.parametrize("shape", [(5, SIZE, SIZE), (5, SIZE, SIZE + 1, 1), (5, 16, 16, 1),
                                   (5, SIZE, SIZE, 3)])
def test_wrong_shape(tmp_path, cfg, shape):
    root = write_real_layout(tmp_path)
    with h5py.File(root / "test" / D.NOISY_FILE, "w") as f:
        f.create_dataset("images", data=np.ones(shape, "float32"))
    with pytest.raises(DataError) as e:
        D.check_file(root / "test", cfg)
    assert e.value.path == str(root / "test" / D.NOISY_FILE)
    assert e.value.key == "images"
    assert f"expected (N, {SIZE}, {SIZE}, 1)" in str(e.value)


def test_truncated_file(tmp_path, cfg):
    root = write_real_layout(tmp_path)
    path = root / "train" / D.CLEAN_FILE
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError) as e:
        D.check_file(root / "train", cfg)
    assert e.value.path == str(path)
    assert "truncated or corrupt" in str(e.value)


def test_not_hdf5(tmp_path, cfg):
    root = write_real_layout(tmp_path)
    (root / "train" / D.NOISY_FILE).write_text("not an HDF5 file\n")
    with pytest.raises(DataError, match="cannot be read as HDF5") as e:
        D.check_file(root / "train", cfg)
    assert e.value.path == str(root / "train" / D.NOISY_FILE)


def test_missing_images_key(tmp_path, cfg):
    root = write_real_layout(tmp_path)
    path = root / "test" / D.CLEAN_FILE
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=np.ones((3, SIZE, SIZE, 1), "float32"))
    with pytest.raises(DataError) as e:
        D.check_file(root / "test", cfg)
    assert e.value.path == str(path)
    assert e.value.key == "images"
    assert "no dataset 'images' (found: data)" in str(e.value)


def test_non_finite_value_names_the_image(tmp_path, cfg):
    root = write_real_layout(tmp_path)
    path = root / "train" / D.NOISY_FILE
    with h5py.File(path, "r+") as f:
        f["images"][3, 7, 7, 0] = np.nan
    with pytest.raises(DataError, match="image 3 holds non-finite values") as e:
        D.check_file(root / "train", cfg)
    assert e.value.path == str(path)


def test_missing_partner_file_or_split_folder(tmp_path, cfg):
    root = write_real_layout(tmp_path)
    (root / "test" / D.CLEAN_FILE).unlink()
    with pytest.raises(DataError) as e:
        D.list_splits(root, cfg)
    assert e.value.path == str(root / "test" / D.CLEAN_FILE)
    shutil.rmtree(root / "test")
    with pytest.raises(DataError, match="validation split lives in test/") as e:
        D.list_splits(root, cfg)
    assert e.value.path == str(root / "test")


def test_generator_config_errors_name_the_key(cfg):
    bad = copy.deepcopy(cfg)
    del bad["generator"]["dose"]
    bad["generator"]["dosage"] = [1, 2]
    with pytest.raises(ConfigError, match="missing dose; unknown dosage"):
        D.Generator(bad)
    bad = copy.deepcopy(cfg)
    bad["generator"]["dose"] = [10, 1]
    with pytest.raises(ConfigError, match=r"data.generator.dose: expected \[low, high\]"):
        D.Generator(bad)


# -- the generator ------------------------------------------------------------------------------

def _digest(root) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*.h5")):
        with h5py.File(p) as f:
            out[p.relative_to(root).as_posix()] = hashlib.sha256(f["images"][:].tobytes()
                                                                 ).hexdigest()
    return out


def test_generator_is_deterministic_and_parts_equal_whole(tmp_path, cfg):
    whole = D.generate(tmp_path / "a", cfg, seed=5)
    assert sorted(p.relative_to(tmp_path / "a").as_posix() for p in whole) == [
        "test/graphene_img_clean.h5", "test/graphene_img_noise.h5",
        "train/graphene_img_clean.h5", "train/graphene_img_noise.h5"]
    again = tmp_path / "b"
    parts = [D.generate(again, cfg, seed=5, part=i, parts=3) for i in range(3)]
    assert sorted(len(p) for p in parts) == [1, 1, 2]
    assert _digest(tmp_path / "a") == _digest(again)
    D.generate(tmp_path / "c", cfg, seed=6)
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")
    assert not list(tmp_path.rglob("*.partial"))
    # what the generator writes is the real layout, and its own reader accepts it
    splits = D.list_splits(tmp_path / "a", cfg)
    assert D.check_file(splits["train"][0], cfg) == 10
    assert D.check_file(splits["validation"][0], cfg) == 6


def test_splits_never_share_an_image(cfg):
    g = D.Generator(cfg)
    train = {g.sample(1, "train", i).clean.tobytes() for i in range(6)}
    val = {g.sample(1, "validation", i).clean.tobytes() for i in range(6)}
    assert len(train) == 6 and not train & val


def test_noisy_image_follows_from_its_clean_image(cfg):
    g = D.Generator(cfg)
    s = g.sample(2, "train", 4)
    clean_only = g.sample(2, "train", 4, with_noise=False)
    np.testing.assert_array_equal(s.clean, clean_only.clean)


# The Fourier synthesis is band-limited at the pixel grid's Nyquist frequency; point sampling is
# not. A Gaussian column has nothing left there; a Lorentzian's slower spectral tail leaves a
# difference of under 1% of the peak at a half width of 1.6 px.
@pytest.mark.parametrize("kind, tolerance", [("gaussian", 1e-3), ("lorentzian", 1e-2)])
def test_fourier_synthesis_equals_direct_sum(kind, tolerance):
    rng = np.random.default_rng(0)
    canvas, width = 48, 1.6
    pad = math.ceil(D.profile_radius(kind, width)) + 1
    xy = rng.uniform(0, canvas, size=(40, 2))
    fast = D.render_columns(xy, canvas, kind, width)
    direct = D.render_columns_direct(xy, canvas, kind, width)
    # equal away from the border, where the Fourier synthesis wraps around (callers crop it)
    inner = (slice(pad, canvas - pad),) * 2
    np.testing.assert_allclose(fast[inner], direct[inner], atol=tolerance * direct.max())


def _physics(cfg, size=128, **fixed):
    c = copy.deepcopy(cfg)
    c["image_size"] = size
    c["generator"].update({k: (list(v) if isinstance(v, tuple) else v) for k, v in fixed.items()})
    return D.Generator(c)


def test_lattice_periodicity_in_the_clean_image_spectrum(cfg):
    """A honeycomb of lattice constant a has its first Bragg peaks at spatial frequency
    2 / (sqrt(3) a): six of them, 60 degrees apart."""
    pixel, a = 0.25, 2.46
    g = _physics(cfg, pixel_size_angstrom=(pixel, pixel), strain_max=0.0,
                 vacancy_fraction=(0.0, 0.0), holes_max=0, thermal_sigma_angstrom=0.0)
    size = g.size
    expected = 2 / (math.sqrt(3) * a / pixel)  # cycles per pixel
    window = np.hanning(size)[:, None] * np.hanning(size)[None, :]
    f = np.fft.fftshift(np.fft.fftfreq(size))
    fr = np.hypot(f[:, None], f[None, :])
    phi = np.arctan2(f[:, None] + 0 * f[None, :], f[None, :] + 0 * f[:, None])
    for index in range(3):
        clean = g.sample(0, "train", index, with_noise=False).clean.astype(np.float64)
        power = np.abs(np.fft.fftshift(np.fft.fft2((clean - clean.mean()) * window))) ** 2
        # the strongest ring (above the window's leakage around DC) is the first Bragg ring
        rings = np.bincount(np.round(fr * size).astype(int).ravel(), power.ravel())
        rings[: int(0.5 * expected * size)] = 0.0
        assert abs(np.argmax(rings) - expected * size) <= 1.0, (index, np.argmax(rings))
        # and its power sits in six spots 60 degrees apart: six-fold order parameter near 1
        ring = np.abs(fr - expected) <= 1.5 / size
        order = np.abs(np.sum(power[ring] * np.exp(6j * phi[ring]))) / power[ring].sum()
        assert order > 0.8, (index, order)


@pytest.mark.parametrize("dose", [5.0, 50.0])
def test_shot_noise_follows_the_dose(cfg, dose):
    """Flat sample, flat beam, no read noise or dead pixels: counts are Poisson with mean and
    variance equal to the dose."""
    g = _physics(cfg, size=64, dose=(dose, dose), read_noise=(0.0, 0.0),
                 dead_pixel_fraction=(0.0, 0.0), beam_width=(1e6, 1e6))
    rng = np.random.default_rng(1)
    counts = np.stack([g.noisy(rng, np.full((64, 64), 3.0))[0] for _ in range(20)])
    assert counts.mean() == pytest.approx(dose, rel=0.01)
    assert counts.var() == pytest.approx(dose, rel=0.05)
    assert np.array_equal(counts, np.round(counts))


def test_relative_noise_falls_as_one_over_root_dose(cfg):
    noise = {}
    for dose in (4.0, 64.0):
        g = _physics(cfg, size=64, dose=(dose, dose), read_noise=(0.0, 0.0),
                     dead_pixel_fraction=(0.0, 0.0), beam_width=(1e6, 1e6))
        rng = np.random.default_rng(2)
        clean = g.clean(rng)
        counts = np.stack([g.noisy(rng, clean)[0] for _ in range(10)])
        expected = dose * clean / clean.mean()
        noise[dose] = np.std((counts - expected) / expected.mean())
    assert noise[4.0] / noise[64.0] == pytest.approx(4.0, rel=0.05)


def test_dead_pixels_and_read_noise(cfg):
    g = _physics(cfg, size=64, dose=(200.0, 200.0), read_noise=(3.0, 3.0),
                 dead_pixel_fraction=(0.02, 0.02), beam_width=(1e6, 1e6))
    rng = np.random.default_rng(3)
    counts = np.stack([g.noisy(rng, np.ones((64, 64)))[0] for _ in range(20)])
    assert (counts == 0).mean() == pytest.approx(0.02, rel=0.15)
    live = counts[counts != 0]
    assert live.var() == pytest.approx(200.0 + 9.0, rel=0.05)


def test_beam_profile_darkens_away_from_its_centre(cfg):
    g = _physics(cfg, size=64, dose=(1000.0, 1000.0), beam_width=(0.3, 0.3),
                 beam_offset_max=0.0, read_noise=(0.0, 0.0), dead_pixel_fraction=(0.0, 0.0))
    counts = g.noisy(np.random.default_rng(4), np.ones((64, 64)))[0]
    yy, xx = np.mgrid[0:64, 0:64] + 0.5
    beam = np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / (2 * (0.3 * 64) ** 2))
    centre, corner = (slice(28, 36),) * 2, (slice(0, 8),) * 2
    ratio = counts[corner].mean() / counts[centre].mean()
    assert ratio == pytest.approx(beam[corner].mean() / beam[centre].mean(), rel=0.05)
    assert ratio < 0.2
