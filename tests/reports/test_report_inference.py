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


LONG = ("A system name of well over a hundred characters: 64 nodes, 8 accelerators each, "
        "immersion cooled, in a basement")


def test_the_inference_plot_shows_checked_results_named_in_full(tree, tmp_path):
    """inference.png: a panel per benchmark and scenario of the checked results only, each
    bar named in full (the figure widens), the unofficial ones marked in name and legend; it
    is written beside the other plots and shown on the page."""
    from reports.plots import INFERENCE_PLOT, UNOFFICIAL, inference_figure

    desc = dict(SYSTEM_DESC, system_name=LONG)
    (tree / ORG / "systems" / f"{SYSTEM}.json").write_text(json.dumps(desc))
    rewrite(scenario_dir(tree, "offline") / layout.PERFORMANCE / layout.LOADGEN_DETAIL,
            K.RESULT_VALIDITY, "INVALID")  # kept out of the tables, so out of the plot
    report = build_report([tree])
    assert [r["scenario"] for r in report.inference] == ["singlestream"]
    fig = inference_figure(report.inference)
    (ax,) = fig.axes
    assert ax.get_title(loc="left") == f"{BENCH} (tiny), singlestream"
    assert ax.get_xscale() == "log"
    (label,) = ax.get_yticklabels()
    assert LONG in label.get_text() and label.get_text().endswith("(closed, unofficial)")
    (bar,) = ax.patches
    assert bar.get_width() == pytest.approx(report.inference[0]["p90_latency_ms"])
    assert bar.get_hatch() == "//"
    assert UNOFFICIAL in [t.get_text() for t in ax.get_legend().get_texts()]
    fig.canvas.draw()
    box = label.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # the name is not cut
    written = write_report(report, tmp_path / "report", [str(tree)], "t")
    png = written[INFERENCE_PLOT].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert f'alt="{INFERENCE_PLOT}"' in written["index.html"].read_text()


def test_no_checked_inference_result_no_inference_plot(tree, tmp_path):
    from reports.plots import INFERENCE_PLOT

    for scenario in layout.SCENARIOS:  # every result fails its checks
        rewrite(scenario_dir(tree, scenario) / layout.PERFORMANCE / layout.LOADGEN_DETAIL,
                K.RESULT_VALIDITY, "INVALID")
    report = build_report([tree])
    assert report.inference == [] and report.rejected
    write_report(report, tmp_path / "failing", [str(tree)], "t")
    assert not (tmp_path / "failing" / INFERENCE_PLOT).exists()
    shutil.rmtree(tree / ORG / "results" / SYSTEM / layout.INFERENCE)  # none at all
    written = write_report(build_report([tree]), tmp_path / "none", [str(tree)], "t")
    assert INFERENCE_PLOT not in written and not (tmp_path / "none" / INFERENCE_PLOT).exists()
    assert INFERENCE_PLOT not in written["index.html"].read_text()
