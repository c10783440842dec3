"""check-compliance on inference results (compliance/inference.py and the inference_*.yaml rule
files): real LoadGen logs, made once by `sciperf infer --quick` on an untrained em_denoise model,
then broken in one way each. The accuracy an untrained model reaches is below the target, so
the passing case rewrites the logged accuracy (the checker judges the record; how `sciperf
infer` computes it is tests/harness/test_inference.py's)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compliance.api import check_logs
from compliance.pipeline import check_paths
from reference_implementations.common import inference, trained
from reference_implementations.common.config import load_config
from reference_implementations.em_denoise import model as em_model
from sciperf import layout
from sciperf import vocab as K
from tests.package.pkgtrees import mllog_line, sciperf_log
from tests.support import generate_data, sciperf

ORG, SYSTEM, BENCH = "acme", "box1", "em_denoise"
TARGET = load_config(BENCH, "tiny").train["target"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A submission root with both scenarios of one em_denoise model, and the model's hash."""
    data = generate_data(tmp_path_factory, BENCH)
    root = tmp_path_factory.mktemp("made")
    cfg = load_config(BENCH, "tiny", overrides=[f"run.data_dir={data}", "train.target=-100"])
    sha = trained.save(em_model.build(cfg), cfg, root / "model_0")
    for scenario in layout.SCENARIOS:
        code = inference.main([BENCH, "--model", str(root / "model_0"), "--scenario", scenario,
                               "--out", str(root / "sub"), "--org", ORG, "--system", SYSTEM,
                               "--quick"])
        assert code == 0
    return root / "sub", sha


@pytest.fixture
def tree(made, tmp_path):
    sub, sha = made
    shutil.copytree(sub, tmp_path / "sub")
    return tmp_path / "sub", sha


def scenario_dir(root: Path, scenario: str = "offline") -> Path:
    return layout.inference_dir(root / ORG, SYSTEM, BENCH, scenario)


