"""MLPerf's reference convergence point (RCP) check, on records the package check already read.

mlperf-logging's package checker runs `rcp_checker.check_directory(folder, "hpc", version, ...,
rcp_pass="pruned_rcps")` on each closed-division benchmark folder. That function reads every
log of the folder again, line by line (a regular-expression substitution and a JSON parse per
line), and its module imports scipy.stats (about a second of CPU per process) for one Student t
CDF. Here the same verdicts come from what compliance/package.py read in its single pass over
each log (`RcpRun`), with:

- the same reference data: the RCP JSON files and the `submission_runs` table of the installed
  mlperf_logging package, and the t-test's alpha and tolerance of its `RCP_Checker` -- read from
  its files and its source, never copied here;
- the same math, step by step as its code runs it for MLPerf HPC (usage "hpc"): the olympic mean
  of the reference runs (np.mean without the fastest and slowest), np.std of all of them, the
  pruning of the RCP table by interpolation, the RCP for the submission's batch size (found, or
  interpolated with np.interp between its neighbours), the least acceptable mean found by its
  bisection on the one-sided t-test p-value, and the comparison with the olympic mean of the
  submission's epochs to converge;
- one difference in how the t-test's p-value is obtained: the Student t CDF of an integer
  number of degrees of freedom in closed form (Abramowitz & Stegun 26.7.3/26.7.4) instead of
  scipy's, because importing scipy.stats costs more than the whole package check. The bisection
  only asks whether p > alpha; wherever the closed form's p lies within P_MARGIN of alpha (far
  beyond the error of either computation), scipy.stats.ttest_ind_from_stats answers instead,
  imported then. So every step of the bisection decides as mlperf-logging's does, and the least
  acceptable mean is the same float.

Where mlperf-logging's checker raises (its `check_directory` then ends in a traceback: batch sizes
or benchmark names that differ between the runs, a benchmark without RCP data, a run_stop
without status, a successful run without an evaluation before it), `check` raises RcpError with
the file and line; the caller reports that the check could not be made.

What is read differently, on purpose: mlperf-logging picks a log's lines by substring (any line
mentioning "global_batch_size" sets the batch size) and parses each with json.loads, raising on
one it cannot read; RcpRun holds the records of those keys as the compliance parser reads them
(a malformed line is the per-log checks' finding), and of the evaluations only the one that
counts, the last before run_stop (mlperf-logging also raises on an earlier one without
epoch_num). The two agree on every log whose records are well-formed and name those keys only
as keys: all of the MLPerf HPC v2.0 corpus (tests/package/test_rcp.py). Nothing is written into
the tree (mlperf-logging's scaling.json is the report's business).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from sciperf import vocab

RCP_CHECKER_MODULE = "mlperf_logging.rcp_checker.rcp_checker"
# The bisection's p-values that the closed form decides: any other is decided by scipy.stats.
# The closed form's error is ~1e-16 and scipy's (cephes stdtr) ~1e-15 at these magnitudes.
P_MARGIN = 1e-9
# mlperf-logging's sentinels: epochs of a run that did not converge, and "no batch size logged".
NOT_CONVERGED_EPOCHS = 1e9
NO_BATCH_SIZE = -1
# Olympic scoring drops the fastest and the slowest run (mlperf-logging drops 4 of each only for
# MLPerf training's unet3d, which is not an HPC benchmark).
SAMPLES_REJECTED = 1


class RcpError(Exception):
    """The RCP check cannot be made: mlperf-logging's checker would raise here."""


# -- what mlperf-logging's module holds, read without importing it -------------------------------


@lru_cache(maxsize=1)
def _checker_source() -> tuple[Path, ast.Module]:
    spec = importlib.util.find_spec(RCP_CHECKER_MODULE)
    if spec is None or not spec.origin:
        raise RcpError(f"{RCP_CHECKER_MODULE} is not installed")
    path = Path(spec.origin)
    return path, ast.parse(path.read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=1)
