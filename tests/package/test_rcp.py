"""compliance.rcp (SP413) beside mlperf-logging's own RCP checker.

Its reference data and constants are mlperf-logging's (read from the installed package); its
tables, pruning, interpolation and least acceptable means equal RCP_Checker's exactly; its
verdicts equal `rcp_checker.check_directory(..., rcp_pass="pruned_rcps")`'s on a real
submission changed into every branch of that function, and (slow) on every benchmark folder of
the MLPerf HPC v2.0 corpus; and it gets there without importing scipy.stats.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance import rcp
from compliance.api import summarize_file
from compliance.package import Run
from sciperf.layout import RESULT_GLOB

REPO = Path(__file__).resolve().parents[2]
HPC_VERSIONS = ("1.0.0", "2.0.0", "3.0.0")


@pytest.fixture(scope="module")
def mlperf():
    """mlperf-logging's rcp_checker module (importing it imports scipy.stats), kept quiet."""
    from mlperf_logging.rcp_checker import rcp_checker

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    yield rcp_checker
    logging.disable(previous)


def theirs(mlperf, folder: Path):
    """check_directory as mlperf-logging's package checker calls it: (passed, message, norm
    factor), or the type of the exception it raises."""
    try:
        return mlperf.check_directory(str(folder), "hpc", "2.0.0", verbose=False,
                                      bert_train_samples=False, rcp_pass="pruned_rcps",
                                      rcp_bypass=False, set_scaling=False)
    except Exception as e:  # noqa: BLE001 -- what it raises is the point
        return type(e).__name__


def ours(folder: Path):
    """compliance.rcp on the logs' run summaries, in its glob's order."""
    try:
        runs = [Run(folder / n, summarize_file(folder / n)).rcp_run() for n in os.listdir(folder)
                if fnmatch.fnmatchcase(n, RESULT_GLOB)]
        v = rcp.check("hpc", "2.0.0", runs)
    except rcp.RcpError as e:
        return e
    return v.passed, v.message, v.norm_factor


def assert_same(mine, their):
    if isinstance(their, str):  # it raised: we say the check cannot be made, and why
        assert isinstance(mine, rcp.RcpError), (mine, their)
        assert str(mine)
    else:
        assert not isinstance(mine, Exception), (mine, their)
        assert mine[:2] == their[:2]
        assert mine[2] == their[2] or (math.isnan(mine[2]) and math.isnan(their[2]))


# -- the reference data and the math ------------------------------------------------------------


def test_constants_are_read_from_mlperf_logging(mlperf):
    const = rcp.checker_constants()
    checker = mlperf.RCP_Checker("hpc", "2.0.0", "deepcam", False)
    assert const == {"submission_runs": mlperf.submission_runs, "alpha": checker.alpha,
                     "tolerance": checker.tolerance}
    assert rcp.data_file("hpc", "2.0.0", "deepcam") == Path(
        checker._construct_json_filename("hpc", "2.0.0", "deepcam"))


def _versions_and_benchmarks():
    for version in HPC_VERSIONS:
        for bench in ("cosmoflow", "deepcam", "oc20", "openfold"):
            if rcp.data_file("hpc", version, bench).is_file():
                yield version, bench


@pytest.mark.parametrize("version, bench", list(_versions_and_benchmarks()))
def test_tables_equal_rcp_checkers(mlperf, version, bench):
    ref = rcp.reference("hpc", version, bench)
    th = mlperf.RCP_Checker("hpc", version, bench, False)
    assert [(r.name, r.bs, r.mean, r.stdev, r.min_epochs, r.max_speedup) for r in ref.records] \
        == [(k, v["BS"], v["RCP Mean"], v["RCP Stdev"], v["Min Epochs"], v["Max Speedup"])
            for k, v in th.rcp_data.items()]
    assert [r.name for r in ref.pruned] == list(th.pruned_rcp_data)
    name = {id(v): k for k, v in th.pruned_rcp_data.items()}
    for bs in [*range(1, 4200, 13), *(r.bs for r in ref.records), 300.5]:
        for mine, their in ((ref.exact(bs), th._find_rcp(bs, "pruned_rcps")),
                            (ref.below(bs), th._find_top_min_rcp(bs, "pruned_rcps")),
                            (ref.above(bs), th._find_bottom_max_rcp(bs, "pruned_rcps")),
                            (ref.smallest(), th._find_min_rcp("pruned_rcps"))):
            assert (mine and mine.name) == (their and name[id(their)]), bs
        low, high = ref.below(bs), ref.above(bs)
        if low and high:
            mine = ref.interpolated(bs, low, high)
            _, their = th._create_interp_rcp(bs, th._find_top_min_rcp(bs, "pruned_rcps"),
                                             th._find_bottom_max_rcp(bs, "pruned_rcps"))
            assert (mine.mean, mine.stdev, mine.min_epochs, mine.max_speedup) == (
                their["RCP Mean"], their["RCP Stdev"], their["Min Epochs"],
                their["Max Speedup"]), bs


