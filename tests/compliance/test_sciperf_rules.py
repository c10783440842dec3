"""sciperf-1.0.0: a compliant CosmoFlow log passes; for every rule of the ruleset there is a log
that breaks exactly that rule, and the finding names it; mlperf-logging's checker, run on our
rule files, gives the same verdicts."""

from __future__ import annotations

import pytest

from compliance import registry
from compliance.api import check_file
from tests.compliance.compliance_logs import (
    TEST_CHECKSUM, Rec, cosmoflow_run, delay, drop, insert_after, move_after, move_before,
    mlperf_verdict, ruleset_with_checksums, set_meta, set_value, write_log)
from sciperf import vocab as K

RECORDED = {"tiny": TEST_CHECKSUM, "small": None, "full": TEST_CHECKSUM}
OPT_KEYS = (K.OPT_NAME, K.OPT_BASE_LR, K.OPT_LR_WARMUP_EPOCHS, K.OPT_LR_WARMUP_FACTOR,
            K.OPT_LR_DECAY_BOUNDARY_EPOCHS, K.OPT_LR_DECAY_FACTOR, K.OPT_WEIGHT_DECAY, K.DROPOUT)


def _ins(anchor, rec):
    return lambda r: insert_after(r, anchor, rec)


# rule id -> (division, edit of the compliant run)
CASES = {
    "common.yaml:sciperf_ruleset:REQ": ("closed", lambda r: drop(r, K.SCIPERF_RULESET)),
    "common.yaml:sciperf_ruleset:CHECK[1]":
        ("closed", lambda r: set_value(r, K.SCIPERF_RULESET, "sciperf-0.9.0")),
    "common.yaml:submission_org:REQ": ("closed", lambda r: drop(r, K.SUBMISSION_ORG)),
    "common.yaml:submission_org:CHECK[1]":
        ("closed", lambda r: set_value(r, K.SUBMISSION_ORG, " ")),
    "common.yaml:submission_platform:REQ":
        ("closed", lambda r: drop(r, K.SUBMISSION_PLATFORM)),
    "common.yaml:submission_platform:CHECK[1]":
        ("closed", lambda r: set_value(r, K.SUBMISSION_PLATFORM, "")),
    "common.yaml:submission_division:REQ":
        ("closed", lambda r: drop(r, K.SUBMISSION_DIVISION)),
    "common.yaml:submission_division:CHECK[1]":
        ("closed", lambda r: set_value(r, K.SUBMISSION_DIVISION, "closedish")),
    "common.yaml:submission_status:REQ": ("closed", lambda r: drop(r, K.SUBMISSION_STATUS)),
    "common.yaml:submission_status:CHECK[1]":
        ("closed", lambda r: set_value(r, K.SUBMISSION_STATUS, "beta")),
    "common.yaml:cache_clear:REQ": ("closed", lambda r: drop(r, K.CACHE_CLEAR)),
    "common.yaml:cache_clear:CHECK[1]":
        ("closed", _ins(K.RUN_START, Rec("event", K.CACHE_CLEAR, True))),
    "common.yaml:init_start:REQ": ("closed", lambda r: drop(r, K.INIT_START)),
    "common.yaml:init_start:CHECK[1]": ("closed", _ins(K.INIT_STOP, Rec("start", K.INIT_START))),
    "common.yaml:init_stop:REQ": ("closed", lambda r: drop(r, K.INIT_STOP)),
    "common.yaml:init_stop:CHECK[1]":
        ("closed", lambda r: move_after(r, K.INIT_STOP, K.RUN_START)),
    "common.yaml:init_stop:CHECK[2]":
        ("closed", lambda r: delay(r, K.INIT_STOP, 30 * 60 * 1000)),
    "common.yaml:run_start:REQ": ("closed", lambda r: drop(r, K.RUN_START)),
    "common.yaml:run_start:CHECK[1]":
        ("closed", lambda r: move_before(r, K.EPOCH_START, K.RUN_START)),
    "common.yaml:run_stop:REQ": ("closed", lambda r: drop(r, K.RUN_STOP)),
    "common.yaml:run_stop:CHECK[1]":
        ("closed", lambda r: set_meta(r, K.RUN_STOP, {K.STATUS: "failed"})),
    "common.yaml:run_stop:ATLEAST_ONE_CHECK":
        ("closed", lambda r: set_meta(r, K.RUN_STOP, {K.STATUS: K.ABORTED})),
    "common.yaml:block_start|epoch_start:REQ": ("closed", lambda r: drop(r, K.EPOCH_START)),
    "common.yaml:block_stop|epoch_stop:REQ": ("closed", lambda r: drop(r, K.EPOCH_STOP)),
    "common.yaml:block_start|eval_start:REQ": ("closed", lambda r: drop(r, K.EVAL_START)),
    "common.yaml:block_stop|eval_stop:REQ": ("closed", lambda r: drop(r, K.EVAL_STOP)),
    "common.yaml:block_start:CHECK[1]":
        ("closed", _ins(K.RUN_START, Rec("start", "block_start", metadata={"first_epoch_num": 1}))),
    "common.yaml:block_start:CHECK[2]":
        ("closed", _ins(K.RUN_START, Rec("start", "block_start", metadata={"epoch_count": 1}))),
    "common.yaml:block_start:CHECK[3]":
        ("closed", _ins(K.RUN_START, Rec("start", "block_start",
                                         metadata={"epoch_count": 0, "first_epoch_num": 1}))),
    "common.yaml:block_start:CHECK[4]":
        ("closed", _ins(K.RUN_STOP, Rec("start", "block_start",
                                        metadata={"epoch_count": 1, "first_epoch_num": 9}))),
    "common.yaml:block_stop:CHECK[1]":
        ("closed", _ins(K.RUN_START, Rec("end", "block_stop", metadata={"epoch_count": 1}))),
    "common.yaml:epoch_start:CHECK[1]": ("closed", lambda r: set_meta(r, K.EPOCH_START, {})),
    "common.yaml:epoch_start:CHECK[2]":
        ("closed", _ins(K.RUN_STOP, Rec("start", K.EPOCH_START, metadata={K.EPOCH_NUM: 9}))),
    "common.yaml:epoch_stop:CHECK[1]": ("closed", lambda r: set_meta(r, K.EPOCH_STOP, {}, 1)),
    "common.yaml:eval_start:CHECK[1]": ("closed", lambda r: set_meta(r, K.EVAL_START, {}, 2)),
    "common.yaml:eval_stop:CHECK[1]": ("closed", lambda r: set_meta(r, K.EVAL_STOP, {})),
    "common.yaml:seed:REQ": ("closed", lambda r: drop(r, K.SEED)),
    "common.yaml:seed:CHECK[1]": ("closed", lambda r: set_value(r, K.SEED, "7")),
    **{f"common.yaml:{k}:REQ": ("closed", lambda r, k=k: drop(r, k))
       for k in (K.GLOBAL_BATCH_SIZE, K.TRAIN_SAMPLES, K.EVAL_SAMPLES, K.NUMBER_OF_NODES,
                 K.ACCELERATORS_PER_NODE)},
    **{f"common.yaml:{k}:CHECK[1]": ("closed", lambda r, k=k: set_value(r, k, 0))
       for k in (K.GLOBAL_BATCH_SIZE, K.TRAIN_SAMPLES, K.EVAL_SAMPLES, K.NUMBER_OF_NODES)},
    "common.yaml:accelerators_per_node:CHECK[1]":
        ("closed", lambda r: set_value(r, K.ACCELERATORS_PER_NODE, -1)),
    # closed_cosmoflow.yaml replaces these in the closed division, so they show in the open one
    **{f"common.yaml:{k}:REQ": ("open", lambda r, k=k: drop(r, k)) for k in OPT_KEYS},
    "closed_common.yaml:submission_benchmark:REQ":
        ("closed", lambda r: drop(r, K.SUBMISSION_BENCHMARK)),
    "open_common.yaml:submission_benchmark:REQ":
        ("open", lambda r: drop(r, K.SUBMISSION_BENCHMARK)),
    **{f"closed_cosmoflow.yaml:{k}:REQ": ("closed", lambda r, k=k: drop(r, k))
       for k in OPT_KEYS},
    "closed_cosmoflow.yaml:opt_name:CHECK[1]":
        ("closed", lambda r: set_value(r, K.OPT_NAME, "sgd")),
    "closed_cosmoflow.yaml:opt_base_learning_rate:CHECK[1]":
        ("closed", lambda r: set_value(r, K.OPT_BASE_LR, 0.0)),
    "closed_cosmoflow.yaml:opt_learning_rate_warmup_epochs:CHECK[1]":
        ("closed", lambda r: set_value(r, K.OPT_LR_WARMUP_EPOCHS, -1)),
    "closed_cosmoflow.yaml:opt_learning_rate_warmup_factor:CHECK[1]":
        ("closed", lambda r: set_value(r, K.OPT_LR_WARMUP_FACTOR, -2)),
    "closed_cosmoflow.yaml:opt_weight_decay:CHECK[1]":
        ("closed", lambda r: set_value(r, K.OPT_WEIGHT_DECAY, -0.1)),
    "closed_cosmoflow.yaml:dropout:CHECK[1]":
        ("closed", lambda r: set_value(r, K.DROPOUT, 1.0)),
    "cosmoflow.yaml:data_scale:REQ": ("closed", lambda r: drop(r, K.DATA_SCALE)),
    "cosmoflow.yaml:data_scale:CHECK[1]": ("closed", lambda r: set_value(r, K.DATA_SCALE, "huge")),
    "cosmoflow.yaml:data_scale:CHECK[2]":
        ("open", lambda r: move_after(r, K.DATA_SCALE, K.DATASET_CHECKSUM)),
    "cosmoflow.yaml:dataset_checksum:REQ": ("closed", lambda r: drop(r, K.DATASET_CHECKSUM)),
    "cosmoflow.yaml:dataset_checksum:CHECK[1]":
        ("closed", lambda r: set_value(r, K.DATA_SCALE, "small")),
    "cosmoflow.yaml:dataset_checksum:CHECK[2]":
        ("open", lambda r: set_value(r, K.DATASET_CHECKSUM, "f" * 64)),
    "cosmoflow.yaml:eval_error:REQ": ("closed", lambda r: drop(r, K.EVAL_ERROR)),
    "cosmoflow.yaml:eval_error:CHECK[1]":
        ("closed", lambda r: set_meta(r, K.EVAL_ERROR, {K.METRIC_NAME: "mae"})),
    "cosmoflow.yaml:eval_error:CHECK[2]":
        ("closed", lambda r: set_meta(r, K.EVAL_ERROR, {K.EPOCH_NUM: 1, K.METRIC_NAME: "rmse"})),
    "cosmoflow.yaml:eval_error:ATLEAST_ONE_CHECK":
        ("open", lambda r: [Rec(x.kind, x.key, 0.35, x.metadata) if x.key == K.EVAL_ERROR
                            else x for x in r]),
}


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return ruleset_with_checksums(tmp_path_factory.mktemp("rs"), RECORDED)