def checker_constants() -> dict:
    """mlperf-logging's `submission_runs` table and RCP_Checker's `alpha` and `tolerance`, read
    from rcp_checker.py's source with ast.literal_eval: importing the module would import
    scipy.stats. Raises RcpError when the source no longer has them where they were."""
    path, tree = _checker_source()
    found: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name)
                                                and t.id == "submission_runs"
                                                for t in node.targets):
            found["submission_runs"] = ast.literal_eval(node.value)
        if isinstance(node, ast.ClassDef) and node.name == "RCP_Checker":
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
                    for st in ast.walk(fn):
                        if (isinstance(st, ast.Assign) and len(st.targets) == 1
                                and isinstance(st.targets[0], ast.Attribute)
                                and isinstance(st.targets[0].value, ast.Name)
                                and st.targets[0].value.id == "self"
                                and st.targets[0].attr in ("alpha", "tolerance")):
                            found[st.targets[0].attr] = ast.literal_eval(st.value)
    missing = {"submission_runs", "alpha", "tolerance"} - set(found)
    if missing:
        raise RcpError(f"{path}: cannot find {', '.join(sorted(missing))} (an mlperf-logging "
                       "version this module was not written against)")
    return found


def data_file(usage: str, version: str, benchmark: str) -> Path:
    """The RCP file mlperf-logging's checker reads (its `_construct_json_filename`)."""
    return _checker_source()[0].parent / f"{usage}_{version}" / f"rcps_{benchmark}.json"


# -- the reference table -------------------------------------------------------------------------


@dataclass(eq=False)  # records are told apart by identity, as mlperf-logging's by name
class Rcp:
    """One reference convergence point: a batch size's reference runs (or an interpolation)."""
    name: str
    benchmark: str
    bs: float
    mean: float  # olympic mean of the reference runs' epochs to converge ("RCP Mean")
    stdev: float  # np.std of all of them ("RCP Stdev")
    samples: int  # how many runs the mean stands for, in the t-test
    reference: "Reference" = field(repr=False)
    _min_epochs: float | None = field(default=None, repr=False)

    @property
    def min_epochs(self) -> float:
        """The least mean epochs to converge a submission may have ("Min Epochs")."""
        if self._min_epochs is None:
            self._min_epochs = self.reference.min_acceptable_mean(self.mean, self.stdev,
                                                                  self.samples)
        return self._min_epochs

    @property
    def max_speedup(self) -> float:
        return self.mean / self.min_epochs


