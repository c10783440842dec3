"""The rule files of the blueprint's benchmarks (<benchmark>.yaml, {closed,open}_<benchmark>.yaml)
and the blueprint's own (disentangle.yaml, closed_disentangle.yaml): the targets and bounds
tables agree with the configs, the recorded tiny checksum is what the generator writes, and a log without the panel, with a panel value out of range or scored inside the
timed region, with a reconstruction above its bound, or with another method or beta in the
closed division each fails with its own diagnostic."""

from __future__ import annotations

import pytest

from compliance.api import check_logs
from reference_implementations.common.config import load_config
from sciperf import vocab as K
from tests.compliance.compliance_logs import (Rec, benchmark_run, benchmarks_with_rules, drop,
                                              insert_after, move_before, set_meta, set_value,
                                              shipped_state, shipped_table, write_log)

pytestmark = pytest.mark.parametrize(
    "bench", [b for b in benchmarks_with_rules() if K.BENCHMARKS[b].blueprint == "disentangle"])


def test_targets_table_covers_every_scale_and_matches_the_configs(bench):
    targets, checksums = shipped_table(bench)
    assert set(targets) == set(K.SCALES) == set(checksums)
    bounds = shipped_state(bench)["bounds"]
    for scale in K.SCALES:
        train = load_config(bench, scale).train
        assert targets[scale] == train["target"], scale
        assert bounds[scale] == train["bounds"][K.RECONSTRUCTION_ERROR], scale
    assert checksums["tiny"]


@pytest.mark.slow
def test_recorded_tiny_checksum_is_what_the_generator_writes(bench, tmp_path):
    from reference_implementations.common.generate import generate

    checksum, _, _ = generate(bench, "tiny", tmp_path / "tiny", workers=2)
    assert checksum == shipped_table(bench)[1]["tiny"], (
        "the generator's output changed: regenerate the tiny data, recalibrate if the images "
        f"changed, and record the new checksum in {bench}.yaml")


def run(bench, division="closed", scale="tiny"):
    """A compliant run whose last evaluation alone reaches the target."""
    return benchmark_run(bench, division=division, scale=scale, values=(0.005, 0.01, 0.5),
                         checksum=shipped_table(bench)[1][scale] or "0" * 64)


def broken(tmp_path, recs) -> list[str]:
    [result] = check_logs([write_log(tmp_path / "result_0.txt", recs)])
    return sorted(d.extra.get("rule", d.code) for d in result.diagnostics)


def test_a_reference_run_passes_in_both_divisions(bench, tmp_path):
    assert broken(tmp_path / "c", run(bench)) == []
    assert broken(tmp_path / "o", run(bench, "open")) == []


def test_a_log_without_the_panel_fails_on_each_missing_metric(bench, tmp_path):
    recs = run(bench)
    assert broken(tmp_path / "a", drop(recs, "z_var")) == ["disentangle.yaml:z_var:REQ"]
    no_panel = [r for r in recs if r.key not in K.DISENTANGLE_PANEL]
    assert broken(tmp_path / "b", no_panel) == sorted(
        f"disentangle.yaml:{k}:REQ" for k in K.DISENTANGLE_PANEL)


def test_a_panel_value_out_of_range_fails(bench, tmp_path):
    recs = run(bench)
    assert broken(tmp_path / "a", set_value(recs, "mig", 1.5)) == ["disentangle.yaml:mig:CHECK[2]"]
    assert broken(tmp_path / "b", set_value(recs, "z_diff", "0.5")) == [
        "disentangle.yaml:z_diff:CHECK[2]"]
    # a metric the panel could not compute is null, with the reason
    assert broken(tmp_path / "c", set_value(recs, "z_var", None)) == [
        "disentangle.yaml:z_var:CHECK[2]"]
    undefined = set_meta(set_value(recs, "z_var", None), "z_var",
                         {"not_computed": "every code dimension has collapsed"})
    assert broken(tmp_path / "d", undefined) == []


def test_the_panel_is_scored_outside_the_timed_region(bench, tmp_path):
    inside = move_before(run(bench), "dcimig", K.RUN_STOP)
    assert broken(tmp_path, inside) == ["disentangle.yaml:dcimig:CHECK[1]"]


def test_the_target_needs_a_reconstruction_within_its_bound(bench, tmp_path):
    recs = run(bench)
    blurry = set_value(recs, K.RECONSTRUCTION_ERROR, 0.2, nth=2)  # above tiny's bound
    assert broken(tmp_path / "a", blurry) == [
        f"{bench}.yaml:reconstruction_error:ATLEAST_ONE_CHECK"]
    assert broken(tmp_path / "b", set_value(recs, K.RECONSTRUCTION_ERROR, 1.5)) == [
        f"{bench}.yaml:reconstruction_error:CHECK[2]"]
    assert broken(tmp_path / "c", drop(recs, K.RECONSTRUCTION_ERROR)) == [
        f"{bench}.yaml:reconstruction_error:REQ"]


def test_the_target_and_the_metric_name_are_checked(bench, tmp_path):
    recs = run(bench)
    short = set_value(recs, K.EVAL_ACCURACY, 0.015, nth=2)
    assert broken(tmp_path / "a", short) == [
        f"{bench}.yaml:eval_accuracy:ATLEAST_ONE_CHECK",
        f"{bench}.yaml:reconstruction_error:ATLEAST_ONE_CHECK"]
    renamed = set_meta(recs, K.EVAL_ACCURACY, {K.EPOCH_NUM: 1, K.METRIC_NAME: "dcimig"})
    assert broken(tmp_path / "b", renamed) == [f"{bench}.yaml:eval_accuracy:CHECK[2]"]


def test_the_closed_division_trains_the_beta_vae_with_its_beta(bench, tmp_path):
    wrong_beta = set_value(run(bench), K.VAE_BETA, 1.0)
    assert broken(tmp_path / "a", wrong_beta) == [f"closed_{bench}.yaml:vae_beta:CHECK[1]"]
    other = set_value(run(bench), K.METHOD, "dip_vae_ii")
    assert broken(tmp_path / "b", other) == ["closed_disentangle.yaml:method:CHECK[1]"]
    # the open division takes any method, with its own settings, and says which
    opened = insert_after(set_value(run(bench, "open"), K.METHOD, "dip_vae_ii"), K.VAE_BETA,
                          Rec("event", K.DIP_LAMBDA_OD, 10.0))
    assert broken(tmp_path / "c", opened) == []
    assert broken(tmp_path / "d", drop(run(bench, "open"), K.METHOD)) == [
        "disentangle.yaml:method:REQ"]
