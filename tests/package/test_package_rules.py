"""One test per package rule (SP401-SP412), each on a tree that breaks exactly that rule, plus
the bypass (waiver) mechanics. SP413 (mlperf-logging's RCP checker) needs real MLPerf HPC logs:
tests/package/test_package_corpus.py."""

from __future__ import annotations

import json
import os

import pytest
from tests.package.pkgtrees import BENCH, ORG, SYSTEM, build_tree, codes_of, sciperf_log

from compliance import codes
from compliance.diagnostics import ERROR, WARNING
from compliance.package import PackageConfigError, check_package, package_rules, package_verdict
from compliance.waivers import CHECKS, BypassError, load_bypass
from sciperf.layout import find_submissions
from sciperf import vocab


def only(diags, code, severity=ERROR):
    """The tree breaks exactly one rule: every finding has this code."""
    assert diags, "expected a finding"
    assert {(d.code, d.severity) for d in diags} == {(code, severity)}, [
        (d.code, d.severity, d.message) for d in diags]
    return diags


def rel(tree, d) -> str:
    return os.path.relpath(d.path, tree.org)


# -- the valid tree -----------------------------------------------------------------------------

def test_valid_tree_has_no_finding(tree):
    diags = tree.check()
    assert diags == []
    assert package_verdict(diags) == "pass"


def test_every_package_code_is_in_the_code_table():
    assert {c.code for c in CHECKS} == {c for c in codes.CODES if c.startswith("SP4")}
    assert len({c.name for c in CHECKS}) == len(CHECKS)
    # SP411's hint lists the waivable checks: it must name exactly those
    hint = codes.CODES["SP411"].hint
    listed = set(hint.split(": ", 1)[1].rstrip(".").split(", "))
    assert listed == {c.name for c in CHECKS if c.waivable}


# -- SP401 layout -------------------------------------------------------------------------------

def test_sp401_scaling_folder_other_than_strong_or_weak(tree):
    (tree.bench.parent.parent / "medium").mkdir()
    (d,) = only(tree.check(), "SP401")
    assert rel(tree, d) == f"results/{SYSTEM}/medium"


def test_sp401_benchmark_the_ruleset_does_not_have(tree):
    other = tree.bench.parent / "resnet"
    other.mkdir()
    (d,) = only(tree.check(), "SP401")
    assert "resnet" in d.message and "cosmoflow" in d.message


def test_sp401_no_systems_folder(tmp_path):
    t = build_tree(tmp_path)
    t.system_json.unlink()
    t.system_json.parent.rmdir()
    # the missing folder is the layout finding; the system it would describe is SP406
    assert codes_of(t.check()) == ["SP401", "SP406"]


# -- SP402 result counts ------------------------------------------------------------------------

def test_sp402_strong_scaling_needs_the_exact_count(tree):
    (tree.bench / "result_2.txt").unlink()
    (d,) = only(tree.check(), "SP402")
    assert "2 result file(s)" in d.message and "exactly 3 at tiny scale" in d.message
    assert d.extra["source"].endswith("package.yaml")


def test_sp402_strong_scaling_refuses_more_than_the_count(tree):
    (tree.bench / "result_3.txt").write_text(sciperf_log(seed=103))
    only(tree.check(), "SP402")


def test_sp402_count_follows_the_logged_scale(tree):
    for i in range(3):
        (tree.bench / f"result_{i}.txt").write_text(sciperf_log(seed=100 + i, scale="small"))
    (d,) = only(tree.check(), "SP402")
    assert "exactly 5 at small scale" in d.message


def test_sp402_weak_scaling_is_a_minimum(tree):
    weak = tree.org / "results" / SYSTEM / "weak" / BENCH
    weak.mkdir(parents=True)
    for i in range(4):  # more than the minimum: fine
        (weak / f"result_{i}.txt").write_text(sciperf_log(seed=200 + i))
    assert tree.check() == []
    for i in (2, 3):
        (weak / f"result_{i}.txt").unlink()
    (d,) = only(tree.check(), "SP402")
    assert "at least 3" in d.message and "weak scaling" in d.message


def test_sp402_hpc_counts_come_from_mlperf_logging():
    from mlperf_logging.benchmark_meta import get_allowed_benchmarks, get_result_file_counts

    rules = package_rules("hpc-2.0.0")
    counts = get_result_file_counts("hpc")
    assert set(rules.strong) == set(get_allowed_benchmarks("hpc", "2.0.0"))
    for b in rules.strong:
        assert rules.runs("strong", b, None) == counts[b]
        assert rules.runs("weak", b, None) == counts[b]


