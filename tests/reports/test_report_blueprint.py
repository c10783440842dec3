"""The blueprint's method-comparison table (reports/blueprint.py): a column per (dataset,
method, system) result, a row per panel metric with the values of the rows it is built from,
the best of each row marked, and nothing for benchmarks outside a blueprint; on a submission
tree of two methods and two datasets, the values the logs hold, in results.md, results.json
and index.html."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports import blueprint
from reports.aggregate import build_report
from sciperf.vocab import BENCHMARKS, RECONSTRUCTION_ERROR
from tests.reports.report_helpers import SYSTEM_FIELDS, rec


def row(benchmark, method, system, mig, error, minutes, division="closed"):
    return {"benchmark": benchmark, "method": method, "system": system, "submitter": "ACME",
            "division": division, "scaling": "strong", "time_to_train_minutes": minutes,
            "data_scale": None,
            "panel": {"mig": {"mean": mig, "spread": 0.01, "runs": 3},
                      "reconstruction_error": {"mean": error, "spread": 0.001, "runs": 3}}}


ROWS = [row("dsprites", "beta_vae", "cpu", 0.04, 0.010, 2.5),
        row("dsprites", "dip_vae_ii", "cpu", 0.06, 0.012, 3.0, "open"),
        row("shapes3d", "beta_vae", "gpu", 0.30, 0.004, 1.5),
        {**row("cosmoflow", None, "cpu", 0, 0, 1.0), "panel": None}]


def test_one_column_per_result_and_one_row_per_panel_metric():
    [(bp, t)] = blueprint.comparison(ROWS).items()
    assert bp == "disentangle"
    assert [(c["benchmark"], c["method"], c["system"]) for c in t["columns"]] == [
        ("dsprites", "beta_vae", "cpu"), ("dsprites", "dip_vae_ii", "cpu"),
        ("shapes3d", "beta_vae", "gpu")]
    assert [c["mean"] for c in t["metrics"]["mig"]] == [0.04, 0.06, 0.30]
    assert t["metrics"]["z_diff"] == [None, None, None]  # not in these rows' panels
    assert t["best"] == {"mig": [2], "reconstruction_error": [2]}  # lower is better for the error


def test_a_tie_marks_every_result_holding_the_best():
    tied = [row("dsprites", "beta_vae", "cpu", 0.30, 0.010, 2.5), ROWS[2]]
    assert blueprint.comparison(tied)["disentangle"]["best"]["mig"] == [0, 1]


def test_the_markdown_report_carries_the_table_with_the_best_marked():
    md = "\n".join(blueprint.comparison_md(ROWS))
    assert "## Method comparison: blueprint disentangle" in md
    line = next(ln for ln in md.splitlines() if ln.startswith("| mig |"))
    assert line == "| mig | 0.040 ± 0.010 | 0.060 ± 0.010 | **0.300 ± 0.010** |"
    assert "| time to train (min) | 2.50 | 3.00 | 1.50 |" in md
    assert "cosmoflow ·" not in md
    assert blueprint.comparison_md(ROWS[3:]) == []


def test_each_row_is_placed_in_its_table():
    placed = blueprint.placed(ROWS)
    assert [p["comparison"] for p in placed] == [
        {"blueprint": "disentangle", "column": 0, "label": "dsprites · beta_vae · cpu",
         "best": []},
        {"blueprint": "disentangle", "column": 1, "label": "dsprites · dip_vae_ii · cpu",
         "best": []},
        {"blueprint": "disentangle", "column": 2, "label": "shapes3d · beta_vae · gpu",
         "best": ["mig", "reconstruction_error"]},
        None]
    assert "comparison" not in ROWS[0]  # copies


def test_the_panel_plot_is_a_png_drawn_only_for_blueprint_results():
    from reports import plots

    png = blueprint.panel_png(ROWS)
    assert png.startswith(b"\x89PNG")
    assert blueprint.PANEL_PLOT in plots.render_plots(ROWS[:3])
    assert blueprint.panel_png(ROWS[3:]) is None


# -- a submission tree: two methods (beta-VAE closed, DIP-VAE-II open) on two datasets -------

PANEL = BENCHMARKS["dsprites"].panel
OPEN_SYSTEM = 'lab <i>&"x"'  # a name a submitter controls, with markup in it
MINUTE = 60_000
# (system folder, benchmark, method, minutes of the three runs, the mig and the
# reconstruction error each run logs); the other panel keys get values of their own below.
TREE = [
    ("box", "dsprites", "beta_vae", (2, 3, 4), (0.18, 0.20, 0.22), (0.012, 0.011, 0.013)),
    ("lab", "dsprites", "dip_vae_ii", (3, 4, 5), (0.04, 0.05, 0.06), (0.010, 0.009, 0.011)),
    ("box", "shapes3d", "beta_vae", (1, 2, 3), (0.38, 0.41, 0.40), (0.020, 0.021, 0.019)),
    ("lab", "shapes3d", "dip_vae_ii", (5, 6, 7), (0.09, 0.10, 0.12), (0.008, 0.009, 0.008)),
]


def _logged(j: int, key: str) -> tuple[float, float, float]:
    """What the runs of TREE[j] log as `key`'s final value."""
    _, _, _, _, mig, error = TREE[j]
    if key == "mig":
        return mig
    if key == RECONSTRUCTION_ERROR:
        return error
    m = PANEL.index(key)
    return tuple(round(0.05 + 0.09 * m + 0.03 * ((j * 3 + m) % 4) + 0.002 * i, 6)
                 for i in range(3))