class Reference:
    """The RCP table of one benchmark, as mlperf-logging's RCP_Checker builds it (pruned)."""

    def __init__(self, usage: str, version: str, benchmark: str):
        const = checker_constants()
        runs = const["submission_runs"].get(usage, {})
        if benchmark not in runs:
            raise RcpError(f"mlperf-logging has no RCP run count for benchmark {benchmark!r} "
                           f"({usage})")
        path = data_file(usage, version, benchmark)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RcpError(f"no RCP data for {benchmark!r} in {usage} {version}: {e}") from None
        self.usage, self.version, self.benchmark = usage, version, benchmark
        self.alpha, self.tolerance = const["alpha"], const["tolerance"]
        self.submission_runs = runs[benchmark]
        records = []
        for name, rec in raw.items():
            epochs = rec["Epochs to converge"]
            epochs.sort()
            mean = np.mean(epochs[SAMPLES_REJECTED:len(epochs) - SAMPLES_REJECTED])
            records.append(Rcp(name, rec["Benchmark"], rec["BS"], mean, np.std(epochs),
                               len(epochs) - SAMPLES_REJECTED * 2, self))
        # sorted by batch size, ties in file order (its dict(sorted(..., key=BS)))
        self.records = sorted(records, key=lambda r: r.bs)
        self.pruned = self._prune()

    def _prune(self) -> list[Rcp]:
        """Its _prune_rcps: drop the points with smaller batch sizes than the fastest-converging
        one, then every point that converges slower than the interpolation of its neighbours."""
        points = list(self.records)
        fastest = min(points, key=lambda r: r.mean)
        points = [r for r in points if r.bs >= fastest.bs]
        n, i = len(points), 1
        while i < n - 1:
            # only the interpolated mean decides (its interpolated record's Min Epochs is unused)
            if points[i].mean > self._interp(points[i].bs, points[i - 1], points[i + 1])[0]:
                del points[i]
                i -= 1
                n -= 1
            i += 1
        kept = []
        for p in points:  # every record of a kept (benchmark, batch size), in table order
            for r in self.records:
                if (r.benchmark == p.benchmark and r.bs == p.bs
                        and all(r is not k for k in kept)):
                    kept.append(r)
        return kept

    @staticmethod
    def _interp(bs, low: Rcp, high: Rcp) -> tuple[float, float]:
        return (np.interp(bs, [low.bs, high.bs], [low.mean, high.mean]),
                np.interp(bs, [low.bs, high.bs], [low.stdev, high.stdev]))

    def interpolated(self, bs, low: Rcp, high: Rcp) -> Rcp:
        """Its _create_interp_rcp: an RCP for batch size bs between two others."""
        mean, stdev = self._interp(bs, low, high)
        return Rcp(f"{self.benchmark}_interp_{bs}", self.benchmark, bs, mean, stdev,
                   self.submission_runs * 2, self)

    # its _find_rcp, _find_min_rcp, _find_top_min_rcp, _find_bottom_max_rcp on the pruned table
    def exact(self, bs) -> Rcp | None:
        return next((r for r in self.pruned if r.bs == bs), None)

    def smallest(self) -> Rcp | None:
        best, best_bs = None, 1e9
        for r in self.pruned:
            if r.bs < best_bs:
                best, best_bs = r, r.bs
        return best

    def below(self, bs) -> Rcp | None:
        best, best_bs = None, 0
        for r in self.pruned:
            if best_bs < r.bs < bs:
                best, best_bs = r, r.bs
        return best

    def above(self, bs) -> Rcp | None:
        best, best_bs = None, 1e9
        for r in self.pruned:
            if bs < r.bs < best_bs:
                best, best_bs = r, r.bs
        return best

    def min_acceptable_mean(self, mean, stdev, samples_ref: int) -> float:
        """Its _find_min_acceptable_mean: bisection between 0 and the reference mean for the
        smallest submission mean the one-sided t-test does not tell apart from the reference."""
        if stdev == 0:
            return mean
        samples_subm = self.submission_runs - 2
        mean_max = mean
        mean_min = 0.0
        mean_mid = (mean_min + mean_max) / 2
        while mean_max - mean_min > self.tolerance:
            if p_value_exceeds(self.alpha, mean_mid, stdev, samples_ref, mean, stdev,
                               samples_subm):
                mean_max = mean_mid
            else:
                mean_min = mean_mid
            mean_mid = (mean_min + mean_max) / 2
        return mean_mid


def reference(usage: str, version: str, benchmark) -> Reference:
    """The pruned RCP table of a benchmark (built once per process). Raises RcpError."""
    if not isinstance(benchmark, str):
        raise RcpError(f"no benchmark name to find RCPs for (submission_benchmark is "
                       f"{benchmark!r})")
    return _reference(usage, version, benchmark)


@lru_cache(maxsize=None)
def _reference(usage: str, version: str, benchmark: str) -> Reference:
    return Reference(usage, version, benchmark)


# -- the t-test ----------------------------------------------------------------------------------