# The benchmarks CASES covers; the common files' rules are covered through the first one.
COVERED = ("cosmoflow",)
COMMON_FILES = ("common.yaml", "closed_common.yaml", "open_common.yaml")


def benchmark_files(rs) -> dict[str, list]:
    """benchmark -> its rule files ({closed,open}_<b>.yaml and <b>.yaml)."""
    names = {rf.short[:-5].removeprefix("closed_").removeprefix("open_")
             for rf in rs.files if rf.short not in COMMON_FILES}
    return {b: [rf for rf in rs.files if rf.short in (f"closed_{b}.yaml", f"open_{b}.yaml",
                                                      f"{b}.yaml")] for b in sorted(names)}


def test_every_rule_has_a_case(rules):
    files = [rf for rf in rules.files if rf.short in COMMON_FILES]
    files += [rf for b in COVERED for rf in benchmark_files(rules)[b]]
    ids = [rid for rf in files for rid in rf.rule_ids()]
    assert len(ids) > 60
    assert sorted(set(ids) - set(CASES)) == []  # a rule without a log that breaks it
    assert sorted(set(CASES) - set(ids)) == []  # a case for a rule that no longer exists


@pytest.mark.parametrize("benchmark", sorted(K.BENCHMARKS))
def test_every_benchmark_with_rules_has_cases(rules, benchmark):
    if benchmark in COVERED:
        return
    if benchmark not in benchmark_files(rules):
        pytest.skip(f"sciperf-1.0.0 has no rule files for {benchmark} yet")
    pytest.skip(f"{benchmark}'s rule files have no per-rule cases here yet: add a log that "
                "breaks each of its rules to CASES and the benchmark to COVERED")


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_a_log_that_breaks_exactly_one_rule(rules, tmp_path, rule_id):
    division, edit = CASES[rule_id]
    log = write_log(tmp_path / "result_0.txt", edit(cosmoflow_run(division=division)))
    r = check_file("result_0.txt", log, rules)
    errors = [d for d in r.diagnostics if d.severity == "error"]
    assert r.verdict == "fail"
    assert {d.extra.get("rule") for d in errors} == {rule_id}, [
        (d.code, d.message) for d in errors]
    for d in errors:
        assert d.code[:3] in ("SP1", "SP2") and d.hint and d.key
        assert rule_id.split(":")[1].split("|")[0] in d.message or d.key in d.message
    # mlperf-logging's checker, on the same rule files, agrees
    assert mlperf_verdict(log, f"{K.RULESET}/common.yaml", rules.root) is False