def blueprint_tree(root: Path) -> Path:
    """Write the TREE's submission (org `demo`: system `box`, closed; `lab`, open) under root;
    returns the org folder. Each run logs its reconstruction error at two evaluations (the
    last counts) and the panel once after run_stop, as the reference implementation does."""
    org = root / "demo"
    (org / "systems").mkdir(parents=True)
    (org / "systems" / "box.json").write_text(json.dumps(SYSTEM_FIELDS))
    (org / "systems" / "lab.json").write_text(json.dumps(
        {**SYSTEM_FIELDS, "system_name": OPEN_SYSTEM, "division": "open"}))
    for j, (system, bench, method, minutes, _, _) in enumerate(TREE):
        folder = org / "results" / system / "strong" / bench
        folder.mkdir(parents=True)
        for i, m in enumerate(minutes):
            lines = [rec("sciperf_ruleset", "sciperf-1.0.0"), rec("data_scale", "tiny"),
                     rec("submission_benchmark", bench), rec("global_batch_size", 64),
                     rec("number_of_nodes", 1), rec("accelerators_per_node", 0),
                     rec("method", method), rec("run_start", t=0),
                     rec("eval_accuracy", 0.01, t=1, epoch_num=1),
                     rec(RECONSTRUCTION_ERROR, 0.5, t=1, epoch_num=1),
                     rec("eval_accuracy", 0.5, t=2, epoch_num=2),
                     rec(RECONSTRUCTION_ERROR, _logged(j, RECONSTRUCTION_ERROR)[i], t=2,
                         epoch_num=2),
                     rec("run_stop", t=m * MINUTE, status="success")]
            lines += [rec(k, _logged(j, k)[i], t=m * MINUTE + 1) for k in PANEL
                      if k != RECONSTRUCTION_ERROR]
            (folder / f"result_{i}.txt").write_text("\n".join(lines) + "\n")
    return org


def expected_table() -> dict:
    """The table the logs make, computed here from what they hold: the results in the table's
    order (dataset, then method), and per key the mean and spread of each."""
    cells = {k: [(sum(v) / 3, max(v) - min(v)) for v in (_logged(j, k) for j in range(4))]
             for k in PANEL}
    best = {}
    for k, cs in cells.items():
        top = (min if k == RECONSTRUCTION_ERROR else max)(m for m, _ in cs)
        best[k] = [j for j, (m, _) in enumerate(cs) if m == top]
    return {"results": [(f"{b} (tiny)", method, "box" if s == "box" else OPEN_SYSTEM)
                        for s, b, method, *_ in TREE],
            "minutes": [sorted(t)[1] for *_, t, _, _ in TREE],  # olympic mean of three
            "cells": cells, "best": best}


