"""A blueprint benchmark's panel logged at every evaluation (sciperf.vocab Benchmark.panel:
rotation's upright accuracy, per-45-degree accuracy and rotation consistency) beside the time to
train, in results.json, results.md and index.html, in the blueprint's method-comparison table;
benchmarks without a panel get none."""

from __future__ import annotations

import json

import pytest

from reports.aggregate import build_report
from reports import blueprint
from reports.render import results_html, results_md, to_json
from sciperf.vocab import BENCHMARKS
from tests.reports.report_helpers import SYSTEM_FIELDS, rec

PANEL = BENCHMARKS["rotation"].panel
MINUTE = 60_000


def _runs(folder, benchmark, minutes, panels):
    """One log per run: its minutes to train, and each panel key's values over its epochs."""
    folder.mkdir(parents=True)
    for i, (m, values) in enumerate(zip(minutes, panels)):
        lines = [rec("sciperf_ruleset", "sciperf-1.0.0"), rec("data_scale", "tiny"),
                 rec("submission_benchmark", benchmark), rec("global_batch_size", 32),
                 rec("number_of_nodes", 1), rec("accelerators_per_node", 0),
                 rec("method", "gcnn"), rec("run_start", t=0)]
        for epoch, per_epoch in enumerate(values, 1):
            lines.append(rec("eval_accuracy", 0.5, t=epoch, epoch_num=epoch))
            lines += [rec(k, v, t=epoch, epoch_num=epoch) for k, v in zip(PANEL, per_epoch)]
        lines.append(rec("run_stop", t=m * MINUTE, status="success"))
        (folder / f"result_{i}.txt").write_text("\n".join(lines) + "\n")


def _report(tmp_path):
    org = tmp_path / "demo"
    (org / "systems").mkdir(parents=True)
    (org / "systems" / "box.json").write_text(json.dumps(SYSTEM_FIELDS))
    # three runs; the first logs two epochs (its last value counts), the others one
    first = [[0.1] * len(PANEL), [0.9] * len(PANEL)]
    _runs(org / "results" / "box" / "strong" / "rotation", "rotation", [1, 2, 3],
          [first, [[0.6] * len(PANEL)], [[0.3 + 0.01 * j for j in range(len(PANEL))]]])
    _runs(org / "results" / "box" / "strong" / "cosmoflow", "cosmoflow", [1, 2, 3], [[], [], []])
    return build_report([org], gate=False)


def test_the_panel_means_reach_every_output(tmp_path):
    """The rotation blueprint's panel is tabulated in one place: its method-comparison table
    (reports/blueprint.py), with the time to train, as the disentangle blueprint's is."""
    rep = _report(tmp_path)
    rotation = next(r for r in rep.results if r["benchmark"] == "rotation")
    expected = {k: pytest.approx((0.9 + 0.6 + 0.3 + 0.01 * j) / 3) for j, k in enumerate(PANEL)}
    means = {k: v["mean"] for k, v in rotation["panel"].items()}
    assert means == expected
    assert json.loads(to_json(rep.results))[rep.results.index(rotation)]["panel"][
        "rotation_consistency"]["runs"] == 3

    tables = blueprint.comparison(rep.results)  # cosmoflow has no panel
    assert list(tables) == ["rotation"]
    (column,) = tables["rotation"]["columns"]
    assert column["row"] is rotation and column["label"] == "rotation (tiny) · gcnn · box"
    assert list(tables["rotation"]["metrics"]) == list(PANEL)
    assert [c["mean"] for (c,) in tables["rotation"]["metrics"].values()] == [
        means[k] for k in PANEL]
    (placed,) = [p for p in blueprint.placed(rep.results) if p["comparison"]]
    assert placed["comparison"]["blueprint"] == "rotation"

    md = results_md(rep.results, rep.rejected)
    assert "Blueprint panels" not in md  # one place per blueprint
    section = md.split("## Method comparison: blueprint rotation", 1)[1].split("\n## ", 1)[0]
    assert "cosmoflow" not in section
    rows = {ln.split(" | ")[0].lstrip("| "): ln.strip("| ").split(" | ")[1:]
            for ln in section.splitlines() if ln.startswith("|")}
    assert rows["time to train (min)"] == ["2.00"]  # olympic mean of 1, 2, 3 minutes
    for k in PANEL:
        assert rows[k][0].strip("*").startswith(f"{means[k]:.3f} ± ")

    html = results_html(rep.results, rep.rejected, {}, {}, ["demo"])
    assert 'id="comparison-rotation"' in html and 'id="panels"' not in html
    for k in PANEL:
        assert f"<code>{k}</code>" in html and f'data-value="{means[k]}"' in html


def test_no_panel_no_section(tmp_path):
    rep = _report(tmp_path)
    others = [r for r in rep.results if r["benchmark"] != "rotation"]
    assert blueprint.comparison(others) == {}
    assert "Method comparison" not in results_md(others, [])
    assert 'id="comparison"' not in results_html(others, [], {}, {}, ["demo"])
