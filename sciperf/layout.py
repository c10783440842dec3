"""The submission tree (MLPerf HPC's layout), defined once: `sciperf run` writes it, `sciperf
package` completes it, the package checks judge it and the report reads it.

    ORG/systems/SYSTEM.json                                  the system description
    ORG/benchmarks/BENCH/implementations/IMPL/...            the code that made the results
    ORG/results/SYSTEM/{strong,weak}/BENCH/result_<i>.txt    the logs of one result
    ORG/results/SYSTEM/{strong,weak}/BENCH/model_<i>/        the model run <i> trained
    ORG/results/SYSTEM/inference/BENCH/SCENARIO/             an inference result (below)
    ORG/package_checker_params                               waivers (also in SYSTEM/, BENCH/)

A *result* is one system x scaling x benchmark: the `result_*.txt` files directly inside its
folder (as mlperf-logging's summarizer and package checker read them; sub-folders such as
weak scaling's `pruned_results/` are not part of it).

An *inference result* is one system x benchmark x scenario (`singlestream`, `offline`), timed by
`sciperf infer` through MLPerf LoadGen, as MLPerf Inference lays a scenario out:

    SCENARIO/sciperf_log.txt                 SciPerf's MLLOG records (what was timed, the accuracy)
    SCENARIO/performance/mlperf_log_summary.txt, mlperf_log_detail.txt   LoadGen's, as written
    SCENARIO/accuracy/mlperf_log_summary.txt, mlperf_log_detail.txt, mlperf_log_accuracy.json
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = "results"
SYSTEMS = "systems"
BENCHMARKS = "benchmarks"
IMPLEMENTATIONS = "implementations"
STRONG, WEAK = "strong", "weak"
SCALINGS = (STRONG, WEAK)
RESULT_GLOB = "result_*.txt"
MODEL_GLOB = "model_*"  # a run's kept model, beside its log (model_<i>/ for result_<i>.txt)
# Inference results: results/SYSTEM/inference/BENCH/SCENARIO/ (see the module doc).
INFERENCE = "inference"
RESULT_KINDS = (STRONG, WEAK, INFERENCE)  # the folders under results/SYSTEM/
SCENARIOS = ("singlestream", "offline")
INFERENCE_LOG = "sciperf_log.txt"
PERFORMANCE, ACCURACY = "performance", "accuracy"  # LoadGen's runs, a folder each
LOADGEN_SUMMARY = "mlperf_log_summary.txt"
LOADGEN_DETAIL = "mlperf_log_detail.txt"
LOADGEN_ACCURACY = "mlperf_log_accuracy.json"
LOADGEN_FILES = frozenset({LOADGEN_SUMMARY, LOADGEN_DETAIL, LOADGEN_ACCURACY,
                           "mlperf_log_trace.json"})
PARAMS_FILE = "package_checker_params"  # mlperf-logging's bypass file name
SCALING_FILE = "scaling.json"  # the score factor an RCP review grants a result

# Known files that are not results. scaling.json: the RCP review's score factor; power/: MLPerf
# power logs; pruned_results/: MLPerf HPC weak-scaling logs left out of the score (submission
# rules, HPC section); privateid.json: written by result_summarizer into results/<system>/.
KNOWN_IN_BENCHMARK = frozenset({PARAMS_FILE, SCALING_FILE, "power"})  # and MODEL_GLOB folders
KNOWN_IN_WEAK_BENCHMARK = KNOWN_IN_BENCHMARK | {"pruned_results"}
KNOWN_IN_SYSTEM = frozenset({PARAMS_FILE, "privateid.json"})
KNOWN_IN_ORG = frozenset({RESULTS, SYSTEMS, BENCHMARKS, PARAMS_FILE})


def result_name(i: int) -> str:
    return f"result_{i}.txt"


def result_dir(org_dir: Path, system: str, scaling: str, benchmark: str) -> Path:
    return Path(org_dir) / RESULTS / system / scaling / benchmark


def model_dir(result_file: Path) -> Path:
    """Where a run keeps its model: model_<i>/ beside result_<i>.txt (beside a log of another
    name, <stem>.model/)."""
    result_file = Path(result_file)
    stem = result_file.stem
    name = "model_" + stem[len("result_"):] if stem.startswith("result_") else stem + ".model"
    return result_file.with_name(name)


def is_model_dir(path: Path) -> bool:
    return fnmatch.fnmatchcase(Path(path).name, MODEL_GLOB)


def inference_dir(org_dir: Path, system: str, benchmark: str, scenario: str) -> Path:
    return Path(org_dir) / RESULTS / system / INFERENCE / benchmark / scenario


def system_results(org_dir: Path, system: str) -> Path:
    return Path(org_dir) / RESULTS / system


def system_file(org_dir: Path, system: str) -> Path:
    return Path(org_dir) / SYSTEMS / f"{system}.json"


def implementations_dir(org_dir: Path, benchmark: str) -> Path:
    return Path(org_dir) / BENCHMARKS / benchmark / IMPLEMENTATIONS


@dataclass(frozen=True, slots=True)
class Scope:
    """Where in a submission a finding lies; None means all (a finding about the org's systems/
    folder has system None, one about a system's description has only org and system)."""
    org: str
    system: str | None = None
    scaling: str | None = None
    benchmark: str | None = None
    log: str | None = None  # a result file's name
    scenario: str | None = None  # inference results: the scenario (scaling is INFERENCE)

    def covers(self, result: "Scope") -> bool:
        """Whether a finding of this scope concerns the result (or log) `result`."""
        return (self.org == result.org
                and all(mine is None or mine == theirs for mine, theirs in
                        ((self.system, result.system), (self.scaling, result.scaling),
                         (self.benchmark, result.benchmark), (self.log, result.log),
                         (self.scenario, result.scenario))))

    def to_json(self) -> dict:
        return {"org": self.org, "system": self.system, "scaling": self.scaling,
                "benchmark": self.benchmark, "log": self.log, "scenario": self.scenario}


@dataclass
class ResultFolder:
    """One result: its folder and its logs, as the package scan found them (links that leave
    the tree are not among them)."""
    org_dir: Path
    system: str
    scaling: str
    benchmark: str
    path: Path
    logs: list[Path] = field(default_factory=list)
    scaling_factor: float | None = None  # from its scaling.json, when it has a usable one
    scenario: str | None = None  # inference results (scaling INFERENCE): path is SCENARIO/

    @property
    def scope(self) -> Scope:
        return Scope(self.org_dir.name, self.system, self.scaling, self.benchmark,
                     scenario=self.scenario)


def is_submission(folder: Path) -> bool:
    """An org folder: results/ beside systems/, or results/<system>/{strong,weak,inference}/."""
    results = Path(folder) / RESULTS
    if not results.is_dir():
        return False
    if (Path(folder) / SYSTEMS).is_dir():
        return True
    try:
        return any((s / kind).is_dir() for s in results.iterdir() for kind in RESULT_KINDS)
    except OSError:
        return False


def find_submissions(path: Path, max_depth: int = 3) -> list[Path]:
    """The submission (org) folders at or below path: path itself, or the org folders of a round
    (a folder of org folders), down to max_depth levels; never inside an org, never through a
    symlinked folder or a hidden one."""
    path = Path(path)
    if not path.is_dir():
        return []
    if is_submission(path):
        return [path]
    found = []
    base = len(path.parts)
    for dirpath, dirnames, _ in os.walk(path, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if is_submission(here / d):
                found.append(here / d)
            elif len(here.parts) - base + 1 < max_depth:
                keep.append(d)
        dirnames[:] = keep
    return found