def rewrite(path: Path, key: str, value) -> None:
    """Set the value of the first record of `key` (the line stays where it is)."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if f'"key": "{key}"' in line:
            head, _, body = line.partition(":::MLLOG ")
            rec = json.loads(body)
            rec["value"] = value
            lines[i] = head + ":::MLLOG " + json.dumps(rec)
            break
    else:
        raise AssertionError(f"{path} has no {key}")
    path.write_text("\n".join(lines) + "\n")


def reach_target(folder: Path) -> None:
    rewrite(folder / layout.INFERENCE_LOG, K.INFERENCE_ACCURACY, TARGET + 0.1)


def findings(folder: Path):
    (result,) = check_logs([folder / layout.INFERENCE_LOG])
    return result, [(d.code, d.severity) for d in result.diagnostics]


@pytest.mark.parametrize("scenario", layout.SCENARIOS)
def test_a_result_passes_with_its_unofficial_warning(tree, scenario):
    root, _ = tree
    folder = scenario_dir(root, scenario)
    reach_target(folder)
    result, found = findings(folder)
    assert result.verdict == "pass" and found == [("SP504", "warning")], result.diagnostics
    s = result.summary
    assert s.inference[K.INFERENCE_SCENARIO].value == scenario
    perf = s.runs[layout.PERFORMANCE].loadgen
    assert perf[K.RESULT_VALIDITY].value == "VALID"
    score = K.RESULT_P90_LATENCY_NS if scenario == "singlestream" else K.RESULT_SAMPLES_PER_SECOND
    assert perf[score].value > 0
    assert s.accuracy_samples == s.inference[K.EVAL_SAMPLES].value


def test_below_the_target_is_sp502(tree):
    root, _ = tree
    result, found = findings(scenario_dir(root))  # the untrained model's own accuracy
    assert result.verdict == "fail" and ("SP502", "error") in found
    (d,) = [d for d in result.diagnostics if d.code == "SP502"]
    assert d.key == K.INFERENCE_ACCURACY and f"{TARGET * 0.99:.6g}" in d.message


def test_invalid_loadgen_result_fails(tree):
    root, _ = tree
    folder = scenario_dir(root)
    reach_target(folder)
    detail = folder / layout.PERFORMANCE / layout.LOADGEN_DETAIL
    rewrite(detail, K.RESULT_VALIDITY, "INVALID")
    result, found = findings(folder)
    assert result.verdict == "fail" and found.count(("SP201", "error")) == 1
    (d,) = [d for d in result.diagnostics if d.code == "SP201"]
    assert d.key == K.RESULT_VALIDITY and d.path.endswith("performance/mlperf_log_detail.txt")
    assert "INVALID" in d.message


def test_a_truncated_loadgen_log_gets_diagnostics(tree):
    root, _ = tree
    folder = scenario_dir(root, "singlestream")
    reach_target(folder)
    detail = folder / layout.PERFORMANCE / layout.LOADGEN_DETAIL
    text = detail.read_bytes()
    detail.write_bytes(text[:len(text) // 3])  # cut mid-line, before the result records
    result, found = findings(folder)
    assert result.verdict == "fail"
    missing = {d.key for d in result.diagnostics if d.code == "SP101"}
    assert K.RESULT_VALIDITY in missing


@pytest.mark.parametrize("what", ["accuracy_dir", "performance_dir"])
def test_a_missing_run_is_sp501(tree, what):
    root, _ = tree
    folder = scenario_dir(root)
    reach_target(folder)
    shutil.rmtree(folder / (layout.ACCURACY if what == "accuracy_dir" else layout.PERFORMANCE))
    result, found = findings(folder)
    assert result.verdict == "fail" and ("SP501", "error") in found


def test_an_accuracy_log_missing_samples_is_sp503(tree):
    root, _ = tree
    folder = scenario_dir(root)
    reach_target(folder)
    path = folder / layout.ACCURACY / layout.LOADGEN_ACCURACY
    entries = json.loads(path.read_text())
    path.write_text(json.dumps(entries[:-5]))
    result, found = findings(folder)
    assert ("SP503", "error") in found
    path.write_text(path.read_text()[:100])  # truncated JSON
    result, found = findings(folder)
    assert ("SP503", "error") in found and result.verdict == "fail"


def test_shortened_settings_not_marked_unofficial_fail(tree):
    root, _ = tree
    folder = scenario_dir(root)
    reach_target(folder)
    rewrite(folder / layout.INFERENCE_LOG, K.INFERENCE_UNOFFICIAL, False)
    result, found = findings(folder)
    assert ("SP504", "error") in found and result.verdict == "fail"


def test_a_scenario_in_the_wrong_folder_is_sp505(tree):
    root, _ = tree
    wrong = scenario_dir(root, "singlestream")
    shutil.rmtree(wrong)
    shutil.copytree(scenario_dir(root, "offline"), wrong)
    reach_target(wrong)
    result, found = findings(wrong)
    assert ("SP505", "error") in found


def training_logs(root: Path, weights: str | None) -> None:
    bench = layout.result_dir(root / ORG, SYSTEM, layout.STRONG, BENCH)
    bench.mkdir(parents=True)
    for i in range(3):
        text = sciperf_log(seed=100 + i)
        if weights is not None and i == 1:
            text += mllog_line(K.WEIGHTS_SHA256, weights, t=99_000) + "\n"
        (bench / f"result_{i}.txt").write_text(text)


@pytest.mark.parametrize("kept", [True, False])
def test_the_model_must_be_one_a_training_log_kept(tree, kept):
    root, sha = tree
    for scenario in layout.SCENARIOS:
        reach_target(scenario_dir(root, scenario))
    training_logs(root, sha if kept else "0" * 64)
    checked = check_paths([root])
    (pkg,) = checked.packages
    sp506 = [d for d in pkg.diagnostics if d.code == "SP506"]
    assert not any(d.code == "SP401" and "inference" in d.message for d in pkg.diagnostics)
    if kept:
        assert sp506 == []
    else:
        assert len(sp506) == 2 and {d.scope.scenario for d in sp506} == set(layout.SCENARIOS)
        assert all(d.key == K.WEIGHTS_SHA256 for d in sp506)


def test_check_compliance_exit_statuses(tree):
    root, _ = tree
    folder = scenario_dir(root)
    reach_target(folder)
    ok = sciperf("check", folder, "--format", "json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    rewrite(folder / layout.PERFORMANCE / layout.LOADGEN_DETAIL, K.RESULT_VALIDITY, "INVALID")
    bad = sciperf("check", folder)
    assert bad.returncode == 1 and "SP201" in bad.stdout and "Traceback" not in bad.stderr


def inference_rules():
    """(rule file, key) of every KEY the inference rule files require."""
    from compliance import registry

    out = []
    for rf in registry.load(K.RULESET).files:
        if rf.short.startswith("inference_"):
            out += [(rf.short, key) for key, rule in rf.keys.items()
                    if rule.req == "EXACTLY_ONE"]
    return out


# which file of a result each rule file checks (the scenario files: the performance run's)
CHECKED_FILE = {"inference_common.yaml": layout.INFERENCE_LOG,
                "inference_accuracy.yaml": f"{layout.ACCURACY}/{layout.LOADGEN_DETAIL}"}


@pytest.mark.parametrize("rule_file,key", inference_rules())
def test_every_required_record_is_checked(made, tmp_path, rule_file, key):
    sub, _ = made
    scenario = "offline" if rule_file == "inference_offline.yaml" else "singlestream"
    folder = tmp_path / scenario
    shutil.copytree(scenario_dir(sub, scenario), folder)
    reach_target(folder)
    path = folder / CHECKED_FILE.get(rule_file, f"{layout.PERFORMANCE}/{layout.LOADGEN_DETAIL}")
    kept = [ln for ln in path.read_text().splitlines() if f'"key": "{key}"' not in ln]
    path.write_text("\n".join(kept) + "\n")
    result, found = findings(folder)
    assert result.verdict == "fail"
    assert any(d.code == "SP101" and d.key == key for d in result.diagnostics), found


def test_inference_rules_cover_the_keys():
    keys = {key for _, key in inference_rules()}
    assert {K.RESULT_VALIDITY, K.RESULT_P90_LATENCY_NS, K.RESULT_SAMPLES_PER_SECOND,
            K.WEIGHTS_SHA256, K.INFERENCE_ACCURACY, K.EFFECTIVE_TEST_MODE} <= keys
