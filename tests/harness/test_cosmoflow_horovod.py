"""CosmoFlow tiny on two ranks under horovodrun, through the harness, end to end."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys

import pytest

from tests.support import (REPO, aborted_metadata, assert_stopped_at_first_target,
                           copy_without_manifest, env, final_stop, generate_data, mllog_records,
                           reference_run, sciperf)
from reference_implementations.common.config import load_config
from sciperf import vocab as K
from tools.launcher import RunPlan

pytestmark = pytest.mark.distributed

CONTRACT = [K.CACHE_CLEAR, K.INIT_START, K.INIT_STOP, K.SUBMISSION_BENCHMARK, K.SUBMISSION_ORG,
            K.SUBMISSION_PLATFORM, K.SUBMISSION_DIVISION, K.SUBMISSION_STATUS, K.SCIPERF_RULESET,
            K.DATA_SCALE, K.DATASET_CHECKSUM, K.SEED, K.GLOBAL_BATCH_SIZE, K.TRAIN_SAMPLES,
            K.EVAL_SAMPLES, K.NUMBER_OF_NODES, K.ACCELERATORS_PER_NODE, K.OPT_NAME, K.OPT_BASE_LR,
            K.OPT_LR_WARMUP_EPOCHS, K.OPT_LR_WARMUP_FACTOR, K.OPT_LR_DECAY_BOUNDARY_EPOCHS,
            K.OPT_LR_DECAY_FACTOR, K.OPT_WEIGHT_DECAY, K.DROPOUT, K.RUN_START, K.EPOCH_START,
            K.EPOCH_STOP, K.EVAL_START, K.EVAL_STOP, K.EVAL_ERROR, K.RUN_STOP]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return generate_data(tmp_path_factory, "cosmoflow")


def horovod_run(tmp_path, data_dir, seed=11, name="result_0.txt"):
    return reference_run("cosmoflow", tmp_path, data_dir, seed=seed, name=name, timeout=600)


def test_two_ranks_reach_the_target_with_the_whole_contract(tmp_path, tiny_data):
    proc, recs, _, sums = horovod_run(tmp_path, tiny_data)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    keys = [r["key"] for r in recs]
    for key in CONTRACT:
        assert key in keys, f"log lacks {key}"
    assert final_stop(recs)["metadata"]["status"] == K.SUCCESS
    assert next(r["value"] for r in recs if r["key"] == K.DATA_SCALE) == "tiny"
    assert_stopped_at_first_target(recs, "cosmoflow",
                                   load_config("cosmoflow", "tiny").train["target"])
    # Rank 0 alone writes the log: each record once.
    assert keys.count(K.RUN_START) == 1 and keys.count(K.SEED) == 1
    # Both ranks end with identical weights.
    assert set(sums) == {"0", "1"} and sums["0"] == sums["1"], proc.stdout[-2000:]
    gbs = next(r["value"] for r in recs if r["key"] == K.GLOBAL_BATCH_SIZE)
    assert gbs == 2 * load_config("cosmoflow", "tiny").train["batch_size"]


def test_same_seed_same_ranks_same_eval_sequence(tmp_path, tiny_data):
    runs = [horovod_run(tmp_path, tiny_data, seed=5, name=f"result_{i}.txt") for i in (0, 1)]
    seqs = [[r["value"] for r in recs if r["key"] == K.EVAL_ERROR] for _, recs, _, _ in runs]
    assert len(seqs[0]) == len(seqs[1]) and seqs[0]
    assert seqs[0] == pytest.approx(seqs[1], rel=1e-5, abs=1e-6)


def test_missing_data_directory_aborts_with_its_name(tmp_path):
    missing = tmp_path / "no-such-data"
    run = horovod_run(tmp_path, missing)
    aborted_metadata(run, str(missing), "does not exist")
    assert str(missing) in run.proc.stderr + run.proc.stdout


def test_wrong_shape_record_is_named(tmp_path, tiny_data):
    import tensorflow as tf

    data = copy_without_manifest(tiny_data, tmp_path / "data")
    victim = sorted((data / "train").iterdir())[0]
    example = tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"\0\0" * 10])),
        "y": tf.train.Feature(float_list=tf.train.FloatList(value=[0.0] * 4))}))
    with tf.io.TFRecordWriter(str(victim), options="GZIP") as w:
        w.write(example.SerializeToString())
    aborted_metadata(horovod_run(tmp_path, data), victim.name)


def test_corrupt_record_is_named(tmp_path, tiny_data):
    data = copy_without_manifest(tiny_data, tmp_path / "data")
    victim = sorted((data / "validation").iterdir())[0]
    raw = bytearray(gzip.decompress(victim.read_bytes()))
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)  # zero a stretch inside a record
    victim.write_bytes(gzip.compress(bytes(raw)))
    aborted_metadata(horovod_run(tmp_path, data), victim.name)


def test_manifest_catches_a_modified_file(tmp_path, tiny_data):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    victim = sorted((data / "train").iterdir())[-1]
    victim.write_bytes(victim.read_bytes() + b"\0")
    aborted_metadata(horovod_run(tmp_path, data), victim.name, "sha256")


def test_sigterm_leaves_an_aborted_log(tmp_path, tiny_data):
    """A run stopped by the scheduler still ends its log with run_stop aborted."""
    import signal
    import time

    result = tmp_path / "result_0.txt"
    cmd = RunPlan("cosmoflow", "tiny", 1, None, "none", str(tiny_data),
                  ["train.target=0.0", "train.max_epochs=1000"]).command(3, result)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (result.exists() and any(r["key"] == K.EPOCH_STOP
                                       for r in mllog_records(result))):
        if time.time() > deadline:  # initialisation must not grow with max_epochs
            proc.kill()
            pytest.fail("no epoch ended within 120 s of the start")
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    stop = mllog_records(result)[-1]
    assert stop["key"] == K.RUN_STOP and stop["metadata"]["status"] == K.ABORTED
    assert "SIGTERM" in stop["metadata"]["reason"]
    assert proc.returncode == 1 and "Traceback" not in err


def test_submission_layout_and_throughput_mode(tmp_path, tiny_data):
    """--org/--system write the MLPerf HPC layout with the submission_* keys from the flags;
    --models M runs M concurrent instances whose logs go under weak/."""
    r = sciperf("run", "cosmoflow", "--scale", "tiny", "--np", 1, "--models", 2, "--seed", 21,
                "--data-dir", tiny_data, "--out", tmp_path, "--org", "ACME", "--system", "box-1",
                "--division", "open", "--status", "preview")
    weak = tmp_path / "ACME" / "results" / "box-1" / "weak" / "cosmoflow"
    logs = sorted(weak.glob("result_*.txt"))
    assert [p.name for p in logs] == ["result_0.txt", "result_1.txt"], r.stdout + r.stderr
    seeds = set()
    for log in logs:
        recs = {rec["key"]: rec for rec in mllog_records(log)}
        assert recs[K.SUBMISSION_ORG]["value"] == "ACME"
        assert recs[K.SUBMISSION_PLATFORM]["value"] == "box-1"
        assert recs[K.SUBMISSION_DIVISION]["value"] == "open"
        assert recs[K.SUBMISSION_STATUS]["value"] == "preview"
        assert recs[K.RUN_STOP]["metadata"]["status"] == K.SUCCESS
        seeds.add(recs[K.SEED]["value"])
    assert len(seeds) == 2, "every instance has its own seed"


def test_launcher_commands():
    plan = RunPlan("cosmoflow", "tiny", 4, "n1:2,n2:2", "horovodrun", None, ["run.org=X"])
    cmd = plan.command(9, REPO / "r.txt")
    assert cmd[1:3] == ["-m", "tools.hvdrun"] and cmd[3:7] == ["-np", "4", "-H", "n1:2,n2:2"]
    assert cmd[cmd.index("--seed") + 1] == "9" and ["--set", "run.org=X"] == cmd[-2:]
    assert RunPlan("cosmoflow", "tiny", 8, None, "srun", None, []).command(1, REPO)[0] == "srun"
    assert RunPlan("cosmoflow", "tiny", 1, None, "none", None, []).command(1, REPO)[0] == \
        sys.executable
