"""CloudMask tiny end to end: `sciperf data generate`, two ranks under horovodrun through the
harness, the log through check-compliance; bad HDF5 files abort the run with the file and the
dataset key named."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tests.support import (REPO, aborted_metadata, assert_stopped_at_first_target,
                           copy_without_manifest, env, final_stop, generate_data,
                           reference_run)
from reference_implementations.common.config import load_config
from sciperf import vocab as K

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return generate_data(tmp_path_factory, "cloudmask")


def horovod_run(tmp_path, data_dir, seed=3):
    return reference_run("cloudmask", tmp_path, data_dir, seed=seed)


def test_two_ranks_reach_the_target_and_the_log_is_compliant(tmp_path, tiny_data):
    proc, recs, result, sums = horovod_run(tmp_path, tiny_data)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert final_stop(recs)["metadata"]["status"] == K.SUCCESS
    # Batch norm keeps per-rank statistics; the harness averages them before every evaluation,
    # so both ranks end with one model.
    assert set(sums) == {"0", "1"} and sums["0"] == sums["1"], sums
    evals = [r for r in recs if r["key"] == K.EVAL_ACCURACY]
    assert evals and all(r["metadata"][K.METRIC_NAME] == "pixel_accuracy" for r in evals)
    assert all("f1_cloud" in r["metadata"] for r in evals)
    assert_stopped_at_first_target(recs, "cloudmask",
                                   load_config("cloudmask", "tiny").train["target"])
    check = subprocess.run([sys.executable, "-m", "compliance.cli", str(result), "--format",
                            "json"], cwd=REPO, env=env(), capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    assert json.loads(check.stdout)["files"][0]["verdict"] == "pass"


def test_truncated_scene_aborts_the_run_naming_the_file(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    victim = sorted((data / "train").glob("*.hdf"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 3])
    reason = aborted_metadata(horovod_run(tmp_path, data))["reason"]
    assert str(victim) in reason and "truncated" in reason, reason


def test_mislabelled_scene_aborts_the_run_naming_file_and_key(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    victim = sorted((data / "validation").glob("*.hdf"))[-1]
    with h5py.File(victim, "r+") as f:
        f.move("bayes", "cloud_mask")
    reason = aborted_metadata(horovod_run(tmp_path, data))["reason"]
    assert reason.startswith(f"{victim}: bayes: dataset missing"), reason


def test_wrong_shape_scene_aborts_the_run_naming_file_and_key(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    victim = sorted((data / "train").glob("*.hdf"))[-1]
    with h5py.File(victim, "r+") as f:
        refs = f["refs"][()]
        del f["refs"]
        f.create_dataset("refs", data=np.ascontiguousarray(refs[:, :, :5]))
    reason = aborted_metadata(horovod_run(tmp_path, data))["reason"]
    assert reason.startswith(f"{victim}: refs: shape"), reason