def test_sciperf_rules_cover_every_benchmark():
    rules = package_rules(vocab.RULESET)
    assert set(rules.strong) == set(vocab.BENCHMARKS)
    for scale in vocab.SCALES:
        assert rules.runs("strong", BENCH, scale) >= 3  # the olympic mean needs three


def test_unknown_ruleset_is_a_config_error(tree):
    with pytest.raises(PackageConfigError, match="no package rules for ruleset 'nope-9'"):
        tree.check(ruleset="nope-9")


# -- SP403 missed target ------------------------------------------------------------------------

def test_sp403_one_missed_run_is_a_warning(tree):
    (tree.bench / "result_1.txt").write_text(sciperf_log(seed=101, status=vocab.ABORTED))
    (d,) = only(tree.check(), "SP403", WARNING)
    assert "result_1.txt: run_stop status aborted" in d.message
    assert package_verdict([d]) == "pass"


def test_sp403_two_missed_runs_reject_the_benchmark(tree):
    (tree.bench / "result_1.txt").write_text(sciperf_log(seed=101, status=vocab.ABORTED))
    # the other one reaches run_stop success, but its log fails its own checks
    (d,) = only(tree.check(fail=("result_2.txt",)), "SP403")
    assert "2 of 3 runs" in d.message and "fails its log checks" in d.message
    assert [os.path.basename(f) for f in d.extra["files"]] == ["result_1.txt", "result_2.txt"]


def test_sp403_a_log_without_run_stop_missed(tree):
    for i in (0, 1):
        (tree.bench / f"result_{i}.txt").write_text(sciperf_log(seed=100 + i,
                                                                skip=(vocab.RUN_STOP,)))
    (d,) = only(tree.check(), "SP403")
    assert "no run_stop" in d.message


# -- SP404 seeds --------------------------------------------------------------------------------

def test_sp404_two_runs_with_one_seed(tree):
    (tree.bench / "result_2.txt").write_text(sciperf_log(seed=100))
    (d,) = only(tree.check(), "SP404")
    assert rel(tree, d).endswith("result_2.txt") and d.line == 11 and d.key == vocab.SEED
    assert "also the seed of result_0.txt" in d.message


def test_sp404_closed_run_without_seed(tree):
    (tree.bench / "result_1.txt").write_text(sciperf_log(seed=0, skip=(vocab.SEED,)))
    (d,) = only(tree.check(), "SP404")
    assert "log no seed: result_1.txt" in d.message


def test_open_division_runs_need_not_log_a_seed(tree):
    tree.write_desc(division="open")
    for i in range(3):
        (tree.bench / f"result_{i}.txt").write_text(sciperf_log(seed=0, division="open",
                                                                skip=(vocab.SEED,)))
    assert tree.check() == []


# -- SP405 hyperparameters ----------------------------------------------------------------------

def test_sp405_a_run_with_another_learning_rate(tree):
    (tree.bench / "result_1.txt").write_text(sciperf_log(seed=101, lr=0.02))
    (d,) = only(tree.check(), "SP405")
    assert rel(tree, d).endswith("result_1.txt") and d.key == vocab.OPT_BASE_LR
    assert d.line == 14
    assert "0.02 here but 0.01 in 2 of the 3 runs" in d.message


def test_sp405_a_hyperparameter_missing_from_one_run(tree):
    (tree.bench / "result_0.txt").write_text(sciperf_log(seed=100, skip=(vocab.DROPOUT,)))
    (d,) = only(tree.check(), "SP405")
    assert d.key == vocab.DROPOUT and "not logged here" in d.message and d.line is None


def test_sp405_equal_values_in_other_spellings_are_equal(tree):
    # 16 and 16.0, [4, 8] and [4.0, 8.0] are the same hyperparameter
    text = sciperf_log(seed=101).replace('"value": 16,', '"value": 16.0,')
    text = text.replace("[4, 8]", "[4.0, 8.0]")
    (tree.bench / "result_1.txt").write_text(text)
    assert tree.check() == []


# -- SP406 / SP407 system descriptions -----------------------------------------------------------

def test_sp406_system_without_description(tree):
    tree.system_json.unlink()
    (d,) = only(tree.check(), "SP406")
    assert rel(tree, d) == f"systems/{SYSTEM}.json"


def test_sp407_count_written_as_a_number(tree):
    tree.write_desc(number_of_nodes=4)
    (d,) = only(tree.check(), "SP407")
    assert d.key == "number_of_nodes" and d.line == 6
    assert "is a JSON number, not a string" in d.message and '"4"' in d.hint


def test_sp407_checks_types_not_only_presence(tree):
    tree.write_desc(number_of_nodes="many", division="both", other_software_stack=["tf"])
    diags = only(tree.check(), "SP407")
    assert [d.key for d in diags] == ["division", "number_of_nodes", "other_software_stack"]


