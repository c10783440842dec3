"""em_denoise through the harness: a 2-rank horovodrun run at tiny scale reaches the target and
its log passes check-compliance; bad data aborts the run with the file named."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from tests.support import (aborted_metadata, assert_kept_model,
                           assert_stopped_at_first_target, copy_without_manifest, generate_data, reference_run, sciperf)
from reference_implementations.common.config import load_config
from reference_implementations.em_denoise import data as D
from sciperf import vocab as K

pytestmark = pytest.mark.distributed


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return generate_data(tmp_path_factory, "em_denoise")


def run(tmp_path, data_dir, ranks=2, seed=7, extra=()):
    return reference_run("em_denoise", tmp_path, data_dir, seed=seed, ranks=ranks,
                         overrides=extra)


@pytest.mark.slow
def test_two_ranks_reach_the_target_and_pass_check_compliance(tmp_path, tiny_data):
    ran = run(tmp_path, tiny_data)
    proc, recs, result, _ = ran
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert_kept_model(ran)
    psnr = [r for r in recs if r["key"] == K.EVAL_ACCURACY]
    assert psnr and all(r["metadata"][K.METRIC_NAME] == "psnr_db" for r in psnr)
    assert {"mse", "ssim"} <= set(psnr[-1]["metadata"])
    assert_stopped_at_first_target(recs, "em_denoise",
                                   load_config("em_denoise", "tiny").train["target"])
    check = sciperf("check", result)
    assert check.returncode == 0, check.stdout + check.stderr


def test_noisy_and_clean_counts_disagree(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    clean = data / "train" / D.CLEAN_FILE
    with h5py.File(clean, "r+") as f:
        kept = f["images"][:-3]
        del f["images"]
        f.create_dataset("images", data=kept)
    aborted_metadata(run(tmp_path, data), str(data / "train" / D.NOISY_FILE), str(clean),
                     "images", "(512, 64, 64, 1)", "(509, 64, 64, 1)")


def test_noisy_and_clean_shapes_disagree(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    noisy = data / "test" / D.NOISY_FILE
    with h5py.File(noisy, "w") as f:
        f.create_dataset("images", data=np.zeros((128, 32, 32, 1), np.float32))
    aborted_metadata(run(tmp_path, data, ranks=1), str(noisy), "images",
                     "expected (N, 64, 64, 1)")


def test_manifest_catches_a_modified_file(tmp_path, tiny_data):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    victim = data / "train" / D.NOISY_FILE
    with h5py.File(victim, "r+") as f:
        f["images"][0, 0, 0, 0] += 1.0
    aborted_metadata(run(tmp_path, data, ranks=1, extra=["train.max_epochs=1"]), str(victim),
                     "sha256")
