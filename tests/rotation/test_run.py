"""rotation through the harness: a 2-rank horovodrun run at tiny scale reaches the target, logs
the panel and passes check-compliance; a mislabelled or truncated file aborts the run with the
file and the key named."""

from __future__ import annotations

import h5py
import pytest

from reference_implementations.common.config import load_config
from sciperf import vocab as K
from tests.support import (aborted_metadata, final_stop, copy_without_manifest, generate_data,
                           reference_run, sciperf)

pytestmark = pytest.mark.distributed


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return generate_data(tmp_path_factory, "rotation")


def run(tmp_path, data_dir, ranks=2, seed=7, extra=()):
    return reference_run("rotation", tmp_path, data_dir, seed=seed, ranks=ranks,
                         overrides=extra)


@pytest.mark.slow
def test_two_ranks_reach_the_target_and_pass_check_compliance(tmp_path, tiny_data):
    proc, recs, result, weights = run(tmp_path, tiny_data)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(set(weights.values())) == 1 and len(weights) == 2  # the ranks agree
    bench = K.BENCHMARKS["rotation"]
    acc = [r for r in recs if r["key"] == K.EVAL_ACCURACY]
    assert acc and all(r["metadata"][K.METRIC_NAME] == "top1_accuracy" for r in acc)
    assert acc[-1]["value"] >= load_config("rotation", "tiny").train["target"]
    for key in bench.panel:  # a record each, every epoch
        panel = [r for r in recs if r["key"] == key]
        assert len(panel) == len(acc) and all(0 <= r["value"] <= 1 for r in panel), key
    assert {(r["key"], r["value"]) for r in recs if r["key"] in (K.METHOD,
                                                                 K.DATA_AUGMENTATION)} == {
        (K.METHOD, "gcnn"), (K.DATA_AUGMENTATION, "none")}
    assert final_stop(recs)["metadata"]["status"] == K.SUCCESS  # then the kept model's hash
    check = sciperf("check", result)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_mislabelled_file_aborts_the_run_naming_file_and_key(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    victim = data / "train" / "Galaxy10_DECals_001.h5"
    with h5py.File(victim, "r+") as f:
        f["ans"][5] = 12
    aborted_metadata(run(tmp_path, data), str(victim), "ans: label 12 of image 5 is not a class")


def test_a_truncated_file_aborts_the_run_naming_it(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    victim = data / "validation" / "Galaxy10_DECals_002.h5"
    raw = victim.read_bytes()
    victim.write_bytes(raw[: len(raw) // 2])
    aborted_metadata(run(tmp_path, data, ranks=1), str(victim), "truncated or corrupt")
