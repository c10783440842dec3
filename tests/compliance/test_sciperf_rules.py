"""sciperf-1.0.0: for every benchmark with rule files, a compliant log passes; for every rule of
the ruleset there is a log of each benchmark that breaks exactly that rule, and the finding names
it; mlperf-logging's checker, run on our rule files, gives the same verdicts."""

from __future__ import annotations

import pytest

from compliance.api import check_file
from tests.compliance.compliance_logs import (
    TEST_CHECKSUM, Rec, benchmark_run, benchmarks_with_rules, cosmoflow_run, delay, drop,
    insert_after, missing_values, move_after, move_before, assert_agrees,
    ruleset_with_checksums, set_meta, set_value, shipped_table, write_log)
from sciperf import vocab as K

RECORDED = {"tiny": TEST_CHECKSUM, "small": None, "full": TEST_CHECKSUM}
OPT_KEYS = (K.OPT_NAME, K.OPT_BASE_LR, K.OPT_LR_WARMUP_EPOCHS, K.OPT_LR_WARMUP_FACTOR,
            K.OPT_LR_DECAY_BOUNDARY_EPOCHS, K.OPT_LR_DECAY_FACTOR, K.OPT_WEIGHT_DECAY, K.DROPOUT)
# The benchmarks whose three rule files have the same rules; a blueprint's benchmarks chain its
# shared files as well (disentangle: tests/dsprites/test_rules.py, tests/shapes3d/test_rules.py).
BENCHMARKS = [b for b in benchmarks_with_rules() if not K.BENCHMARKS[b].blueprint]
COMMON_FILES = ("common.yaml", "closed_common.yaml", "open_common.yaml")
INFERENCE_PREFIX = "inference_"  # inference results' rules: tests/compliance/test_inference_rules.py


def _ins(anchor, rec):
    return lambda r: insert_after(r, anchor, rec)


# rule id -> (division, edit of a benchmark's compliant run): the common files' rules
COMMON_CASES = {
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
    # closed_<benchmark>.yaml replaces these in the closed division, so they show in the open one
    **{f"common.yaml:{k}:REQ": ("open", lambda r, k=k: drop(r, k)) for k in OPT_KEYS},
    "closed_common.yaml:submission_benchmark:REQ":
        ("closed", lambda r: drop(r, K.SUBMISSION_BENCHMARK)),
    "open_common.yaml:submission_benchmark:REQ":
        ("open", lambda r: drop(r, K.SUBMISSION_BENCHMARK)),
}


def benchmark_cases(benchmark: str) -> dict:
    """rule id -> (division, edit of the compliant run) for the benchmark's own three files, which
    have the same rules for every benchmark (test_the_benchmarks_rule_files_have_the_same_rules)."""
    b = K.BENCHMARKS[benchmark]
    metric, closed, both = b.metric_key, f"closed_{benchmark}.yaml", f"{benchmark}.yaml"
    missed = missing_values(benchmark)
    return {
        # closed_<b>.yaml replaces common.yaml's rules for these keys in the closed division
        **{f"{closed}:{k}:REQ": ("closed", lambda r, k=k: drop(r, k)) for k in OPT_KEYS},
        f"{closed}:opt_name:CHECK[1]":  # an optimizer no scale's reference uses
            ("closed", lambda r: set_value(r, K.OPT_NAME, "lamb")),
        f"{closed}:opt_base_learning_rate:CHECK[1]":
            ("closed", lambda r: set_value(r, K.OPT_BASE_LR, 0.0)),
        f"{closed}:opt_learning_rate_warmup_epochs:CHECK[1]":
            ("closed", lambda r: set_value(r, K.OPT_LR_WARMUP_EPOCHS, -1)),
        f"{closed}:opt_learning_rate_warmup_factor:CHECK[1]":
            ("closed", lambda r: set_value(r, K.OPT_LR_WARMUP_FACTOR, -2)),
        f"{closed}:opt_weight_decay:CHECK[1]":
            ("closed", lambda r: set_value(r, K.OPT_WEIGHT_DECAY, -0.1)),
        f"{closed}:dropout:CHECK[1]": ("closed", lambda r: set_value(r, K.DROPOUT, 1.0)),
        f"{both}:data_scale:REQ": ("closed", lambda r: drop(r, K.DATA_SCALE)),
        f"{both}:data_scale:CHECK[1]": ("closed", lambda r: set_value(r, K.DATA_SCALE, "huge")),
        f"{both}:data_scale:CHECK[2]":
            ("open", lambda r: move_after(r, K.DATA_SCALE, K.DATASET_CHECKSUM)),
        f"{both}:dataset_checksum:REQ": ("closed", lambda r: drop(r, K.DATASET_CHECKSUM)),
        f"{both}:dataset_checksum:CHECK[1]":  # RECORDED has no checksum for small
            ("closed", lambda r: set_value(r, K.DATA_SCALE, "small")),
        f"{both}:dataset_checksum:CHECK[2]":
            ("open", lambda r: set_value(r, K.DATASET_CHECKSUM, "f" * 64)),
        f"{both}:{metric}:REQ": ("closed", lambda r: drop(r, metric)),
        f"{both}:{metric}:CHECK[1]":
            ("closed", lambda r: set_meta(r, metric, {K.METRIC_NAME: b.metric_name})),
        f"{both}:{metric}:CHECK[2]":
            ("closed", lambda r: set_meta(r, metric, {K.EPOCH_NUM: 1, K.METRIC_NAME: "rmse"})),
        f"{both}:{metric}:ATLEAST_ONE_CHECK":  # status success, but no epoch reaches the target
            ("open", lambda r: [Rec(x.kind, x.key, missed[0], x.metadata) if x.key == metric
                                else x for x in r]),
    }


