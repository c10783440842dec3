"""CloudMask's rule files: the table agrees with the configs, and the closed/open rules judge
logs as rules.md says (Adam in the closed division, the per-scale pixel-accuracy target, the
metric's name, the official dataset)."""

from __future__ import annotations

import pytest

from compliance.api import check_logs
from reference_implementations.common.config import load_config
from reference_implementations.common.mllogger import RankLogger
from sciperf import vocab as K
from tests.compliance.compliance_logs import shipped_table


def test_targets_table_covers_every_scale_and_matches_the_configs():
    targets, checksums = shipped_table("cloudmask")
    assert set(targets) == set(K.SCALES) == set(checksums)
    for scale in K.SCALES:
        assert targets[scale] == load_config("cloudmask", scale).train["target"], scale
    assert checksums["tiny"] and checksums["small"]


def write_run(path, *, division="closed", optimizer="adam", accuracy=(0.90, 0.94, 0.951),
              metric="pixel_accuracy", scale="tiny", checksum=None, status=K.SUCCESS):
    """A run's records as the harness writes them (through its own logger)."""
    _, checksums = shipped_table("cloudmask")
    log = RankLogger(0, path)
    log.event(K.CACHE_CLEAR, True)
    log.start(K.INIT_START)
    for key, value in ((K.SUBMISSION_BENCHMARK, "cloudmask"), (K.SUBMISSION_ORG, "tests"),
                       (K.SUBMISSION_PLATFORM, "2xCPU"), (K.SUBMISSION_DIVISION, division),
                       (K.SUBMISSION_STATUS, "research"), (K.SCIPERF_RULESET, K.RULESET),
                       (K.DATA_SCALE, scale),
                       (K.DATASET_CHECKSUM, checksum or checksums[scale] or "0" * 64),
                       (K.SEED, 3), (K.GLOBAL_BATCH_SIZE, 16), (K.TRAIN_SAMPLES, 1152),
                       (K.EVAL_SAMPLES, 384), (K.NUMBER_OF_NODES, 1),
                       (K.ACCELERATORS_PER_NODE, 0), (K.OPT_NAME, optimizer),
                       (K.OPT_BASE_LR, 0.002), (K.OPT_LR_WARMUP_EPOCHS, 1),
                       (K.OPT_LR_WARMUP_FACTOR, 2), (K.OPT_LR_DECAY_BOUNDARY_EPOCHS, []),
                       (K.OPT_LR_DECAY_FACTOR, 1.0), (K.OPT_WEIGHT_DECAY, 0.0),
                       (K.DROPOUT, 0.0)):
        log.event(key, value)
    if optimizer == "sgd":
        log.event(K.OPT_MOMENTUM, 0.9)
    log.end(K.INIT_STOP)
    log.start(K.RUN_START)
    for epoch, value in enumerate(accuracy, 1):
        log.start(K.EPOCH_START, metadata={K.EPOCH_NUM: epoch})
        log.end(K.EPOCH_STOP, metadata={K.EPOCH_NUM: epoch, "train_loss": 0.2})
        log.start(K.EVAL_START, metadata={K.EPOCH_NUM: epoch})
        log.event(K.EVAL_ACCURACY, value, metadata={K.EPOCH_NUM: epoch, K.METRIC_NAME: metric,
                                                    "f1_cloud": value - 0.01})
        log.end(K.EVAL_STOP, metadata={K.EPOCH_NUM: epoch})
    log.end(K.RUN_STOP, metadata={K.STATUS: status})
    log.close()
    return path


def rules_broken(path) -> list[str]:
    [result] = check_logs([path])
    return sorted(d.extra.get("rule", d.code) for d in result.diagnostics)


def test_a_reference_run_passes(tmp_path):
    assert rules_broken(write_run(tmp_path / "result_0.txt")) == []
    assert rules_broken(write_run(tmp_path / "s" / "result_0.txt", scale="small")) == []


def test_closed_division_trains_with_adam_open_with_anything(tmp_path):
    closed = write_run(tmp_path / "closed" / "result_0.txt", optimizer="sgd")
    assert rules_broken(closed) == ["closed_cloudmask.yaml:opt_name:CHECK[1]"]
    assert rules_broken(write_run(tmp_path / "open" / "result_0.txt", optimizer="sgd",
                                  division="open")) == []


def test_the_target_and_the_metric_name_are_checked(tmp_path):
    short = write_run(tmp_path / "a" / "result_0.txt", accuracy=(0.90, 0.9499),
                      status=K.ABORTED)
    assert rules_broken(short) == ["cloudmask.yaml:eval_accuracy:ATLEAST_ONE_CHECK",
                                   "common.yaml:run_stop:ATLEAST_ONE_CHECK"]
    # A run whose harness was told a lower target still fails the ruleset's.
    lowered = write_run(tmp_path / "b" / "result_0.txt", accuracy=(0.90, 0.93))
    assert rules_broken(lowered) == ["cloudmask.yaml:eval_accuracy:ATLEAST_ONE_CHECK"]
    wrong = write_run(tmp_path / "c" / "result_0.txt", metric="mae")
    assert rules_broken(wrong) == ["cloudmask.yaml:eval_accuracy:CHECK[2]"] * 3


def test_only_the_official_dataset_counts(tmp_path):
    other = write_run(tmp_path / "a" / "result_0.txt", checksum="f" * 64)
    assert rules_broken(other) == ["cloudmask.yaml:dataset_checksum:CHECK[2]"]
    # No full-scale checksum is recorded yet, so no full-scale run can pass.
    full = write_run(tmp_path / "b" / "result_0.txt", scale="full")
    assert "cloudmask.yaml:dataset_checksum:CHECK[1]" in rules_broken(full)


@pytest.mark.parametrize("value", [1.5, -0.1, True])
def test_an_impossible_accuracy_never_counts(tmp_path, value):
    log = write_run(tmp_path / "result_0.txt", accuracy=(0.9, value))
    assert rules_broken(log) == ["cloudmask.yaml:eval_accuracy:ATLEAST_ONE_CHECK"]