@pytest.mark.parametrize("division", K.DIVISIONS)
@pytest.mark.parametrize("scale", K.SCALES)
def test_compliant_cosmoflow_logs_pass(tmp_path, division, scale):
    rules = ruleset_with_checksums(tmp_path, {s: TEST_CHECKSUM for s in K.SCALES})
    log = write_log(tmp_path / "result_0.txt", cosmoflow_run(division=division, scale=scale),
                    prefix="[1,0]<stdout>:")
    r = check_file("result_0.txt", log, rules)
    assert (r.verdict, r.diagnostics, r.ruleset, r.benchmark) == ("pass", [], K.RULESET,
                                                                  "cosmoflow")
    assert mlperf_verdict(log, f"{K.RULESET}/common.yaml", rules.root) is True


def shipped_table() -> tuple[dict, dict]:
    """(targets, checksums) as the shipped cosmoflow.yaml sets them, run by the engine itself."""
    rs = registry.load(K.RULESET)
    rf = next(f for f in rs.files if f.short == "cosmoflow.yaml")
    s: dict = {}
    exec(rf.begin.code, {"s": s, "enqueue_config": lambda c: None}, {"s": s})
    return s["targets"], s["checksums"]


def test_the_shipped_table_covers_every_scale():
    targets, checksums = shipped_table()
    assert set(targets) == set(K.SCALES) == set(checksums)
    assert all(isinstance(t, float) and t > 0 for t in targets.values())
    assert all(c is None or (isinstance(c, str) and len(c) == 64) for c in checksums.values())