def rotation_cases() -> dict:
    """The rotation blueprint's own rules: the method and augmentation records (the closed
    division fixes both) and the panel beside the metric (each a share in [0, 1])."""
    out = {}
    for division in K.DIVISIONS:
        f = f"{division}_rotation.yaml"
        for key, wrong in ((K.METHOD, "cnn"), (K.DATA_AUGMENTATION, "rotations8")):
            out[f"{f}:{key}:REQ"] = (division, lambda r, k=key: drop(r, k))
            out[f"{f}:{key}:CHECK[1]"] = (division, lambda r, k=key, w=wrong if division ==
                                          "closed" else " ": set_value(r, k, w))
    for key in K.BENCHMARKS["rotation"].panel:
        out[f"rotation.yaml:{key}:REQ"] = ("closed", lambda r, k=key: drop(r, k))
        out[f"rotation.yaml:{key}:CHECK[1]"] = ("closed", lambda r, k=key: set_meta(r, k, {}))
        out[f"rotation.yaml:{key}:CHECK[2]"] = ("open", lambda r, k=key: set_value(r, k, 1.5))
    return out


# benchmark -> its rules beyond those every benchmark has (rule id -> division, edit)
OWN_CASES = {"rotation": rotation_cases()}


def own_keys(benchmark: str) -> set[str]:
    return {rid.split(":")[1] for rid in OWN_CASES.get(benchmark, {})}


def cases(benchmark: str) -> dict:
    """Every rule the benchmark's logs are checked against -> a log of it that breaks only it."""
    return {**COMMON_CASES, **benchmark_cases(benchmark), **OWN_CASES.get(benchmark, {})}


CASE_IDS = [(b, rid) for b in BENCHMARKS for rid in sorted(cases(b))]


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return ruleset_with_checksums(tmp_path_factory.mktemp("rs"), RECORDED)


def benchmark_files(rs) -> dict[str, list]:
    """benchmark -> its rule files ({closed,open}_<b>.yaml and <b>.yaml)."""
    names = {rf.short[:-5].removeprefix("closed_").removeprefix("open_")
             for rf in rs.files if rf.short not in COMMON_FILES
             and not rf.short.startswith(INFERENCE_PREFIX)} & set(BENCHMARKS)
    return {b: [rf for rf in rs.files if rf.short in (f"closed_{b}.yaml", f"open_{b}.yaml",
                                                      f"{b}.yaml")] for b in sorted(names)}


def test_every_benchmark_with_rules_is_covered(rules):
    assert sorted(benchmark_files(rules)) == BENCHMARKS
    assert set(BENCHMARKS) <= set(K.BENCHMARKS) and len(BENCHMARKS) >= 3


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_every_rule_has_a_case(rules, benchmark):
    files = [rf for rf in rules.files if rf.short in COMMON_FILES]
    files += benchmark_files(rules)[benchmark]
    assert len(files) == len(COMMON_FILES) + 3
    ids = [rid for rf in files for rid in rf.rule_ids()]
    assert len(ids) > 80
    assert sorted(set(ids) - set(cases(benchmark))) == []  # a rule without a log that breaks it
    assert sorted(set(cases(benchmark)) - set(ids)) == []  # a case for a rule that no longer exists


def test_the_benchmarks_rule_files_have_the_same_rules(rules):
    """The three files of each benchmark differ only in names, tables and bounds: the same rule
    ids once the benchmark's name and metric key are abstracted away (and its own rules, those
    of OWN_CASES, set aside)."""
    def shape(benchmark):
        b = K.BENCHMARKS[benchmark]
        return sorted(rid.replace(benchmark, "B").replace(b.metric_key, "M")
                      for rf in benchmark_files(rules)[benchmark] for rid in rf.rule_ids()
                      if rid.split(":")[1] not in own_keys(benchmark))
    first, *others = BENCHMARKS
    for b in others:
        assert shape(b) == shape(first), b


