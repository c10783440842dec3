"""common/trained.py: the model a run keeps beside its log. The folder loads back into the same
model (same weights, same hash), and a folder that is not whole or not what it records is a
ModelError naming the file, never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reference_implementations.common import trained
from reference_implementations.common.config import load_config
from reference_implementations.em_denoise import model as em_model
from sciperf import layout


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    cfg = load_config("em_denoise", "tiny", overrides=["run.seed=5"])
    model = em_model.build(cfg)
    folder = tmp_path_factory.mktemp("run") / "model_0"
    sha = trained.save(model, cfg, folder)
    return cfg, model, folder, sha


def test_model_dir_sits_beside_the_log(tmp_path):
    assert layout.model_dir(tmp_path / "result_3.txt") == tmp_path / "model_3"
    assert layout.model_dir(tmp_path / "run.txt") == tmp_path / "run.model"
    assert layout.is_model_dir(tmp_path / "model_3")
    assert not layout.is_model_dir(tmp_path / "result_3.txt")


def test_a_kept_model_loads_back_the_same(kept):
    cfg, model, folder, sha = kept
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [trained.CONFIG_FILE, trained.WEIGHTS_FILE, trained.MODEL_FILE])
    assert json.loads((folder / trained.MODEL_FILE).read_text())["weights_sha256"] == sha
    cfg2, model2, lib = trained.load(folder)
    assert lib is em_model
    assert (cfg2.benchmark, cfg2.scale, cfg2.run["seed"]) == ("em_denoise", "tiny", 5)
    assert trained.weights_sha256(model2) == sha
    for a, b in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_hash_is_of_the_weights(kept):
    _, model, _, sha = kept
    w = model.get_weights()
    w[0] = w[0] + 1.0
    other = em_model.build(load_config("em_denoise", "tiny"))
    other.set_weights(w)
    assert trained.weights_sha256(other) != sha


def test_missing_folder(tmp_path):
    with pytest.raises(trained.ModelError, match="no such model folder"):
        trained.load(tmp_path / "model_9")


def test_a_recorded_hash_that_does_not_match(kept, tmp_path):
    import shutil

    _, _, folder, _ = kept
    copy = tmp_path / "model_0"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / trained.MODEL_FILE).read_text())
    meta["weights_sha256"] = "0" * 64
    (copy / trained.MODEL_FILE).write_text(json.dumps(meta))
    with pytest.raises(trained.ModelError, match="not the model the run kept"):
        trained.load(copy)


@pytest.mark.parametrize("damage", ["truncate", "config", "model_json"])
def test_damaged_folders_name_the_file(kept, tmp_path, damage):
    import shutil

    _, _, folder, _ = kept
    copy = tmp_path / "model_0"
    shutil.copytree(folder, copy)
    if damage == "truncate":
        victim = copy / trained.WEIGHTS_FILE
        victim.write_bytes(victim.read_bytes()[:200])
    elif damage == "config":
        victim = copy / trained.CONFIG_FILE
        victim.write_text("benchmark: [unclosed\n")
    else:
        victim = copy / trained.MODEL_FILE
        victim.write_text("{}")
    with pytest.raises(trained.ModelError) as e:
        trained.load(copy)
    assert str(victim) in str(e.value)
