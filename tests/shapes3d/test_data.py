"""shapes3d data: the generator's determinism, layout, values and factor grid, the renderer's
scenes (floor, wall and object in their hues), and the reader on files in the published
3dshapes layout."""

from __future__ import annotations

import colorsys

import h5py
import numpy as np
import pytest

from reference_implementations.common.config import load_config
from reference_implementations.common.data import DataError
from reference_implementations.shapes3d import data, render
from tests.support import generate_data

CFG = load_config("shapes3d", "tiny").data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return generate_data(tmp_path_factory, "shapes3d")



def test_splits_are_disjoint_samples_of_the_scale_grid_in_the_published_layout(tiny):
    out = tiny
    seen = {}
    for split, n in (("train", 4096), ("validation", 5000)):
        path = out / split / data.FILE_NAME
        with h5py.File(path, "r") as f:
            assert sorted(f.keys()) == ["images", "labels"]
            images, labels = f["images"][()], f["labels"][()]
        assert images.shape == (n, 64, 64, 3) and images.dtype == np.uint8
        assert labels.shape == (n, 6) and labels.dtype == np.float64
        assert images.std() > 20  # scenes, not blank
        classes = data.GRID.classes_of_values(labels)
        assert classes is not None
        # every 2nd hue and scale, every 3rd orientation, all four shapes
        for i, stride in enumerate((2, 2, 2, 2, 1, 3)):
            assert set(classes[:, i]) == set(range(0, data.GRID.sizes[i], stride))
        flat = np.ravel_multi_index(classes.T, data.GRID.sizes)
        assert (np.diff(flat) > 0).all()
        seen[split] = set(flat)
        assert data.check_file(path, CFG) == n
    assert not seen["train"] & seen["validation"]


def hue(rgb) -> float:
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, dtype=float) / 255))[0]


@pytest.mark.parametrize("shape", range(4))
def test_each_scene_shows_the_floor_wall_and_object_in_their_hues(shape):
    # the talk's example: a small green cube (0.3), a blue wall (0.6), a yellow floor (0.2)
    (img,) = render.image(np.array([[0.2, 0.6, 0.3, 0.75, shape, 0.0]]))
    assert hue(img[2, 2]) == pytest.approx(0.6, abs=0.02)  # top corner: the wall
    assert hue(img[61, 2]) == pytest.approx(0.2, abs=0.02)  # bottom corner: the floor
    assert hue(img[38, 32]) == pytest.approx(0.3, abs=0.02)  # the middle: the object
    # lit and shaded: the object's pixels span a range of brightness, and its shadow darkens
    # the floor beside it
    w = render.geometry(0.75, shape, 0.0)
    on_object = w[..., render.OBJECT] > 0.99 * w.sum(axis=-1) - w[..., 3]
    brightness = w[..., render.OBJECT][on_object]
    assert brightness.max() - brightness.min() > 0.1  # a cube's faces differ by 0.14
    floor = w[..., render.FLOOR]
    assert floor[floor > 0].min() < render.AMBIENT + 0.05 < floor.max()


def test_scale_and_orientation_change_the_scene():
    base = render.geometry(0.75, 0, 0.0)[..., render.OBJECT] > 0
    big = render.geometry(1.25, 0, 0.0)[..., render.OBJECT] > 0
    assert big.sum() > 2 * base.sum()
    # the room turns with the object: a sphere's scene differs only through the wall and floor
    turned = render.geometry(1.0, 2, 30.0)
    straight = render.geometry(1.0, 2, 0.0)
    assert not np.allclose(turned[..., render.WALL], straight[..., render.WALL])
    assert np.abs((turned[..., render.OBJECT] > 0).sum() -
                  (straight[..., render.OBJECT] > 0).sum()) < 0.05 * (straight[..., 2] > 0).sum()


def published(path, flat):
    """A file as the published 3dshapes.h5 is laid out (written chunked and compressed here)."""
    labels = data.GRID.factor_values(data.GRID.classes(flat))
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=render.image(labels), chunks=(8, 64, 64, 3),
                         compression="gzip")
        f.create_dataset("labels", data=labels)


COARSE = {**CFG, "grid": {"floor_hue": 5, "wall_hue": 5, "object_hue": 5, "scale": 4,
                          "orientation": 5}, "train_images": 60, "validation_images": 30}


def test_the_published_whole_grid_is_read_as_each_splits_rows(tmp_path):
    grid = data.GRID.subgrid(COARSE)  # 2 x 2 x 2 x 2 x 4 x 3 = 192 points
    for split in ("train", "validation"):
        published(tmp_path / "real" / split / data.FILE_NAME, grid)
    data.generate(tmp_path / "ours", COARSE, COARSE["split_seed"])
    for split, n in (("train", 60), ("validation", 30)):
        real = tmp_path / "real" / split / data.FILE_NAME
        assert data.check_file(real, COARSE) == n
        ours = data.reader([tmp_path / "ours" / split / data.FILE_NAME], COARSE).arrays()
        theirs = data.reader([real], COARSE).arrays()
        assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])
    x, f = data.reader([tmp_path / "real" / "train" / data.FILE_NAME], COARSE).read([5, 1])
    assert x.shape == (2, 64, 64, 3) and 0.0 <= x.min() and x.max() <= 1.0 and f.shape == (2, 6)


def write(path, images=None, labels=None, skip=()):
    flat = np.arange(0, 30 * 1597, 1597)
    lab = data.GRID.factor_values(data.GRID.classes(flat)) if labels is None else labels
    img = np.zeros((30, 64, 64, 3), np.uint8) if images is None else images
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        if "images" not in skip:
            f.create_dataset("images", data=img)
        if "labels" not in skip:
            f.create_dataset("labels", data=lab)
    return path


@pytest.mark.parametrize("kwargs, key, says", [
    (dict(skip=("images",)), "images", "missing or not a dataset"),
    (dict(skip=("labels",)), "labels", "missing or not a dataset"),
    (dict(images=np.zeros((30, 64, 64), np.uint8)), "images", "expected (N, 64, 64, 3) uint8"),
    (dict(images=np.zeros((30, 64, 64, 3), np.float32)), "images", "expected (N, 64, 64, 3)"),
    (dict(labels=np.zeros((30, 5))), "labels", "shape (30, 5)"),
    (dict(labels=np.full((30, 6), 0.05)), "labels", "row 0"),
    (dict(labels=np.where(np.arange(30)[:, None] == 4, np.nan,
                          data.GRID.factor_values(data.GRID.classes(np.arange(30))))),
     "labels", "row 4"),
])
def test_bad_files_name_the_file_and_key(tmp_path, kwargs, key, says):
    path = write(tmp_path / "train" / data.FILE_NAME, **kwargs)
    with pytest.raises(DataError) as e:
        data.check_file(path, CFG)
    assert e.value.key == key and e.value.path == str(path) and says in e.value.message