@pytest.mark.parametrize(("benchmark", "rule_id"), CASE_IDS)
def test_a_log_that_breaks_exactly_one_rule(rules, tmp_path, benchmark, rule_id):
    division, edit = cases(benchmark)[rule_id]
    log = write_log(tmp_path / "result_0.txt",
                    edit(benchmark_run(benchmark, division=division)))
    r = check_file("result_0.txt", log, rules)
    errors = [d for d in r.diagnostics if d.severity == "error"]
    assert r.verdict == "fail"
    assert {d.extra.get("rule") for d in errors} == {rule_id}, [
        (d.code, d.message) for d in errors]
    for d in errors:
        assert d.code[:3] in ("SP1", "SP2") and d.hint and d.key
        assert rule_id.split(":")[1].split("|")[0] in d.message or d.key in d.message
    # mlperf-logging's checker, on the same rule files, agrees (and on the same keys)
    assert not assert_agrees(r, log, f"{K.RULESET}/common.yaml", rules.root).passed


@pytest.mark.parametrize("division", K.DIVISIONS)
@pytest.mark.parametrize("scale", K.SCALES)
@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_compliant_logs_pass(tmp_path, benchmark, division, scale):
    rules = ruleset_with_checksums(tmp_path, {s: TEST_CHECKSUM for s in K.SCALES})
    log = write_log(tmp_path / "result_0.txt",
                    benchmark_run(benchmark, division=division, scale=scale),
                    prefix="[1,0]<stdout>:")
    r = check_file("result_0.txt", log, rules)
    assert (r.verdict, r.diagnostics, r.ruleset, r.benchmark) == ("pass", [], K.RULESET,
                                                                  benchmark)
    assert assert_agrees(r, log, f"{K.RULESET}/common.yaml", rules.root).passed


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_the_shipped_table_covers_every_scale(benchmark):
    targets, checksums = shipped_table(benchmark)
    assert set(targets) == set(K.SCALES) == set(checksums)
    assert all(isinstance(t, float) and t > 0 for t in targets.values())
    if K.BENCHMARKS[benchmark].metric_name == "pixel_accuracy":
        assert all(t <= 1 for t in targets.values())
    assert all(c is None or (isinstance(c, str) and len(c) == 64) for c in checksums.values())


@pytest.mark.parametrize("scale", K.SCALES)
@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_the_shipped_ruleset_never_passes_an_unrecorded_dataset(tmp_path, benchmark, scale):
    recorded = shipped_table(benchmark)[1][scale]
    log = write_log(tmp_path / "result_0.txt",
                    benchmark_run(benchmark, scale=scale, checksum=recorded or TEST_CHECKSUM))
    r = check_file("result_0.txt", log)  # the ruleset the log names: the shipped one
    if recorded is None:
        assert [d.extra["rule"] for d in r.diagnostics] == [
            f"{benchmark}.yaml:dataset_checksum:CHECK[1]"]
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


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_a_non_converged_run(tmp_path, rules, benchmark):
    """What the harness logs when the target is not reached: aborted, no value reaching it."""
    log = write_log(tmp_path / "result_0.txt",
                    benchmark_run(benchmark, values=missing_values(benchmark),
                                  status=K.ABORTED))
    r = check_file("result_0.txt", log, rules)
    metric = K.BENCHMARKS[benchmark].metric_key
    assert sorted(d.extra["rule"] for d in r.diagnostics) == sorted([
        "common.yaml:run_stop:ATLEAST_ONE_CHECK", f"{benchmark}.yaml:{metric}:ATLEAST_ONE_CHECK"])
    assert {d.code for d in r.diagnostics} == {"SP203"}
    assert not assert_agrees(r, log, f"{K.RULESET}/common.yaml", rules.root).passed


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_the_rule_files_agree_with_the_shared_vocabulary(rules, benchmark):
    files = {rf.short: rf for rf in rules.files}
    chain = [files[n] for n in ("common.yaml", "closed_common.yaml", f"closed_{benchmark}.yaml",
                                f"{benchmark}.yaml")]
    exactly_once = {k for rf in chain for k, r in rf.keys.items() if r.req == "EXACTLY_ONE"}
    assert set(K.REQUIRED_ONCE) <= exactly_once
    common = files["common.yaml"]
    division_check = common.keys[K.SUBMISSION_DIVISION].checks[0].expr
    status_check = common.keys[K.SUBMISSION_STATUS].checks[0].expr
    assert all(repr(d) in division_check for d in K.DIVISIONS)
    assert all(repr(s) in status_check for s in K.STATUSES)
    b = K.BENCHMARKS[benchmark]
    metric = files[f"{benchmark}.yaml"].keys[b.metric_key]
    assert metric.req == "AT_LEAST_ONE" and metric.atleast is not None
    assert any(repr(b.metric_name) in c.expr for c in metric.checks)
    # the target check points the way the vocabulary says is better
    assert ("<= s['targets']" in metric.atleast.expr) != b.higher_is_better
    assert ("s['targets'][s['scale']] <=" in metric.atleast.expr) == b.higher_is_better
    # a file that adds checks to a key repeats its REQ (it replaces the earlier file's findings)
    for rf in chain[1:]:
        for k, r in rf.keys.items():
            if k in common.keys and common.keys[k].req:
                assert r.req == common.keys[k].req, (rf.short, k)
