"""A SciPerf-shaped submission (data_scale, sciperf_ruleset) scored without the checks: the
scale-dependent run counts come from the package rules, and tables and plots name the scale."""

from __future__ import annotations

import json

from tests.reports.report_helpers import SYSTEM_FIELDS, rec
from reports.aggregate import build_report
from reports.plots import render_plots
from reports.render import results_csv, results_md


def _write_runs(folder, spans, scale="tiny"):
    folder.mkdir(parents=True)
    for i, (start, stop) in enumerate(spans):
        lines = [rec("sciperf_ruleset", "sciperf-1.0.0"), rec("data_scale", scale),
                 rec("submission_benchmark", "cosmoflow"), rec("global_batch_size", 8),
                 rec("number_of_nodes", 1), rec("accelerators_per_node", 0),
                 rec("run_start", t=start), rec("run_stop", t=stop, status="success")]
        (folder / f"result_{i}.txt").write_text("\n".join(lines) + "\n")


def _org(tmp_path, weak_runs):
    org = tmp_path / "demo"
    (org / "systems").mkdir(parents=True)
    (org / "systems" / "box.json").write_text(json.dumps(SYSTEM_FIELDS))
    _write_runs(org / "results" / "box" / "strong" / "cosmoflow",
                [(0, 60_000), (0, 120_000), (0, 180_000)])
    _write_runs(org / "results" / "box" / "weak" / "cosmoflow",
                [(0, 60_000 * (i + 1)) for i in range(weak_runs)])
    return org


def test_scores_and_scale_labels(tmp_path):
    rep = build_report([_org(tmp_path, weak_runs=3)], gate=False)
    strong, weak = rep.results
    assert strong["ruleset"] == "sciperf-1.0.0" and strong["data_scale"] == "tiny"
    assert strong["time_to_train_minutes"] == 2.0  # olympic mean of 1, 2, 3 minutes
    assert (weak["number_of_models"], weak["instance_scale"]) == (3, 1)
    assert weak["time_to_train_all_minutes"] == 3.0 and weak["models_per_minute"] == 1.0
    assert "### cosmoflow (tiny)" in results_md(rep.results, rep.rejected)
    assert set(render_plots(rep.results)) == {"time_to_train.png", "weak_throughput.png",
                                              "strong_scaling.png"}
    header, *lines = results_csv(rep.results).splitlines()
    assert len(lines) == 2 and header.startswith("submitter,org,system,system_id,")


def test_weak_needs_the_package_rules_minimum(tmp_path):
    # package.yaml: weak_min at tiny scale is 3
    rep = build_report([_org(tmp_path, weak_runs=2)], gate=False)
    assert [r["scaling"] for r in rep.results] == ["strong"]
    (kept_out,) = rep.rejected
    assert kept_out["diagnostics"][0]["code"] == "RP004"
    assert "needs at least 3" in kept_out["diagnostics"][0]["message"]


def test_run_stop_before_run_start_is_named(tmp_path):
    org = _org(tmp_path, weak_runs=3)
    log = org / "results" / "box" / "strong" / "cosmoflow" / "result_1.txt"
    log.write_text(log.read_text().replace('"time_ms": 120000', '"time_ms": -5'))
    rep = build_report([org], gate=False)
    (kept_out,) = [r for r in rep.rejected if r["scaling"] == "strong"]
    (d,) = [d for d in kept_out["diagnostics"] if d["code"] == "RP002"]
    assert d["line"] == 8 and d["path"].endswith("result_1.txt")
    assert "earlier than run_start (line 7)" in d["message"]


def test_a_log_cut_off_before_run_stop_counts_as_missed_never_as_converged(tmp_path):
    """Rank 0 killed mid-run leaves a log without run_stop: the run did not finish, so olympic
    scoring drops it as the slowest run; it is never scored as a converged one."""
    org = _org(tmp_path, weak_runs=3)
    log = org / "results" / "box" / "strong" / "cosmoflow" / "result_0.txt"
    log.write_text("".join(line for line in log.read_text().splitlines(keepends=True)
                           if '"run_stop"' not in line))
    rep = build_report([org], gate=False)
    strong = next(r for r in rep.results if r["scaling"] == "strong")
    assert (strong["runs_dropped"], strong["dropped_logs"]) == (1, ["result_0.txt"])
    assert strong["run_times_minutes"] == [2.0, 3.0]  # the two that finished
    assert strong["time_to_train_minutes"] == 3.0  # the fastest dropped; the cut one is slowest