def test_student_t_closed_form_equals_scipy():
    from scipy.special import stdtr

    for df in range(1, 80):
        for i in range(-160, 161):
            t = i / 20
            a = rcp.student_t_central(t, df)
            cdf = (1 - a) / 2 if t < 0 else (1 + a) / 2
            assert abs(cdf - stdtr(df, t)) < 1e-13, (df, t)


def test_p_values_equal_scipys_t_test():
    for m1, s, n1, m2, n2 in [(10.0, 1.5, 18, 12.0, 8), (3.1, 0.2, 8, 3.0, 3),
                              (100.0, 20.0, 38, 101.0, 8), (5.0, 1.0, 2, 5.5, 2)]:
        assert abs(rcp.one_sided_p(m1, s, n1, m2, s, n2)
                   - rcp.scipy_one_sided_p(m1, s, n1, m2, s, n2)) < 1e-13


def test_scipy_decides_near_alpha_and_agrees(monkeypatch):
    """With a margin covering every p-value, scipy.stats decides every step of the bisection:
    the least acceptable means are the same floats."""
    closed = {(v, b): [r.min_epochs for r in rcp.reference("hpc", v, b).records]
              for v, b in _versions_and_benchmarks()}
    monkeypatch.setattr(rcp, "P_MARGIN", 2.0)
    rcp._reference.cache_clear()
    try:
        via_scipy = {(v, b): [r.min_epochs for r in rcp.reference("hpc", v, b).records]
                     for v, b in _versions_and_benchmarks()}
    finally:
        rcp._reference.cache_clear()
    assert via_scipy == closed


