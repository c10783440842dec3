"""What the blueprint's two datasets share: `sciperf data generate` is deterministic whatever
the workers and shows a line per file, a truncated file is named, a published file left outside
the split folders gets the fix, and `sciperf run` says there is no training yet."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from reference_implementations.common.config import load_config
from reference_implementations.common.data import DataError
from tests.support import sciperf

BENCHMARKS = ("dsprites", "shapes3d")


def checksum(r) -> str:
    assert r.returncode == 0, r.stderr
    return r.stdout.rsplit("dataset checksum ", 1)[1].strip()


@pytest.fixture(scope="module", params=BENCHMARKS)
def tiny(request, tmp_path_factory):
    """(benchmark, data module, tiny data folder, its checksum), generated with 2 workers."""
    bench = request.param
    out = tmp_path_factory.mktemp(bench) / "tiny"
    r = sciperf("data", "generate", bench, "--scale", "tiny", "--out", out, "--workers", 2)
    for split, n in (("train", "4,096"), ("validation", "5,000")):
        assert f"{bench} {split}: {n}/{n} images (100 %)" in r.stderr  # a line per file
    return bench, importlib.import_module(f"reference_implementations.{bench}.data"), out, \
        checksum(r)


def test_generation_is_deterministic_and_workers_do_not_change_it(tiny, tmp_path):
    bench, _, _, first = tiny
    assert checksum(sciperf("data", "generate", bench, "--scale", "tiny", "--out",
                            tmp_path / "d")) == first


def test_a_truncated_file_is_named(tiny, tmp_path):
    bench, data, out, _ = tiny
    path = tmp_path / "train" / data.FILE_NAME
    path.parent.mkdir()
    path.write_bytes((out / "train" / data.FILE_NAME).read_bytes()[:1_000_000])
    with pytest.raises(DataError, match="cannot be read") as e:
        data.check_file(path, load_config(bench, "tiny").data)
    assert e.value.path == str(path)


def test_a_published_file_not_linked_into_split_folders_says_how(tiny, tmp_path):
    bench, data, out, _ = tiny
    (tmp_path / data.FILE_NAME).write_bytes((out / "train" / data.FILE_NAME).read_bytes())
    with pytest.raises(DataError, match="link it into train/ and validation/"):
        data.list_splits(tmp_path, load_config(bench, "tiny").data)


@pytest.mark.parametrize("bench", BENCHMARKS)
def test_sciperf_run_says_there_is_no_training_yet(bench, tmp_path):
    r = sciperf("run", bench, "--out", tmp_path)
    assert r.returncode == 2 and "no training entry point yet" in r.stderr
    assert "Traceback" not in r.stderr


def test_make_dataset_gives_training_pairs_and_evaluation_factors(tiny):
    bench, data, out, _ = tiny
    cfg = load_config(bench, "tiny").data
    files = data.list_splits(out, cfg)
    x, y = next(iter(data.make_dataset(files["train"], cfg, batch_size=8, training=True,
                                       shuffle_seed=1)))
    assert x.shape[:3] == (8, 64, 64) and np.array_equal(x.numpy(), y.numpy())
    assert 0.0 <= x.numpy().min() and x.numpy().max() <= 1.0
    x, f = next(iter(data.make_dataset(files["validation"], cfg, batch_size=8, training=False,
                                       shuffle_seed=None)))
    images, factors = data.reader(files["validation"], cfg).arrays()
    assert np.allclose(x.numpy().reshape(images[:8].shape) * (255 if images.ndim == 4 else 1),
                       images[:8])
    assert np.allclose(f.numpy(), factors[:8]) and f.shape == (8, len(data.FACTORS))
