"""Where mlperf-logging's result_summarizer (4.1.68) is wrong, and what `sciperf report` does.

Each test shows the summarizer's behaviour on real corpus logs (copied to a temporary folder)
beside ours; README "Differences from the summarizer" states the same.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import stat
from pathlib import Path

import pytest

from tests.reports.report_helpers import EXPECTED, summarizer_sections
from compliance.api import summarize_file
from reports.aggregate import build_report
from reports.render import to_json
from reports.scoring import olympic_mean


def _summarize(org_dir: Path):
    from mlperf_logging.result_summarizer import result_summarizer as rs

    with contextlib.redirect_stdout(io.StringIO()):  # it prints as it goes
        return rs.summarize_results(str(org_dir), "hpc", "2.0.0")


def _copy_result(corpus: Path, dest: Path, org: str, system: str, scaling: str,
                 benchmark: str) -> Path:
    """A writable one-result submission: the system's description, the benchmark's code and the
    result folder's logs."""
    (dest / org / "systems").mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus / org / "systems" / f"{system}.json", dest / org / "systems")
    shutil.copytree(corpus / org / "benchmarks" / benchmark, dest / org / "benchmarks" / benchmark,
                    dirs_exist_ok=True)
    src = corpus / org / "results" / system / scaling / benchmark
    folder = dest / org / "results" / system / scaling / benchmark
    folder.mkdir(parents=True)
    for log in src.glob("result_*.txt"):
        shutil.copy(log, folder)
    for p in (dest / org).rglob("*"):
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return dest / org


def _snapshot(tree: Path) -> dict:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in tree.rglob("*")}


def test_scaling_json_is_applied_and_never_written(hpc_corpus, ungated_report, tmp_path):
    # The published v2.0 tree carries no scaling.json; mlperf-logging's summarizer reads a result
    # folder's scaling.json *before* its own RCP check writes (or deletes) it, so its score
    # depends on whether it, or the package checker, ran on the tree before: a first run on the
    # published tree gives the expected (unscaled) output, a second scales. A submission that
    # carries the file (the review granted the factor) is scored as published: the olympic mean
    # times the factor, the unscaled mean and the factor beside it, and the tree is left alone.
    assert not list(hpc_corpus.rglob("scaling.json"))
    assert all(r["scaling_factor"] is None for r in ungated_report.results)
    published = {(r["org"], r["system_id"], r["benchmark"]): r for r in ungated_report.results}
    ours = published[("NVIDIA", "dgxa100_n64_pytorch", "oc20")]

    org = _copy_result(hpc_corpus, tmp_path, "NVIDIA", "dgxa100_n64_pytorch", "strong", "oc20")
    folder = org / "results" / "dgxa100_n64_pytorch" / "strong" / "oc20"
    first = _summarize(org)[0]["oc20"].tolist()
    assert json.loads((folder / "scaling.json").read_text()) == {
        "scaling_factor": 1.0063775510204083}  # the summarizer wrote into the tree it reads
    second = _summarize(org)[0]["oc20"].tolist()
    assert first == [ours["time_to_train_minutes"]]
    assert second == [ours["time_to_train_minutes"] * 1.0063775510204083] != first

    before = _snapshot(org)
    again = [build_report([org], ruleset="hpc-2.0.0", gate=gate) for gate in (False, True)]
    assert _snapshot(org) == before  # we never write into a submission
    for rep in again:
        (row,) = [r for r in rep.results if r["benchmark"] == "oc20"]
        assert row["scaling_factor"] == 1.0063775510204083
        assert row["unscaled_time_to_train_minutes"] == ours["time_to_train_minutes"]
        assert [row["time_to_train_minutes"]] == second  # the summarizer's float, exactly


@pytest.mark.parametrize("text", ['{"scaling_factor": 0.5}', '{"scaling_factor": "2"}',
                                  '{"factor": 2}', "not json", '{"scaling_factor": NaN}'])
def test_an_unusable_scaling_json_keeps_the_result_out(hpc_corpus, tmp_path, text):
    org = _copy_result(hpc_corpus, tmp_path, "NVIDIA", "dgxa100_n64_pytorch", "strong", "oc20")
    (org / "results" / "dgxa100_n64_pytorch" / "strong" / "oc20" / "scaling.json").write_text(
        text)
    rep = build_report([org], ruleset="hpc-2.0.0")
    (kept,) = [r for r in rep.rejected if r["benchmark"] == "oc20"]
    assert "SP414" in {d["code"] for d in kept["diagnostics"]}