def test_the_package_check_does_not_import_scipy(corpus):
    """The RCP check of a whole submission (two RCP failures, interpolated and found RCPs)
    without scipy.stats, whose import costs more than the check."""
    code = ("import sys; from pathlib import Path; from compliance.package import check_package;"
            f" d = check_package(Path({str(corpus / 'HelmholtzAI')!r}), 'hpc-2.0.0', {{}});"
            " assert sum(x.code == 'SP413' for x in d) == 2, d;"
            " print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


# -- verdicts: a real submission changed into each branch of check_directory ------------------

DELL = Path("Dell/results/32xXE8545x4A100-SXM4-40GB/strong/deepcam")  # 5 runs, GBS 256


def _edit_records(folder: Path, change, names=None):
    """Rewrite the MLLOG records of the folder's logs (or of `names`): change(record, is_last_
    eval_before_stop) edits it in place or returns False to drop it."""
    for p in sorted(folder.glob("result_*.txt")):
        if names and p.name not in names:
            continue
        lines = p.read_text().splitlines()
        recs = [json.loads(line.split(":::MLLOG ", 1)[1]) if ":::MLLOG " in line else None
                for line in lines]
        stop = max(i for i, r in enumerate(recs) if r and r["key"] == "run_stop")
        last_eval = max(i for i, r in enumerate(recs[:stop])
                        if r and r["key"] in ("eval_accuracy", "eval_error"))
        out = []
        for i, (line, r) in enumerate(zip(lines, recs)):
            if r is None:
                out.append(line)
            elif change(r, i == last_eval) is not False:
                out.append(":::MLLOG " + json.dumps(r))
        p.write_text("\n".join(out) + "\n")


def _set(key, value, names=None):
    def change(r, _):
        if r["key"] == key:
            r["value"] = value
    return lambda f: _edit_records(f, change, names)


def _drop(keys, names=None):
    return lambda f: _edit_records(f, lambda r, _: r["key"] not in keys, names)


def _epochs(n, names=None):
    def change(r, last):
        if last:
            r["metadata"]["epoch_num"] = n
    return lambda f: _edit_records(f, change, names)


def _no_epoch_num(f):
    def change(r, last):
        if last:
            del r["metadata"]["epoch_num"]
    _edit_records(f, change, {"result_2.txt"})


def _abort(*names):
    def change(r, _):
        if r["key"] == "run_stop":
            r["metadata"]["status"] = "aborted"
    return lambda f: _edit_records(f, change, set(names))


def _keep(n):
    def cut(f):
        for p in sorted(f.glob("result_*.txt"))[n:]:
            p.unlink()
    return cut


CASES = {
    "as published (RCP Interpolation, passes)": lambda f: None,
    "batch size of an RCP (RCP found)": lambda f: (_set("global_batch_size", 1024)(f),
                                                   _epochs(13)(f)),
    "batch size of an RCP, faster but within its speedup": lambda f: (
        _set("global_batch_size", 1024)(f), _epochs(12.5)(f)),
    "converging too fast (RCP found, fails)": _set("global_batch_size", 1024),
    "converging too fast, interpolated (fails)": _epochs(3),
    "batch size above every RCP (Missing RCP)": _set("global_batch_size", 4096),
    "batch size below every RCP, slower": _set("global_batch_size", 64),
    "batch size below every RCP, faster (Missing RCP)": lambda f: (
        _set("global_batch_size", 64)(f), _epochs(1)(f)),
    "a float batch size between RCPs": _set("global_batch_size", 600.0),
    "no global_batch_size logged": _drop({"global_batch_size"}),
    "global_batch_size logged by one run only": _drop({"global_batch_size"},
                                                      {"result_1.txt", "result_2.txt",
                                                       "result_3.txt", "result_4.txt"}),
    "batch sizes that differ (it raises)": _set("global_batch_size", 512, {"result_3.txt"}),
    "a batch size that is text (it raises)": _set("global_batch_size", "256"),
    "one run aborted (counted as not converged)": _abort("result_1.txt"),
    "two runs aborted (Insufficient convergence)": _abort("result_1.txt", "result_4.txt"),
    "success without an evaluation (it raises)": _drop({"eval_accuracy"}, {"result_0.txt"}),
    "evaluation without epoch_num (it raises)": _no_epoch_num,
    "run_stop without status (it raises)": lambda f: _edit_records(
        f, lambda r, _: r["metadata"].pop("status", None) and None, {"result_4.txt"}),
    "no submission_benchmark (it raises)": _drop({"submission_benchmark"}),
    "a benchmark without RCP data (it raises)": _set("submission_benchmark", "openfold"),
    "no run_stop in one run": _drop({"run_stop"}, {"result_0.txt"}),
    "two runs only (no olympic mean)": _keep(2),
}


# mlperf-logging's own mean of no runs (fewer than three) warns; we do not
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", list(CASES))
def test_verdicts_equal_check_directorys(mlperf, corpus, tmp_path, case):
    folder = tmp_path / "deepcam"
    shutil.copytree(corpus / DELL, folder)
    CASES[case](folder)
    their = theirs(mlperf, folder)
    assert_same(ours(folder), their)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_cases_reach_every_outcome(mlperf, corpus, tmp_path):
    """The cases above are not all alike: between them they reach every message and both
    verdicts of check_directory, and its exceptions."""
    seen = set()
    for i, case in enumerate(CASES):
        folder = tmp_path / str(i)
        shutil.copytree(corpus / DELL, folder)
        CASES[case](folder)
        their = theirs(mlperf, folder)
        seen.add(their if isinstance(their, str) else their[:2])
        if not isinstance(their, str) and their[2] > 1:
            seen.add("normalized")  # a pass faster than the RCP mean: a score factor above 1
    assert {s for s in seen if not isinstance(s, str)} >= {
        (True, "RCP Interpolation"), (False, "RCP Interpolation"), (True, "RCP found"),
        (False, "RCP found"), (False, "Missing RCP, please submit RCP with BS = 4096"),
        (True, "RCP not found but slower convergence on smaller batch size"),
        (False, "Missing RCP, please submit RCP with BS = 64"),
        (False, "Could not detect global_batch_size"), (False, "Insufficient convergence")}
    assert {s for s in seen if isinstance(s, str)} >= {"KeyError", "UnboundLocalError",
                                                       "FileNotFoundError", "TypeError",
                                                       "normalized"}


@pytest.mark.slow
def test_every_corpus_folder(mlperf, corpus):
    """Every benchmark folder of the five submissions (closed and open division, strong and
    weak scaling): the same verdict, message and score factor as mlperf-logging's checker."""
    folders = sorted({p.parent for p in corpus.glob("*/results/*/*/*/result_*.txt")})
    assert len(folders) == 22
    verdicts = {}
    for folder in folders:
        their = theirs(mlperf, folder)
        assert_same(ours(folder), their)
        verdicts[str(folder.relative_to(corpus))] = their[:2]
    failed = {k for k, v in verdicts.items() if not v[0]}
    assert {"HelmholtzAI/results/horeka_gpu_n512_pytorch1.13/strong/cosmoflow",
            "HelmholtzAI/results/horeka_gpu_n64_pytorch1.13/weak/oc20"} <= failed