def test_sp407_missing_field(tree):
    desc = json.loads(tree.system_json.read_text())
    del desc["cooling"]
    tree.system_json.write_text(json.dumps(desc))
    (d,) = only(tree.check(), "SP407")
    assert d.message == "missing field cooling"


def test_sp407_not_json(tree):
    tree.system_json.write_text('{\n  "submitter": "acme",\n  oops\n}\n')
    (d,) = only(tree.check(), "SP407")
    assert d.line == 3 and "not valid JSON" in d.message


def test_sp407_duplicate_field(tree):
    text = tree.system_json.read_text()
    text = text.replace('"cooling": "",', '"cooling": "",\n "cooling": "air",')
    tree.system_json.write_text(text)
    (d,) = only(tree.check(), "SP407")
    assert "appears more than once" in d.message and d.key == "cooling"


def test_sp407_sciperf_status_values(tree):
    tree.write_desc(status="available")  # MLPerf HPC v2.0 files say this; sciperf-1.0.0 does not
    (d,) = only(tree.check(), "SP407")
    assert d.key == "status"


# -- SP408 escapes ------------------------------------------------------------------------------

def test_sp408_symlink_out_of_the_tree(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "secret.py").write_text("x = 1\n")
    impl = tree.org / "benchmarks" / BENCH / "implementations" / "sciperf-reference-tf"
    (impl / "lib").symlink_to(outside)
    (d,) = only(tree.check(), "SP408")
    assert rel(tree, d).endswith("sciperf-reference-tf/lib") and str(outside) in d.message


def test_sp408_dangling_symlink(tree):
    (tree.bench / "scaling.json").symlink_to(tree.root / "missing.json")
    (d,) = only(tree.check(), "SP408")
    assert "dangles" in d.message