class _Table(HTMLParser):
    """The rows of one table of a page: per row, per cell, its attributes and its text."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.depth, self.rows = table_id, 0, []
        self.headers: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            if self.depth or attrs.get("id") == self.table_id:
                self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.rows[-1].append({**attrs, "text": "", "strong": False})
        elif self.depth and tag == "strong" and self.rows and self.rows[-1]:
            self.rows[-1][-1]["strong"] = True

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.rows and self.rows[-1]:
            self.rows[-1][-1]["text"] += data


def html_table(html: str, table_id: str) -> list[list[dict]]:
    parser = _Table(table_id)
    parser.feed(html)
    return [[{**c, "text": " ".join(c["text"].split())} for c in r] for r in parser.rows]


@pytest.fixture(scope="module")
def tree_report(tmp_path_factory):
    from reports.cli import write_report

    org = blueprint_tree(tmp_path_factory.mktemp("round"))
    out = tmp_path_factory.mktemp("published") / "report"
    write_report(build_report([org], gate=False), out, [str(org)], "SciPerf results")
    return out


def test_the_tree_makes_one_table_of_four_results(tree_report):
    rows = json.loads((tree_report / "results.json").read_text())
    want = expected_table()
    placed = sorted((r for r in rows if r["comparison"]), key=lambda r: r["comparison"]["column"])
    assert [(f"{r['benchmark']} ({r['data_scale']})", r["method"], r["system"])
            for r in placed] == want["results"]
    assert {r["comparison"]["blueprint"] for r in placed} == {"disentangle"}
    assert [r["comparison"]["column"] for r in placed] == [0, 1, 2, 3]
    assert [r["time_to_train_minutes"] for r in placed] == want["minutes"]
    for j, r in enumerate(placed):
        assert r["comparison"]["label"] == " · ".join(want["results"][j])
        assert r["comparison"]["best"] == [k for k in PANEL if j in want["best"][k]]
        for k in PANEL:
            mean, spread = want["cells"][k][j]
            assert r["panel"][k]["mean"] == pytest.approx(mean)
            assert r["panel"][k]["spread"] == pytest.approx(spread)
    assert want["best"]["mig"] == [2] and want["best"][RECONSTRUCTION_ERROR] == [3]
    assert (tree_report / blueprint.PANEL_PLOT).read_bytes().startswith(b"\x89PNG")
    csv_header = (tree_report / "results.csv").read_text().splitlines()[0].split(",")
    assert "comparison" in csv_header


def test_results_md_holds_the_values_of_the_logs(tree_report):
    md = (tree_report / "results.md").read_text()
    want = expected_table()
    section = md.split("## Method comparison: blueprint disentangle", 1)[1].split("\n## ")[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    assert header[1:] == [" · ".join(r).replace("<", "\\<").replace(">", "\\>")
                          .replace("&", "\\&") for r in want["results"]]
    assert lines[2] == "| time to train (min) | " + " | ".join(
        f"{m:.2f}" for m in want["minutes"]) + " |"
    body = {ln.split(" | ")[0].lstrip("| "): [c.strip() for c in ln.strip("| ").split(" | ")[1:]]
            for ln in lines[3:]}
    assert list(body) == list(PANEL)
    for k in PANEL:
        cells = [f"{m:.3f} ± {s:.3f}" for m, s in want["cells"][k]]
        assert body[k] == [f"**{c}**" if j in want["best"][k] else c for j, c in enumerate(cells)]
    assert "<i>" not in md


def test_index_html_holds_the_values_of_the_logs_a_row_per_result(tree_report):
    html = (tree_report / "index.html").read_text()
    want = expected_table()
    head, *body = html_table(html, "comparison-disentangle")
    names = [h["text"].strip() for h in head]
    assert names[:6] == ["Dataset", "Method", "Division", "Submitter", "System",
                         "Time to train (min)"]
    assert names[6:] == list(PANEL)
    assert all("sortable" in h["class"] for h in head)  # the page's one sorting mechanism
    assert [(r[0]["text"], r[1]["text"], r[4]["text"]) for r in body] == want["results"]
    assert [r[2]["text"] for r in body] == ["closed", "open", "closed", "open"]
    assert [float(r[5]["data-value"]) for r in body] == want["minutes"]
    for j, r in enumerate(body):
        for k, cell in zip(PANEL, r[6:]):
            mean, spread = want["cells"][k][j]
            assert float(cell["data-value"]) == pytest.approx(mean)
            assert f"{mean:.3f}" in cell["text"] and f"± {spread:.3f}" in cell["text"]
            best = j in want["best"][k]
            assert cell["strong"] is best and ("best" in cell["class"].split()) is best
            assert ("title" in cell) is best and ("best" in cell["text"].split()) is best
            if best:
                assert cell["title"] == blueprint.best_text(k, 4)
    assert "<i>" not in html and "lab &lt;i&gt;&amp;" in html  # escaped, not markup
    # the panel plot is beside the table, not among the other plots
    table_at, plot_at = html.index('id="comparison-disentangle"'), html.index('class="panel-plot"')
    assert table_at < plot_at < html.index('id="weak-scaling"')
    assert html.count("data:image/png") == len(
        [p for p in tree_report.glob("*.png")])  # each plot embedded once
