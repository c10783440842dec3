"""rotation's rule files judge logs as rules.md says: the closed division trains the group CNN
on the upright images as they are (a log whose training used rotation augmentation fails), the
open division takes any method and augmentation. (Their targets and checksums are checked with
every benchmark's, in tests/harness/test_official_data.py.)"""

from __future__ import annotations

from compliance.api import check_logs
from sciperf import vocab as K
from tests.compliance.compliance_logs import (benchmark_run, rules_broken, set_value,
                                              shipped_table, write_log)


def write_run(path, *, division="closed", method=None, augmentation=None, scale="tiny",
              edits=()):
    recs = benchmark_run("rotation", division=division, scale=scale,
                         checksum=shipped_table("rotation")[1][scale] or "0" * 64)
    if method is not None:
        recs = set_value(recs, K.METHOD, method)
    if augmentation is not None:
        recs = set_value(recs, K.DATA_AUGMENTATION, augmentation)
    for edit in edits:
        recs = edit(recs)
    return write_log(path, recs)


def test_a_reference_run_passes(tmp_path):
    assert rules_broken(write_run(tmp_path / "result_0.txt")) == []


def test_a_closed_division_log_that_used_augmentation_fails(tmp_path):
    log = write_run(tmp_path / "closed" / "result_0.txt", augmentation="rotations8")
    assert rules_broken(log) == ["closed_rotation.yaml:data_augmentation:CHECK[1]"]
    [result] = check_logs([log])
    assert "without rotation augmentation" in result.diagnostics[0].message
    assert rules_broken(write_run(tmp_path / "open" / "result_0.txt", division="open",
                                  augmentation="rotations8", method="cnn")) == []


def test_the_closed_division_trains_the_group_cnn(tmp_path):
    assert rules_broken(write_run(tmp_path / "a" / "result_0.txt", method="cnn")) == [
        "closed_rotation.yaml:method:CHECK[1]"]


def test_a_log_that_does_not_say_how_it_trained_fails_in_either_division(tmp_path):
    drop = lambda key: (lambda recs: [r for r in recs if r.key != key])  # noqa: E731
    for division in K.DIVISIONS:
        log = write_run(tmp_path / division / "result_0.txt", division=division,
                        edits=[drop(K.DATA_AUGMENTATION)])
        assert rules_broken(log) == [f"{division}_rotation.yaml:data_augmentation:REQ"]


def test_the_panel_is_required_and_bounded(tmp_path):
    panel = K.BENCHMARKS["rotation"].panel
    missing = write_run(tmp_path / "a" / "result_0.txt",
                        edits=[lambda recs: [r for r in recs if r.key != panel[3]]])
    assert rules_broken(missing) == [f"rotation.yaml:{panel[3]}:REQ"]
    wrong = write_run(tmp_path / "b" / "result_0.txt",
                      edits=[lambda recs: set_value(recs, "rotation_consistency", 1.2, nth=1)])
    assert rules_broken(wrong) == ["rotation.yaml:rotation_consistency:CHECK[2]"]
