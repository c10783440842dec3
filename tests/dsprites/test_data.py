"""dsprites data: the generator's determinism, layout, values and factor grid, and the reader on
files in the published dSprites layout (compressed .npz as DeepMind ships it)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from reference_implementations.common.config import load_config
from reference_implementations.common.data import DataError
from reference_implementations.disentangle.grid import split_indices
from reference_implementations.dsprites import data, sprites
from tests.support import generate_data

CFG = load_config("dsprites", "tiny").data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return generate_data(tmp_path_factory, "dsprites")



def test_splits_are_disjoint_samples_of_the_scale_grid_in_the_published_layout(tiny):
    out = tiny
    seen = {}
    for split, n in (("train", 4096), ("validation", 5000)):
        path = out / split / data.FILE_NAME
        with zipfile.ZipFile(path) as z:
            assert sorted(z.namelist()) == ["imgs.npy", "latents_classes.npy",
                                            "latents_values.npy", "metadata.npy"]
        with np.load(path, allow_pickle=True, encoding="latin1") as f:  # as disentanglement_lib
            imgs, values, classes = f["imgs"], f["latents_values"], f["latents_classes"]
            meta = f["metadata"][()]
        assert imgs.shape == (n, 64, 64) and imgs.dtype == np.uint8 and set(np.unique(imgs)) \
            == {0, 1}
        assert values.shape == classes.shape == (n, 6)
        assert list(meta["latents_sizes"]) == [1, 3, 6, 40, 32, 32]
        assert (values[:, 0] == 1).all() and set(values[:, 1]) == {1.0, 2.0, 3.0}
        # every 4th orientation, every 2nd position, all shapes and scales
        assert set(classes[:, 3]) <= set(range(0, 40, 4)) and set(classes[:, 4]) <= \
            set(range(0, 32, 2)) and len(set(classes[:, 2])) == 6
        assert np.allclose(values, data.GRID.factor_values(classes))
        flat = np.ravel_multi_index(classes.T, data.GRID.sizes)
        assert (np.diff(flat) > 0).all()  # distinct, in grid order
        seen[split] = set(flat)
        assert data.check_file(path, CFG) == n
    assert not seen["train"] & seen["validation"]


def test_sprites_follow_their_factors():
    n = 6
    shape, scale = np.zeros(n, int), np.linspace(0.5, 1.0, n)
    small_to_big = sprites.render(shape, scale, np.zeros(n), np.full(n, 0.5), np.full(n, 0.5))
    area = small_to_big.reshape(n, -1).sum(axis=1)
    # binary pixels: two neighbouring scales can cover the same pixel centres
    assert (np.diff(area) >= 0).all() and area[-1] >= 3.5 * area[0]
    # a square's area is (1.6 r)^2 pixels, r = 10 px x scale
    assert area[-1] == pytest.approx((1.6 * sprites.RADIUS_PX) ** 2, rel=0.05)
    x = np.linspace(0.0, 1.0, 5)
    moved = sprites.render(np.full(5, 2), np.ones(5), np.zeros(5), x, np.full(5, 0.5))
    cols = [np.nonzero(m.any(axis=0))[0].mean() for m in moved]
    assert np.allclose(cols, sprites.MARGIN_PX + x * (64 - 2 * sprites.MARGIN_PX) - 0.5, atol=1)
    turned = sprites.render(np.ones(2, int), np.ones(2), [0.0, np.pi / 2], [0.5] * 2, [0.5] * 2)
    assert (turned[0].any(axis=0).sum() > 1.5 * turned[0].any(axis=1).sum())  # wide ellipse
    assert (turned[1].any(axis=1).sum() > 1.5 * turned[1].any(axis=0).sum())  # now tall


def published(path, flat, compressed=True):
    """A file as DeepMind publishes it: np.savez_compressed with a pickled metadata dict."""
    classes = data.GRID.classes(flat)
    values = data.GRID.factor_values(classes)
    imgs = sprites.render(values[:, 1].astype(int) - 1, *values[:, 2:].T)
    save = np.savez_compressed if compressed else np.savez
    path.parent.mkdir(parents=True, exist_ok=True)
    save(path, imgs=imgs, latents_values=values, latents_classes=classes,
         metadata=np.array({"latents_sizes": np.array(data.GRID.sizes)}, dtype=object))
    return imgs, values


COARSE = {**CFG, "grid": {"orientation": 10, "posX": 8, "posY": 8}, "train_images": 100,
          "validation_images": 50}  # 3 x 6 x 4 x 4 x 4 = 1,152 points


def test_the_published_whole_grid_is_read_as_each_splits_rows(tmp_path):
    grid = data.GRID.subgrid(COARSE)
    for split in ("train", "validation"):
        published(tmp_path / "real" / split / data.FILE_NAME, grid)
    data.generate(tmp_path / "ours", COARSE, COARSE["split_seed"])
    for split, n in (("train", 100), ("validation", 50)):
        real = tmp_path / "real" / split / data.FILE_NAME
        assert data.check_file(real, COARSE) == n
        ours = data.reader([tmp_path / "ours" / split / data.FILE_NAME], COARSE).arrays()
        theirs = data.reader([real], COARSE).arrays()
        assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])
        assert ours[1].shape == (n, 5)  # the five varying factors
    wanted = split_indices(data.GRID, COARSE, COARSE["split_seed"])["validation"]
    x, f = data.reader([tmp_path / "real" / "validation" / data.FILE_NAME], COARSE).read([0, 3])
    assert np.allclose(f, data.GRID.factor_values(data.GRID.classes(wanted[[0, 3]]))[:, 1:])
    assert x.shape == (2, 64, 64, 1) and x.dtype == np.float32



@pytest.mark.parametrize("mutate, key, says", [
    (lambda a: a.pop("imgs"), "imgs", "missing"),
    (lambda a: a.update(imgs=a["imgs"][:, :32]), "imgs", "expected (N, 64, 64)"),
    (lambda a: a.update(imgs=a["imgs"] + 2), "imgs", "values other than 0 and 1"),
    (lambda a: a.update(latents_values=a["latents_values"][:, :5]), "latents_values",
     "shape (20, 5)"),
    (lambda a: a["latents_values"].__setitem__((7, 2), 0.77), "latents_values",
     "row 7"),
    (lambda a: a["latents_classes"].__setitem__((3, 4), 32), "latents_classes",
     "outside the grid"),
])
def test_bad_files_name_the_file_and_key(tmp_path, mutate, key, says):
    classes = data.GRID.classes(np.arange(0, 20 * 997, 997))
    arrays = {"imgs": np.zeros((20, 64, 64), np.uint8), "latents_classes": classes,
              "latents_values": data.GRID.factor_values(classes)}
    mutate(arrays)
    path = tmp_path / "train" / data.FILE_NAME
    path.parent.mkdir()
    np.savez(path, **arrays)
    with pytest.raises(DataError) as e:
        data.check_file(path, CFG)
    assert e.value.key == key and e.value.path == str(path) and says in e.value.message
