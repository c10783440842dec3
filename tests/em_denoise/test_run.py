"""em_denoise through the harness: a 2-rank horovodrun run at tiny scale reaches the target and
its log passes check-compliance; bad data aborts the run with the file named."""

from __future__ import annotations

import shutil
import subprocess

import h5py
import numpy as np
import pytest

from tests.support import REPO, env, mllog_records, sciperf
from reference_implementations.common.config import load_config
from reference_implementations.em_denoise import data as D
from sciperf import vocab as K
from tools.launcher import RunPlan

pytestmark = pytest.mark.distributed


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("em_denoise") / "tiny"
    r = sciperf("data", "generate", "em_denoise", "--scale", "tiny", "--out", out, "--workers", 2)
    assert r.returncode == 0, r.stderr
    return out


def run(tmp_path, data_dir, ranks=2, seed=7, extra=()):
    result = tmp_path / "result_0.txt"
    cmd = RunPlan("em_denoise", "tiny", ranks, None, "horovodrun" if ranks > 1 else "none",
                  str(data_dir), list(extra)).command(seed, result)
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=900)
    return proc, result, mllog_records(result) if result.exists() else []


@pytest.mark.slow
def test_two_ranks_reach_the_target_and_pass_check_compliance(tmp_path, tiny_data):
    proc, result, recs = run(tmp_path, tiny_data)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    psnr = [r for r in recs if r["key"] == K.EVAL_ACCURACY]
    assert psnr and all(r["metadata"][K.METRIC_NAME] == "psnr_db" for r in psnr)
    assert {"mse", "ssim"} <= set(psnr[-1]["metadata"])
    assert psnr[-1]["value"] >= load_config("em_denoise", "tiny").train["target"]
    assert recs[-1]["key"] == K.RUN_STOP and recs[-1]["metadata"]["status"] == K.SUCCESS
    check = sciperf("check", result)
    assert check.returncode == 0, check.stdout + check.stderr


def _aborted_with(recs, *needles):
    assert recs and recs[-1]["key"] == K.RUN_STOP, "the log must end with run_stop"
    meta = recs[-1]["metadata"]
    assert meta["status"] == K.ABORTED
    for needle in needles:
        assert needle in meta["reason"], meta["reason"]
    return meta


def _copy_without_manifest(src, dst):
    shutil.copytree(src, dst)
    (dst / K.MANIFEST_NAME).unlink()  # as the real data comes: the reader must check
    return dst


def test_noisy_and_clean_counts_disagree(tmp_path, tiny_data):
    data = _copy_without_manifest(tiny_data, tmp_path / "data")
    clean = data / "train" / D.CLEAN_FILE
    with h5py.File(clean, "r+") as f:
        kept = f["images"][:-3]
        del f["images"]
        f.create_dataset("images", data=kept)
    proc, _, recs = run(tmp_path, data)
    meta = _aborted_with(recs, str(data / "train" / D.NOISY_FILE), str(clean), "images")
    assert "(512, 64, 64, 1)" in meta["reason"] and "(509, 64, 64, 1)" in meta["reason"]
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr


def test_noisy_and_clean_shapes_disagree(tmp_path, tiny_data):
    data = _copy_without_manifest(tiny_data, tmp_path / "data")
    noisy = data / "test" / D.NOISY_FILE
    with h5py.File(noisy, "w") as f:
        f.create_dataset("images", data=np.zeros((128, 32, 32, 1), np.float32))
    proc, _, recs = run(tmp_path, data, ranks=1)
    _aborted_with(recs, str(noisy), "images", "expected (N, 64, 64, 1)")
    assert "Traceback" not in proc.stdout + proc.stderr


def test_manifest_catches_a_modified_file(tmp_path, tiny_data):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    victim = data / "train" / D.NOISY_FILE
    with h5py.File(victim, "r+") as f:
        f["images"][0, 0, 0, 0] += 1.0
    _, _, recs = run(tmp_path, data, ranks=1, extra=["train.max_epochs=1"])
    _aborted_with(recs, str(victim), "sha256")