@pytest.mark.parametrize("scale", K.SCALES)
def test_the_shipped_ruleset_never_passes_an_unrecorded_dataset(tmp_path, scale):
    _, checksums = shipped_table()
    recorded = checksums[scale]
    log = write_log(tmp_path / "result_0.txt",
                    cosmoflow_run(scale=scale, checksum=recorded or TEST_CHECKSUM))
    r = check_file("result_0.txt", log)  # the ruleset the log names: the shipped one
    if recorded is None:
        assert [d.extra["rule"] for d in r.diagnostics] == [
            "cosmoflow.yaml:dataset_checksum:CHECK[1]"]
        assert "no official dataset checksum" in r.diagnostics[0].message
    else:
        assert r.verdict == "pass", r.diagnostics


def test_unknown_benchmark_and_ruleset(tmp_path, rules):
    log = write_log(tmp_path / "result_0.txt",
                    set_value(cosmoflow_run(), K.SUBMISSION_BENCHMARK, "cosmoflw"))
    r = check_file("result_0.txt", log, rules)
    assert [d.code for d in r.diagnostics] == ["SP303"]
    assert "cosmoflw" in r.diagnostics[0].message and "cosmoflow" in r.diagnostics[0].message
    log = write_log(tmp_path / "result_1.txt",
                    set_value(cosmoflow_run(), K.SCIPERF_RULESET, "sciperf-9.9.9"))
    r = check_file("result_1.txt", log)
    assert [d.code for d in r.diagnostics] == ["SP302"] and r.verdict == "fail"


def test_a_non_converged_run(tmp_path, rules):
    """What the harness logs when the target is not reached: aborted, errors above target."""
    log = write_log(tmp_path / "result_0.txt",
                    cosmoflow_run(errors=(0.7, 0.5, 0.4), status=K.ABORTED))
    r = check_file("result_0.txt", log, rules)
    assert sorted(d.extra["rule"] for d in r.diagnostics) == [
        "common.yaml:run_stop:ATLEAST_ONE_CHECK", "cosmoflow.yaml:eval_error:ATLEAST_ONE_CHECK"]
    assert {d.code for d in r.diagnostics} == {"SP203"}


def test_the_rule_files_agree_with_the_shared_vocabulary(rules):
    files = {rf.short: rf for rf in rules.files}
    chain = [files[n] for n in ("common.yaml", "closed_common.yaml", "closed_cosmoflow.yaml",
                                "cosmoflow.yaml")]
    exactly_once = {k for rf in chain for k, r in rf.keys.items() if r.req == "EXACTLY_ONE"}
    assert set(K.REQUIRED_ONCE) <= exactly_once
    common = files["common.yaml"]
    division_check = common.keys[K.SUBMISSION_DIVISION].checks[0].expr
    status_check = common.keys[K.SUBMISSION_STATUS].checks[0].expr
    assert all(repr(d) in division_check for d in K.DIVISIONS)
    assert all(repr(s) in status_check for s in K.STATUSES)
    metric = files["cosmoflow.yaml"].keys[K.BENCHMARKS["cosmoflow"].metric_key]
    assert metric.req == "AT_LEAST_ONE" and metric.atleast is not None
    assert any(repr(K.BENCHMARKS["cosmoflow"].metric_name) in c.expr for c in metric.checks)
    # a file that adds checks to a key repeats its REQ (it replaces the earlier file's findings)
    for rf in chain[1:]:
        for k, r in rf.keys.items():
            if k in common.keys and common.keys[k].req:
                assert r.req == common.keys[k].req, (rf.short, k)
