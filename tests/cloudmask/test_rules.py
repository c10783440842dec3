"""CloudMask's rule files: the table agrees with the configs, and the closed/open rules judge
logs as rules.md says (Adam in the closed division, the per-scale pixel-accuracy target, the
metric's name, the official dataset)."""

from __future__ import annotations

import pytest

from reference_implementations.common.config import load_config
from sciperf import vocab as K
from tests.compliance.compliance_logs import rules_broken, shipped_table, write_shipped_run


def test_targets_table_covers_every_scale_and_matches_the_configs():
    targets, checksums = shipped_table("cloudmask")
    assert set(targets) == set(K.SCALES) == set(checksums)
    for scale in K.SCALES:
        assert targets[scale] == load_config("cloudmask", scale).train["target"], scale
    assert checksums["tiny"] and checksums["small"]


def write_run(path, *, accuracy=(0.90, 0.94, 0.951), **kw):
    return write_shipped_run(path, "cloudmask", values=accuracy, **kw)


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
