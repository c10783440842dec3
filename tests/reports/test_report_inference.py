"""sciperf report's inference tables (reports/inference.py): checked inference results become
rows (score from LoadGen's records, accuracy, unofficial marked); a result that fails its
checks, or times a model no training log kept, is listed with the reasons instead."""

from __future__ import annotations

import json
import shutil

import pytest

from reports.aggregate import build_report
from reports.cli import write_report
from sciperf import layout
from sciperf import vocab as K
from tests.compliance.test_inference_rules import (BENCH, ORG, SYSTEM, made,  # noqa: F401
                                                   reach_target, rewrite, scenario_dir,
                                                   training_logs)
from tests.package.pkgtrees import SYSTEM_DESC


@pytest.fixture
def tree(made, tmp_path):  # noqa: F811
    sub, sha = made
    root = tmp_path / "sub"
    shutil.copytree(sub, root)
    for scenario in layout.SCENARIOS:
        reach_target(scenario_dir(root, scenario))
    training_logs(root, sha)
    (root / ORG / "systems").mkdir()
    (root / ORG / "systems" / f"{SYSTEM}.json").write_text(json.dumps(SYSTEM_DESC))
    impl = root / ORG / "benchmarks" / BENCH / "implementations" / "ref"
    impl.mkdir(parents=True)
    (impl / "train.py").write_text("print('train')\n")
    return root


def test_checked_results_become_rows(tree, tmp_path):
    report = build_report([tree])
    rows = {r["scenario"]: r for r in report.inference}
    assert sorted(rows) == sorted(layout.SCENARIOS), report.rejected
    ss, off = rows["singlestream"], rows["offline"]
    detail = scenario_dir(tree, "singlestream") / layout.PERFORMANCE / layout.LOADGEN_DETAIL
    p90 = next(json.loads(ln.split(":::MLLOG ", 1)[1])["value"]
               for ln in detail.read_text().splitlines() if K.RESULT_P90_LATENCY_NS in ln)
    assert ss["p90_latency_ms"] == pytest.approx(p90 / 1e6) and ss["samples_per_second"] is None
    assert off["samples_per_second"] > 0 and off["p90_latency_ms"] is None
    for r in rows.values():
        assert r["unofficial"] is True and r["metric"] == "psnr_db" and r["data_scale"] == "tiny"
        assert r["submitter"] == SYSTEM_DESC["submitter"] and len(r["weights_sha256"]) == 64
    written = write_report(report, tmp_path / "report", [str(tree)], "t")
    md = written["results.md"].read_text()
    assert "## Inference (MLPerf LoadGen)" in md and "p90 latency (ms)" in md
    assert "unofficial" in md
    assert json.loads(written["inference.json"].read_text()) == report.inference
    page = written["index.html"].read_text()
    assert 'id="inference"' in page and page.count('class="inference-table"') == 2
    assert f"{ss['p90_latency_ms']:.3f}" in page and f"{off['samples_per_second']:.1f}" in page
    assert written["inference.csv"].read_text().count("\n") == 3


def test_a_failing_result_is_listed_with_its_reasons(tree):
    rewrite(scenario_dir(tree, "offline") / layout.PERFORMANCE / layout.LOADGEN_DETAIL,
            K.RESULT_VALIDITY, "INVALID")
    report = build_report([tree])
    assert [r["scenario"] for r in report.inference] == ["singlestream"]
    (out,) = [r for r in report.rejected if r["scaling"] == layout.INFERENCE]
    assert out["scenario"] == "offline"
    assert {d["code"] for d in out["diagnostics"]} == {"SP201"}


def test_a_model_no_training_log_kept_is_listed(tree):
    for log in layout.result_dir(tree / ORG, SYSTEM, layout.STRONG, BENCH).glob("result_*"):
        log.write_text("\n".join(ln for ln in log.read_text().splitlines()
                                 if K.WEIGHTS_SHA256 not in ln) + "\n")
    report = build_report([tree])
    assert report.inference == []
    kept_out = [r for r in report.rejected if r["scaling"] == layout.INFERENCE]
    assert len(kept_out) == 2
    assert all({d["code"] for d in r["diagnostics"]} == {"SP506"} for r in kept_out)