def test_summarizer_json_loses_the_strong_table(ungated_report):
    # It writes the strong table to ORG.json, then the weak table to the same path: for every org
    # with weak-scaling results, the strong scores are in its CSV but not in its JSON.
    for org in ("Fujitsu+RIKEN", "HelmholtzAI", "NVIDIA"):
        (strong_hdr, strong_rows), (weak_hdr, weak_rows) = summarizer_sections(
            EXPECTED / f"summarizer-{org}.csv")
        assert strong_rows and "cosmoflow" in strong_hdr
        exported = json.loads((EXPECTED / f"summarizer-{org}.json").read_text())
        assert [list(r) for r in exported] == [weak_hdr] * len(weak_rows)
        ours = json.loads(to_json([r for r in ungated_report.results if r["org"] == org]))
        assert {r["scaling"] for r in ours} == {"strong", "weak"}
        assert sum(r["scaling"] == "strong" for r in ours) >= len(strong_rows)


def test_weak_runs_of_different_instance_scales_are_rejected_not_a_crash(hpc_corpus, tmp_path):
    org = _copy_result(hpc_corpus, tmp_path, "HelmholtzAI", "horeka_gpu_n64_pytorch1.13", "weak",
                       "deepcam")
    log = org / "results" / "horeka_gpu_n64_pytorch1.13" / "weak" / "deepcam" / "result_3.txt"
    text = log.read_text()
    old = '"key": "number_of_nodes", "value": 16,'
    assert text.count(old) == 1
    log.write_text(text.replace(old, '"key": "number_of_nodes", "value": 32,'))

    with pytest.raises(AssertionError):  # `assert instance_scale == ...`: the whole run dies
        _summarize(org)

    rep = build_report([org], ruleset="hpc-2.0.0", gate=False)
    assert rep.results == []
    (rejected,) = rep.rejected
    (d,) = rejected["diagnostics"]
    assert d["code"] == "RP005" and "64, 128" in d["message"]


def test_system_description_missing_a_field_is_rejected_not_a_crash(hpc_corpus, tmp_path):
    org = _copy_result(hpc_corpus, tmp_path, "Dell", "32xXE8545x4A100-SXM4-40GB", "strong", "deepcam")
    desc_path = org / "systems" / "32xXE8545x4A100-SXM4-40GB.json"
    desc = json.loads(desc_path.read_text())
    del desc["host_processor_core_count"]
    desc_path.write_text(json.dumps(desc))

    # Its handler for a missing field prints an undefined variable: the whole run dies.
    with pytest.raises(NameError, match="system_file"):
        _summarize(org)

    rep = build_report([org], ruleset="hpc-2.0.0", gate=False)
    assert rep.results == []
    (rejected,) = rep.rejected
    (d,) = rejected["diagnostics"]
    assert d["code"] == "RP001"
    assert "host_processor_core_count" in d["message"] and d["path"].endswith(desc_path.name)


def test_aborted_run_is_dropped_not_scored(hpc_corpus, tmp_path):
    # MLPerf HPC's log rules only ask run_stop for *a* status, so the summarizer scores a run
    # that ended "aborted" like any other; mlperf-logging's own RCP checker counts it as not
    # converged, and so do we: olympic scoring drops it as the slowest run.
    org = _copy_result(hpc_corpus, tmp_path, "Dell", "32xXE8545x4A100-SXM4-40GB", "strong",
                       "deepcam")
    folder = org / "results" / "32xXE8545x4A100-SXM4-40GB" / "strong" / "deepcam"
    log = folder / "result_2.txt"
    text = log.read_text()
    assert text.count('"status": "success"') == 1
    log.write_text(text.replace('"status": "success"', '"status": "aborted"'))

    theirs = _summarize(org)[0]["deepcam"].tolist()
    rep = build_report([org], ruleset="hpc-2.0.0", gate=False)
    (row,) = rep.results
    assert row["runs_dropped"] == 1 and row["dropped_logs"] == ["result_2.txt"]
    others = row["run_times_minutes"]  # the four finished runs, fastest first
    assert len(others) == 4
    assert row["time_to_train_minutes"] == sum(others[1:]) / 3  # fastest dropped, aborted = slowest
    aborted = summarize_file(log).time_to_train_minutes
    assert theirs == [olympic_mean(others + [aborted], dropped=0)]  # scored as if converged
    assert theirs != [row["time_to_train_minutes"]]