def student_t_central(x: float, df: int) -> float:
    """A(x|df) = P(|T| <= x) for Student's t with an integer number of degrees of freedom, in
    closed form (Abramowitz & Stegun 26.7.3 for odd df, 26.7.4 for even)."""
    theta = math.atan(abs(x) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    term = total = 1.0
    if df % 2:
        for k in range(1, (df - 1) // 2):
            term *= (2 * k) / (2 * k + 1) * c2
            total += term
        series = math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0
        return 2 / math.pi * (theta + series)
    for k in range(1, df // 2):
        term *= (2 * k - 1) / (2 * k) * c2
        total += term
    return math.sin(theta) * total


def one_sided_p(mean1, std1, nobs1: int, mean2, std2, nobs2: int) -> float:
    """RCP_Checker._find_p_value's p: scipy's equal-variance two-sample t-test from summary
    statistics, its two-sided p made one-sided (p/2 below, 1 - p/2 above)."""
    df = nobs1 + nobs2 - 2
    svar = ((nobs1 - 1) * std1 ** 2 + (nobs2 - 1) * std2 ** 2) / df
    t = (mean1 - mean2) / math.sqrt(svar * (1.0 / nobs1 + 1.0 / nobs2))
    a = student_t_central(t, df)
    return (1 - a) / 2 if t < 0 else (1 + a) / 2


def scipy_one_sided_p(mean1, std1, nobs1, mean2, std2, nobs2) -> float:
    """The same p from scipy.stats, as RCP_Checker._find_p_value computes it."""
    import scipy.stats  # lazy: only for a p-value within P_MARGIN of alpha

    t_stat, p_value = scipy.stats.ttest_ind_from_stats(mean1, std1, nobs1, mean2, std2, nobs2,
                                                       equal_var=True)
    return p_value / 2 if t_stat < 0 else 1 - (p_value / 2)


def p_value_exceeds(alpha, mean1, std1, nobs1, mean2, std2, nobs2) -> bool:
    """Whether the one-sided p-value exceeds alpha, as mlperf-logging's bisection asks."""
    closed_form = (isinstance(nobs1, int) and isinstance(nobs2, int) and nobs1 >= 2
                   and nobs2 >= 2 and all(map(math.isfinite, (mean1, std1, mean2, std2)))
                   and std1 > 0 and std2 > 0)
    if closed_form:
        p = one_sided_p(mean1, std1, nobs1, mean2, std2, nobs2)
        if math.isfinite(p) and abs(p - alpha) > P_MARGIN:
            return p > alpha
    return scipy_one_sided_p(mean1, std1, nobs1, mean2, std2, nobs2) > alpha


# -- one folder's verdict ------------------------------------------------------------------------


@dataclass(frozen=True)
class RcpRun:
    """One log as mlperf-logging's read_submission_file sees it (MLPerf HPC)."""
    name: str
    batch_size: object = NO_BATCH_SIZE  # the last global_batch_size record's value
    benchmark: object = None  # the last submission_benchmark record's value
    converged: bool = False  # its last run_stop says success
    epochs: float = NOT_CONVERGED_EPOCHS  # epoch_num of the last evaluation before that stop

    @classmethod
    def from_records(cls, name: str, batch_size=NO_BATCH_SIZE, benchmark=None, stop=None,
                     evaluation=None) -> "RcpRun":
        """stop: (metadata, line) of the log's last run_stop record, None without one;
        evaluation: (metadata, line) of the last eval_accuracy/eval_error record before it.
        Raises RcpError where mlperf-logging's reader raises."""
        if stop is None:
            return cls(name, batch_size, benchmark)
        meta, line = stop
        if vocab.STATUS not in meta:
            raise RcpError(f"{name}:{line}: run_stop has no {vocab.STATUS} in its metadata")
        if meta[vocab.STATUS] != vocab.SUCCESS:
            return cls(name, batch_size, benchmark)
        if evaluation is None:
            raise RcpError(f"{name}:{line}: run_stop says {vocab.SUCCESS} but no "
                           f"{vocab.EVAL_ACCURACY} or {vocab.EVAL_ERROR} record precedes it, "
                           "so the epochs to converge are unknown")
        emeta, eline = evaluation
        try:
            epochs = round(emeta[vocab.EPOCH_NUM], 3)
        except (KeyError, TypeError) as e:
            raise RcpError(f"{name}:{eline}: the last evaluation before run_stop has no "
                           f"numeric {vocab.EPOCH_NUM} in its metadata ({type(e).__name__})"
                           ) from None
        return cls(name, batch_size, benchmark, True, epochs)


@dataclass(frozen=True)
class RcpVerdict:
    passed: bool
    message: str  # mlperf-logging's own words ("RCP found", "Insufficient convergence", ...)
    norm_factor: float = 1.0  # the factor its package checker writes to scaling.json


def _submission_epochs(runs: list[RcpRun]):
    """Its get_submission_epochs over the runs in the order it globs them: (batch size, epochs
    or None when more than one run did not converge, benchmark). Raises RcpError where a
    mismatch makes its checker raise (it then builds an RCP_Checker for benchmark None)."""
    bs, epochs, benchmark, not_converged = NO_BATCH_SIZE, [], None, 0
    for r in runs:
        epochs.append(r.epochs)
        not_converged += not r.converged
        if bs == NO_BATCH_SIZE:
            bs = r.batch_size
        elif r.batch_size != bs:
            raise RcpError(f"the runs log different global_batch_size values ({bs!r} and "
                           f"{r.batch_size!r} in {r.name})")
        if benchmark is None:
            benchmark = r.benchmark
        elif r.benchmark != benchmark:
            raise RcpError(f"the runs name different benchmarks ({benchmark!r} and "
                           f"{r.benchmark!r} in {r.name})")
    return bs, (None if not_converged > 1 else epochs), benchmark


def _evaluate(rcp: Rcp, epochs: list) -> tuple[bool, float]:
    """Its _eval_submission_record (without writing scaling.json)."""
    epochs = sorted(epochs)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # fewer than 3 runs: mean of nothing
        mean = np.mean(epochs[SAMPLES_REJECTED:len(epochs) - SAMPLES_REJECTED])
        norm = rcp.mean / mean
    norm = 1.0 if norm < 1 else norm
    return bool(mean >= rcp.mean / rcp.max_speedup), norm


def check(usage: str, version: str, runs: list[RcpRun]) -> RcpVerdict:
    """mlperf-logging's check_directory(..., rcp_pass="pruned_rcps", rcp_bypass=False) on a
    folder whose logs, in the order its glob lists them (os.listdir's), read as `runs`.
    Raises RcpError where it raises."""
    bs, epochs, benchmark = _submission_epochs(runs)
    ref = reference(usage, version, benchmark)  # it builds its checker before looking at bs
    if bs == NO_BATCH_SIZE:
        return RcpVerdict(False, "Could not detect global_batch_size")
    if epochs is None:
        return RcpVerdict(False, "Insufficient convergence")
    try:
        found = ref.exact(bs)
        if found is not None:
            passed, norm = _evaluate(found, epochs)
            return RcpVerdict(passed, "RCP found", norm)
        low, high = ref.below(bs), ref.above(bs)
    except TypeError as e:  # a batch size that does not compare with numbers
        raise RcpError(f"global_batch_size {bs!r} is not a number ({e})") from None
    missing = f"Missing RCP, please submit RCP with BS = {bs}"
    if low is not None and high is not None:
        passed, norm = _evaluate(ref.interpolated(bs, low, high), epochs)
        return RcpVerdict(passed, "RCP Interpolation", norm)
    if low is not None:
        return RcpVerdict(False, missing)
    if high is not None:
        passed, norm = _evaluate(ref.smallest(), epochs)
        return RcpVerdict(passed, "RCP not found but slower convergence on smaller batch size"
                          if passed else missing, norm)
    return RcpVerdict(False, "Cannot find any RCPs")
