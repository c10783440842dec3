"""The blueprint's method-comparison table (reports/blueprint.py): a column per (dataset,
method, system) result, a row per panel metric with the values of the rows it is built from,
the best of each row marked, and nothing for benchmarks outside a blueprint."""

from __future__ import annotations

from reports import blueprint


def row(benchmark, method, system, mig, error, minutes, division="closed"):
    return {"benchmark": benchmark, "method": method, "system": system, "submitter": "ACME",
            "division": division, "scaling": "strong", "time_to_train_minutes": minutes,
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
    assert t["best"] == {"mig": 2, "reconstruction_error": 2}  # lower is better for the error


def test_the_markdown_report_carries_the_table_with_the_best_marked():
    md = "\n".join(blueprint.comparison_md(ROWS))
    assert "## Method comparison: blueprint disentangle" in md
    line = next(ln for ln in md.splitlines() if ln.startswith("| mig |"))
    assert line == "| mig | 0.040 ± 0.010 | 0.060 ± 0.010 | **0.300 ± 0.010** |"
    assert "| time to train (min) | 2.50 | 3.00 | 1.50 |" in md
    assert "cosmoflow ·" not in md
    assert blueprint.comparison_md(ROWS[3:]) == []


def test_the_panel_plot_is_a_png_drawn_only_for_blueprint_results():
    from reports import plots

    png = blueprint.panel_png(ROWS)
    assert png.startswith(b"\x89PNG")
    assert blueprint.PANEL_PLOT in plots.render_plots(ROWS[:3])
    assert blueprint.panel_png(ROWS[3:]) is None