def test_sp408_a_result_linked_from_outside_is_not_read(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "result_2.txt"
    outside.write_text(sciperf_log(seed=102))
    (tree.bench / "result_2.txt").unlink()
    (tree.bench / "result_2.txt").symlink_to(outside)
    # refused, so not counted either: the run count breaks as a consequence
    assert codes_of(tree.check()) == ["SP402", "SP408"]


def test_symlink_inside_the_tree_is_fine(tree):
    impl = tree.org / "benchmarks" / BENCH / "implementations" / "sciperf-reference-tf"
    (impl / "main.py").symlink_to(impl / "train.py")
    assert tree.check() == []


# -- SP409 stray files --------------------------------------------------------------------------

def test_sp409_stray_file_in_a_benchmark_folder(tree):
    (tree.bench / "notes.txt").write_text("run 2 was slow\n")
    diags = only(tree.check(), "SP409", WARNING)
    assert package_verdict(diags) == "pass"


def test_known_files_are_not_stray(tree):
    (tree.bench / "scaling.json").write_text('{"scaling_factor": 1.0}\n')
    (tree.bench / "package_checker_params").write_text("")
    assert tree.check() == []


def test_sp409_system_description_without_results(tree):
    (tree.org / "systems" / "other.json").write_text(tree.system_json.read_text())
    (d,) = only(tree.check(), "SP409", WARNING)
    assert "has no results" in d.message


# -- SP410 implementation -----------------------------------------------------------------------

def test_sp410_no_implementation_code(tree):
    impl = tree.org / "benchmarks" / BENCH / "implementations" / "sciperf-reference-tf"
    (impl / "train.py").unlink()
    (d,) = only(tree.check(), "SP410")
    assert d.key == BENCH


# -- SP411 / waivers ----------------------------------------------------------------------------

def test_sp411_unknown_check_in_a_bypass_file(tree):
    (tree.org / "package_checker_params").write_text("\nrcp-bypas\n")
    (d,) = only(tree.check(), "SP411", WARNING)
    assert d.line == 2 and d.key == "rcp-bypas" and "rcp-bypass" in d.hint


@pytest.mark.parametrize("level", ["org", "system", "benchmark"])
@pytest.mark.parametrize("word", ["seed-checker-bypass", "seed_checker_bypass", "seeds",
                                  "SEED_CHECKER_BYPASS"])
def test_every_spelling_of_the_seed_waiver_at_every_level(tree, level, word):
    (tree.bench / "result_2.txt").write_text(sciperf_log(seed=100))  # result_0's seed
    folder = {"org": tree.org, "system": tree.org / "results" / SYSTEM,
              "benchmark": tree.bench}[level]
    (folder / "package_checker_params").write_bytes(b"\xef\xbb\xbf" + f"{word}\n".encode())
    (d,) = only(tree.check(), "SP404", WARNING)  # the byte-order mark does not hide the line
    assert d.extra["waived_by"] == f"{folder}/package_checker_params:1"


def test_a_bypass_folder_is_a_finding_not_silence(tree):
    (tree.org / "package_checker_params").mkdir()
    (d,) = only(tree.check(), "SP411", WARNING)
    assert "is a folder" in d.message


def test_waiver_in_the_benchmark_folder(tree):
    (tree.bench / "result_2.txt").write_text(sciperf_log(seed=100))
    (tree.bench / "package_checker_params").write_text("# reviewed\nseed-checker-bypass\n")
    (d,) = only(tree.check(), "SP404", WARNING)
    assert d.extra["waived"] is True and d.extra["waived_severity"] == ERROR
    assert d.extra["waived_by"].endswith("package_checker_params:2")
    assert d.message.startswith("waived by ")
    assert package_verdict([d]) == "pass"


def test_waiver_scoped_to_another_system_does_not_apply(tree):
    (tree.bench / "result_2.txt").write_text(sciperf_log(seed=100))
    other = tree.org / "results" / "box2"
    other.mkdir()
    (other / "package_checker_params").write_text("seeds\n")
    diags = tree.check()
    assert ("SP404", ERROR) in {(d.code, d.severity) for d in diags}


def test_bypass_yaml_file(tree, tmp_path):
    (tree.bench / "result_1.txt").write_text(sciperf_log(seed=101, lr=0.5))
    f = tmp_path / "bypass.yaml"
    f.write_text(f"waive:\n  - check: hyperparameters\n    system: {SYSTEM}\n"
                 "    reason: approved in review\n")
    (d,) = only(tree.check(bypass=load_bypass(f)), "SP405", WARNING)
    assert d.extra["waiver_reason"] == "approved in review"


def test_bypass_yaml_refuses_what_cannot_be_waived(tmp_path):
    f = tmp_path / "bypass.yaml"
    f.write_text("waive:\n  - check: escape\n")
    with pytest.raises(BypassError, match="'escape' is not a check that can be waived"):
        load_bypass(f)


def test_sp411_unwaivable_check_in_a_bypass_file(tree):
    (tree.org / "package_checker_params").write_text("system-schema\n")
    tree.write_desc(number_of_nodes=2)
    diags = tree.check()
    assert {(d.code, d.severity) for d in diags} == {("SP411", WARNING), ("SP407", ERROR)}


# -- SP412 consistency --------------------------------------------------------------------------

def test_sp412_log_division_disagrees_with_the_system(tree):
    (tree.bench / "result_1.txt").write_text(sciperf_log(seed=101, division="open"))
    (d,) = only(tree.check(), "SP412")
    assert rel(tree, d).endswith("result_1.txt") and d.key == vocab.SUBMISSION_DIVISION


def test_sp412_organisation_mismatch_is_a_warning(tree):
    for i in range(3):
        (tree.bench / f"result_{i}.txt").write_text(sciperf_log(seed=100 + i, org="Umbrella"))
    (d,) = only(tree.check(), "SP412", WARNING)
    assert "'Umbrella' in 3 of 3 runs" in d.message


# -- finding submissions ------------------------------------------------------------------------

def test_find_submissions(tmp_path):
    round_ = tmp_path / "round"
    a = build_tree(round_ / "a").org
    b = build_tree(round_ / "b").org
    assert find_submissions(a) == [a]
    assert find_submissions(round_) == [a, b]
    assert find_submissions(a / "results") == []  # below an org is not a submission
    assert find_submissions(tmp_path / "nothing") == []


def test_ruleset_taken_from_the_logs_when_not_given(tree):
    assert check_package(tree.org, None, tree.logs()) == []


def test_paths_are_shown_as_the_org_folder_was_given(tree, monkeypatch):
    (tree.bench / "notes.txt").write_text("x")
    monkeypatch.chdir(tree.root)
    from pathlib import Path

    logs = {p.resolve(): v for p, v in tree.logs().items()}
    (d,) = check_package(Path(ORG), None, logs)
    assert d.path == f"{ORG}/results/{SYSTEM}/strong/{BENCH}/notes.txt"


def test_paths_can_be_shown_relative_to_the_path_argument(tree):
    (tree.bench / "notes.txt").write_text("x")
    (d,) = check_package(tree.org, None, tree.logs(), show_as=".")
    assert d.path == f"results/{SYSTEM}/strong/{BENCH}/notes.txt"


def test_a_runs_kept_model_is_not_stray(tree):
    model = tree.bench / "model_0"
    model.mkdir()
    (model / "weights.h5").write_bytes(b"\x89HDF\r\n")
    assert tree.check() == []
