"""em_denoise's rule files: the targets table agrees with the configs, the recorded tiny checksum
is what the generator writes, and the closed/open rules judge logs as rules.md says."""

from __future__ import annotations

import pytest

from reference_implementations.common.config import load_config
from sciperf import vocab as K
from tests.compliance.compliance_logs import rules_broken, shipped_table, write_shipped_run


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


def write_run(path, *, psnr=(18.0, 20.5, 21.7), **kw):
    return write_shipped_run(path, "em_denoise", values=psnr, **kw)


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
