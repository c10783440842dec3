"""em_denoise's rule files: the targets table agrees with the configs, the recorded tiny checksum
is what the generator writes, and the closed/open rules judge logs as rules.md says."""

from __future__ import annotations

import pytest

from compliance.api import check_logs
from reference_implementations.common.config import load_config
from reference_implementations.common.mllogger import RankLogger
from sciperf import vocab as K
from tests.compliance.compliance_logs import shipped_table


def test_targets_table_covers_every_scale_and_matches_the_configs():
    targets, checksums = shipped_table("em_denoise")
    assert set(targets) == set(K.SCALES) == set(checksums)
    for scale in K.SCALES:
        assert targets[scale] == load_config("em_denoise", scale).train["target"], scale
    assert checksums["tiny"] and checksums["small"]


@pytest.mark.slow
def test_recorded_tiny_checksum_is_what_the_generator_writes(tmp_path):
    from reference_implementations.common.generate import generate

    checksum, files, _ = generate("em_denoise", "tiny", tmp_path / "tiny", workers=2)
    assert files == 4
    assert checksum == shipped_table("em_denoise")[1]["tiny"], (
        "the generator's output changed: regenerate the tiny data, recalibrate if the images "
        "changed, and record the new checksum in em_denoise.yaml")


def write_run(path, *, division="closed", optimizer="adam", psnr=(18.0, 20.5, 21.7),
              metric="psnr_db", scale="tiny", status=K.SUCCESS):
    """A run's records as the harness writes them (through its own logger)."""
    _, checksums = shipped_table("em_denoise")
    log = RankLogger(0, path)
    log.event(K.CACHE_CLEAR, True)
    log.start(K.INIT_START)
    for key, value in ((K.SUBMISSION_BENCHMARK, "em_denoise"), (K.SUBMISSION_ORG, "tests"),
                       (K.SUBMISSION_PLATFORM, "2xCPU"), (K.SUBMISSION_DIVISION, division),
                       (K.SUBMISSION_STATUS, "research"), (K.SCIPERF_RULESET, K.RULESET),
                       (K.DATA_SCALE, scale), (K.DATASET_CHECKSUM, checksums[scale]),
                       (K.SEED, 3), (K.GLOBAL_BATCH_SIZE, 16), (K.TRAIN_SAMPLES, 512),
                       (K.EVAL_SAMPLES, 128), (K.NUMBER_OF_NODES, 1),
                       (K.ACCELERATORS_PER_NODE, 0), (K.OPT_NAME, optimizer),
                       (K.OPT_BASE_LR, 0.001), (K.OPT_LR_WARMUP_EPOCHS, 1),
                       (K.OPT_LR_WARMUP_FACTOR, 2), (K.OPT_LR_DECAY_BOUNDARY_EPOCHS, []),
                       (K.OPT_LR_DECAY_FACTOR, 1.0), (K.OPT_WEIGHT_DECAY, 0.0),
                       (K.DROPOUT, 0.0)):
        log.event(key, value)
    if optimizer == "sgd":
        log.event(K.OPT_MOMENTUM, 0.9)
    log.end(K.INIT_STOP)
    log.start(K.RUN_START)
    for epoch, value in enumerate(psnr, 1):
        log.start(K.EPOCH_START, metadata={K.EPOCH_NUM: epoch})
        log.end(K.EPOCH_STOP, metadata={K.EPOCH_NUM: epoch, "train_loss": -value})
        log.start(K.EVAL_START, metadata={K.EPOCH_NUM: epoch})
        log.event(K.EVAL_ACCURACY, value, metadata={K.EPOCH_NUM: epoch, K.METRIC_NAME: metric,
                                                    "mse": 0.01, "ssim": 0.8})
        log.end(K.EVAL_STOP, metadata={K.EPOCH_NUM: epoch})
    log.end(K.RUN_STOP, metadata={K.STATUS: status})
    log.close()
    return path


def rules_broken(path) -> list[str]:
    [result] = check_logs([path])
    return sorted(d.extra.get("rule", d.code) for d in result.diagnostics)


def test_a_reference_run_passes(tmp_path):
    assert rules_broken(write_run(tmp_path / "result_0.txt")) == []


def test_closed_division_trains_with_adam_open_with_anything(tmp_path):
    closed = write_run(tmp_path / "closed" / "result_0.txt", optimizer="sgd")
    assert rules_broken(closed) == ["closed_em_denoise.yaml:opt_name:CHECK[1]"]
    assert rules_broken(write_run(tmp_path / "open" / "result_0.txt", optimizer="sgd",
                                  division="open")) == []


def test_the_target_and_the_metric_name_are_checked(tmp_path):
    short = write_run(tmp_path / "a" / "result_0.txt", psnr=(18.0, 21.49), status=K.ABORTED)
    assert rules_broken(short) == ["common.yaml:run_stop:ATLEAST_ONE_CHECK",
                                   "em_denoise.yaml:eval_accuracy:ATLEAST_ONE_CHECK"]
    # small's target is higher: 21.7 dB passes at tiny, not at small
    small = write_run(tmp_path / "b" / "result_0.txt", scale="small")
    assert rules_broken(small) == ["em_denoise.yaml:eval_accuracy:ATLEAST_ONE_CHECK"]
    wrong = write_run(tmp_path / "c" / "result_0.txt", metric="mae")
    assert rules_broken(wrong) == ["em_denoise.yaml:eval_accuracy:CHECK[2]"] * 3
