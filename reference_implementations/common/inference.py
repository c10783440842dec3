"""`sciperf infer`: a trained model timed through MLPerf Inference LoadGen (`mlperf_loadgen`).

    sciperf infer BENCH --model DIR --scenario singlestream|offline --out OUT
                  [--data-dir D] [--org ORG --system SYSTEM] [--accuracy] [--quick]

LoadGen is the harness: it decides when queries are issued, times them and writes its logs; this
module is the rest of an MLPerf Inference benchmark, for any SciPerf benchmark's model:

- the query sample library (QSL) is the benchmark's validation split, read and preprocessed by
  the benchmark's own reader in LoadGen's load callback (before LoadGen's clock), after the
  files were verified against the dataset's manifest;
- the system under test (SUT) runs the `tf.keras` model on the samples of each query: one
  sample per query in SingleStream, the Offline query in batches;
- the accuracy run (LoadGen's AccuracyOnly mode, every validation sample once) returns, for each
  sample, the benchmark's metric sums of that sample (`model.eval_sums`) and, for a benchmark
  scored on the whole split at once (`model.eval_rows`: disentangle's codes against factors),
  the sample's rows, as the response LoadGen logs in mlperf_log_accuracy.json; the accuracy is
  `model.eval_finalize` of the sums' total and the rows of every sample in split order, read
  back from that file: the quality metric of training, over the samples LoadGen saw answered;
- the performance run follows (unless `--accuracy`), with the official settings (LoadGen's own
  defaults, its built-in mlperf.conf) or, with `--quick`, shortened ones that the log marks
  unofficial.

SciPerf's records (benchmark, data scale, dataset checksum, the weights' sha256, the scenario,
the accuracy) go to SCENARIO/sciperf_log.txt beside LoadGen's folders (sciperf/layout.py);
LoadGen's files are left as it wrote them. Exit status: 0 the result is valid and accurate
enough, 1 it is not, 2 the run could not be made (bad arguments, model or data).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sciperf import layout
from sciperf import vocab as K

from .config import Config
from .data import DataError, files_below
from .manifest import verify_manifest
from .mllogger import LogWriteError, RankLogger
from .trained import ModelError

# LoadGen's names of the scenarios, and the settings `--quick` uses instead of the official ones
# (long enough for LoadGen's early-stopping estimate of a p90 latency, which needs 64 queries).
LOADGEN_SCENARIOS = K.LOADGEN_SCENARIOS
QUICK_SETTINGS = {"min_duration_ms": 2000, "min_query_count": 64}
# The QSL's performance set: every validation sample, up to this many (LoadGen's accuracy run
# still covers all of them, loading one set after the other).
MAX_PERFORMANCE_SAMPLES = 1024
# Offline: LoadGen sizes its one query as expected_qps x min_duration x 1.1; a query that ends
# before min_duration is INVALID, so the rate measured before the run is raised by this margin.
OFFLINE_QPS_MARGIN = 1.5
# LoadGen plans its queries from the expected latency (SingleStream) or rate (Offline) before
# it starts; a plan that ends before the minimum duration is INVALID. The calibration is made
# on a host others may share, so the run is planned again, from LoadGen's own figures, up to
# this many times in all (the performance folder replaced each time).
PLAN_ATTEMPTS = 3
# SingleStream plans queries for the expected latency; more than needed are never issued, so
# it is planned shorter than calibrated.
SINGLESTREAM_LATENCY_MARGIN = 2.0
DEFAULT_BATCH = 32
CALIBRATION_S = 1.0
# The QSL reads the split in batches of this many samples (the benchmark's reader, as the
# harness evaluates it), keeping those LoadGen asked for.
LOAD_BATCH = 64


class InferError(Exception):
    """The run cannot be made (exit 2); the message says why."""


# -- the query sample library -----------------------------------------------------------------

class ValidationSamples:
    """The validation split as LoadGen's QSL: the files verified against the manifest and
    counted now, the samples read (and preprocessed) only when LoadGen asks for them."""

    def __init__(self, cfg: Config, data, data_dir: Path):
        self.cfg, self.data, self.data_dir = cfg, data, Path(data_dir)
        if not self.data_dir.is_dir():
            raise DataError(self.data_dir, "data directory does not exist; create it with "
                                           f"`sciperf data generate {cfg.benchmark} --scale "
                                           f"{cfg.scale}`")
        self.files = data.list_splits(self.data_dir, cfg.data)["validation"]
        self.checksum = verify_manifest(self.data_dir, files_below(self.files))
        self.count = sum(int(data.check_file(f, cfg.data)) for f in self.files)
        if self.count < 1:
            raise DataError(self.data_dir, "the validation split holds no samples")
        self.x: dict[int, np.ndarray] = {}
        self.y: dict[int, np.ndarray] = {}

    def load(self, indices) -> None:
        """LoadGen's load callback: read the split in order, keeping the samples asked for."""
        wanted = {int(i) for i in indices} - set(self.x)
        if not wanted:
            return
        last = max(wanted)
        seen = 0  # samples read so far
        for x, y in self.batches(LOAD_BATCH):
            for j in range(len(x)):
                if seen + j in wanted:
                    self.x[seen + j], self.y[seen + j] = x[j], y[j]
            seen += len(x)
            if seen > last:
                break
        if seen <= last:
            raise DataError(self.data_dir, f"the validation split yielded {seen} samples, "
                                           f"but its files count {self.count}")

    def unload(self, indices) -> None:
        for i in indices:
            self.x.pop(int(i), None)
            self.y.pop(int(i), None)

    def batches(self, batch_size: int):
        """(x, y) numpy batches of the split, in file order, as the harness evaluates it."""
        ds = self.data.make_dataset(self.files, self.cfg.data, batch_size=batch_size,
                                    training=False, shuffle_seed=None)
        return ds.as_numpy_iterator()

    def sample_bytes(self) -> int:
        x, _ = next(iter(self.batches(1)))
        return int(x.nbytes)


# -- the system under test --------------------------------------------------------------------

class ResponseLayout:
    """One sample's accuracy response, as float64 values: its metric sums (`model.eval_sums`,
    in `sums` order), then, for a benchmark scored on the whole split at once, each of its rows
    (`model.eval_rows`, in `rows` order: key, shape of one sample's row, dtype) flattened. The
    rows are cast back to their dtype when read (float32 and small integers survive float64
    exactly), so eval_finalize gets what the harness' evaluation gives it."""

    def __init__(self, sums: dict, rows: dict):
        self.sums = sorted(sums)
        self.rows = [(k, np.asarray(rows[k]).shape[1:], np.asarray(rows[k]).dtype)
                     for k in sorted(rows)]
        self.width = len(self.sums) + sum(int(np.prod(shape)) for _, shape, _ in self.rows)

    def encode(self, sums: dict, rows: dict) -> np.ndarray:
        parts = [np.array([float(sums[k]) for k in self.sums], dtype=np.float64)]
        parts += [np.asarray(rows[k], dtype=np.float64).ravel() for k, _, _ in self.rows]
        return np.concatenate(parts)

    def decode(self, responses: np.ndarray) -> dict:
        """The total eval_finalize takes, from every sample's response (one a row, in split
        order): the sums added up, the rows of every sample stacked."""
        total: dict = {k: float(v) for k, v in zip(self.sums,
                                                   responses[:, :len(self.sums)].sum(axis=0))}
        at = len(self.sums)
        for k, shape, dtype in self.rows:
            n = int(np.prod(shape))
            total[k] = responses[:, at:at + n].reshape(len(responses), *shape).astype(dtype)
            at += n
        return total

    def scalar_sums(self, total: dict) -> dict[str, float]:
        return {k: total[k] for k in self.sums}


class ModelSUT:
    """The tf.keras model behind LoadGen's issue_query: each query's samples are stacked and
    run as one batch (Offline: in batches of `batch_size`, the last one padded, so one traced
    graph serves every call). In accuracy mode every response carries what the benchmark's
    metric needs of the sample (`response_layout`)."""

    def __init__(self, model, model_lib, samples: ValidationSamples, batch_size: int):
        import tensorflow as tf

        if hasattr(model_lib, "predict"):  # a benchmark that predicts its own way
            self.predict = tf.function(lambda x: model_lib.predict(model, x))
        else:
            self.predict = tf.function(lambda x: model(x, training=False))
        self.nest = tf.nest  # outputs may be structures (disentangle: codes and errors)
        self.model_lib, self.samples, self.batch_size = model_lib, samples, batch_size
        self.accuracy = False
        self.response_layout: ResponseLayout | None = None
        self.errors: list[str] = []

    def run(self, x: np.ndarray):
        """The model's output of a batch, as numpy (an array, or the benchmark's structure)."""
        return self.nest.map_structure(np.asarray, self.predict(x))

    def issue(self, query_samples) -> None:
        import mlperf_loadgen as lg

        done = 0  # samples completed so far
        try:
            n = len(query_samples)
            step = 1 if n == 1 else self.batch_size
            for start in range(0, n, step):
                chunk = query_samples[start:start + step]
                x = np.stack([self.samples.x[s.index] for s in chunk])
                if len(chunk) < step:  # pad: the graph keeps its one batch shape
                    x = np.concatenate([x, np.repeat(x[-1:], step - len(chunk), axis=0)])
                out = self.run(x)
                keep = []  # response buffers live until LoadGen has copied them
                responses = []
                for j, s in enumerate(chunk):
                    if self.accuracy:
                        one = self.nest.map_structure(lambda a: a[j:j + 1], out)
                        buf = self.response(self.samples.y[s.index][None], one)
                        keep.append(buf)
                        responses.append(lg.QuerySampleResponse(s.id, buf.ctypes.data,
                                                                buf.nbytes))
                    else:
                        responses.append(lg.QuerySampleResponse(s.id, 0, 0))
                lg.QuerySamplesComplete(responses)
                done += len(chunk)
        except Exception as e:  # noqa: BLE001 - an exception cannot cross into LoadGen's
            # thread: complete the query's other samples empty so LoadGen ends its test, and
            # let the run report the failure (run_loadgen)
            self.errors.append(f"{type(e).__name__}: {e}")
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0)
                                     for s in query_samples[done:]])

    def response(self, y: np.ndarray, out) -> np.ndarray:
        """One sample's accuracy response (y and out: a batch of one)."""
        sums = self.model_lib.eval_sums(y, out)
        rows = (self.model_lib.eval_rows(y, out) if hasattr(self.model_lib, "eval_rows")
                else {})
        if self.response_layout is None:
            self.response_layout = ResponseLayout(sums, rows)
        return self.response_layout.encode(sums, rows)

    def flush(self) -> None:
        pass


# -- LoadGen ----------------------------------------------------------------------------------

@dataclass
class Calibration:
    latency_ns: float  # one sample, median
    samples_per_second: float  # batched


def calibrate(sut: ModelSUT, samples: ValidationSamples) -> Calibration:
    """Warm the model up (tracing) and measure it, before LoadGen's clock: what LoadGen needs
    to plan its queries (expected latency, expected rate)."""
    xs = [samples.x[i] for i in sorted(samples.x)]
    one = xs[0][None]
    batch = np.stack([xs[i % len(xs)] for i in range(sut.batch_size)])
    sut.run(one)
    sut.run(batch)
    times = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < CALIBRATION_S / 2 or len(times) < 5:
        t = time.perf_counter()
        sut.run(one)
        times.append(time.perf_counter() - t)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < CALIBRATION_S / 2 or done < 3 * sut.batch_size:
        sut.run(batch)
        done += sut.batch_size
    return Calibration(float(np.median(times)) * 1e9, done / (time.perf_counter() - t0))


def test_settings(scenario: str, accuracy: bool, quick: bool, calibration: Calibration):
    """LoadGen's TestSettings: the official ones (LoadGen's built-in mlperf.conf for any model:
    `*.*` and `*.<Scenario>`), shortened with `quick`; the expectations from the calibration."""
    import mlperf_loadgen as lg

    ts = lg.TestSettings()
    name = LOADGEN_SCENARIOS[scenario]
    if ts.FromConfig("", "sciperf", name, 0) != 0:
        raise InferError("LoadGen could not load its built-in settings (mlperf.conf)")
    ts.scenario = getattr(lg.TestScenario, name)
    ts.mode = lg.TestMode.AccuracyOnly if accuracy else lg.TestMode.PerformanceOnly
    if quick:
        ts.min_duration_ms = QUICK_SETTINGS["min_duration_ms"]
        ts.min_query_count = QUICK_SETTINGS["min_query_count"]
    ts.single_stream_expected_latency_ns = max(
        1, int(calibration.latency_ns / SINGLESTREAM_LATENCY_MARGIN))
    ts.offline_expected_qps = calibration.samples_per_second * OFFLINE_QPS_MARGIN
    return ts


def replan(scenario: str, ts, detail: dict, say) -> bool:
    """After a performance run that ended before its minimum duration: expect what LoadGen
    measured (with the margins), at least twice as fast as before. False: nothing to go on."""
    if scenario == "offline":
        measured = detail.get(K.RESULT_SAMPLES_PER_SECOND)
        if not isinstance(measured, (int, float)) or measured <= 0:
            return False
        ts.offline_expected_qps = max(2 * ts.offline_expected_qps, measured * OFFLINE_QPS_MARGIN)
        say(f"offline: the query ended before the minimum duration ({measured:.0f} samples/s);"
            f" again, expecting {ts.offline_expected_qps:.0f} samples/s")
        return True
    measured = detail.get(K.RESULT_MEAN_LATENCY_NS)
    if not isinstance(measured, (int, float)) or measured <= 0:
        return False
    ts.single_stream_expected_latency_ns = max(1, int(min(
        ts.single_stream_expected_latency_ns / 2, measured / SINGLESTREAM_LATENCY_MARGIN)))
    say(f"singlestream: the queries ended before the minimum duration ({measured / 1e6:.2f} ms "
        f"mean latency); again, expecting {ts.single_stream_expected_latency_ns / 1e6:.2f} ms")
    return True


def run_loadgen(sut: ModelSUT, samples: ValidationSamples, ts, outdir: Path) -> None:
    import mlperf_loadgen as lg

    outdir.mkdir(parents=True, exist_ok=True)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    log_settings.log_output.copy_summary_to_stdout = False
    log_settings.enable_trace = False
    lg_sut = lg.ConstructSUT(sut.issue, sut.flush)
    qsl = lg.ConstructQSL(samples.count, performance_count(samples), samples.load,
                          samples.unload)
    try:
        lg.StartTestWithLogSettings(lg_sut, qsl, ts, log_settings)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(lg_sut)
    if sut.errors:
        raise InferError(f"the model failed on a query: {sut.errors[0]}")


def performance_count(samples: ValidationSamples) -> int:
    return min(samples.count, MAX_PERFORMANCE_SAMPLES)


def read_accuracy_log(path: Path, response_layout: ResponseLayout | None,
                      count: int) -> dict:
    """What eval_finalize takes, from LoadGen's mlperf_log_accuracy.json (each response laid
    out as `response_layout` says): the metric sums over every sample, and the rows of every
    sample in split order; every sample must be there exactly once."""
    answers: dict[int, np.ndarray] = {}
    width = response_layout.width if response_layout is not None else None
    try:
        for e in json.loads(path.read_text()):
            idx = int(e["qsl_idx"])
            if idx in answers:
                continue  # LoadGen logs a sample once per response: an index twice is one
            values = np.frombuffer(bytes.fromhex(e["data"]), dtype=np.float64)
            if len(values) != width:
                raise ValueError(f"sample {idx}'s response holds {len(values)} values, not "
                                 f"{width}")
            answers[idx] = values
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InferError(f"{path}: not LoadGen's accuracy log of this run "
                         f"({type(e).__name__}: {e})") from None
    if sorted(answers) != list(range(count)) or response_layout is None:
        raise InferError(f"{path}: {len(answers)} of the {count} validation samples answered "
                         "in the accuracy run")
    return response_layout.decode(np.stack([answers[i] for i in range(count)]))


# -- one invocation ----------------------------------------------------------------------------

@dataclass
class Outcome:
    folder: Path
    accuracy: float | None = None
    threshold: float | None = None
    reached: bool = False
    detail: dict = field(default_factory=dict)  # LoadGen's result_* records of the performance run

    @property
    def valid(self) -> bool:
        return self.detail.get(K.RESULT_VALIDITY) == "VALID"


def result_folder(out: Path, benchmark: str, scenario: str, org: str | None,
                  system: str | None) -> Path:
    if org is None:
        return Path(out)
    return layout.inference_dir(Path(out) / org, system, benchmark, scenario)


def infer(model_dir: Path, scenario: str, out_dir: Path, *, data_dir: Path | None = None,
          org: str | None = None, system: str | None = None, accuracy_only: bool = False,
          quick: bool = False, batch_size: int = DEFAULT_BATCH, benchmark: str | None = None,
          say=None) -> Outcome:
    """Run the accuracy run and (unless `accuracy_only`) the performance run of one scenario;
    write everything into `out_dir` (the folder is emptied of a previous run's files first)."""
    import importlib

    from . import trained

    say = say or (lambda text: print(f"sciperf infer: {text}", file=sys.stderr, flush=True))
    cfg, model, model_lib = trained.load(model_dir)
    if benchmark is not None and cfg.benchmark != benchmark:
        raise InferError(f"{model_dir} holds a {cfg.benchmark} model, not {benchmark}")
    bench = K.BENCHMARKS[cfg.benchmark]
    sha256 = trained.weights_sha256(model)
    data = importlib.import_module(f"reference_implementations.{cfg.benchmark}.data")
    samples = ValidationSamples(cfg, data, Path(data_dir) if data_dir else cfg.data_dir)
    say(f"{cfg.benchmark} ({cfg.scale}) model {sha256[:12]}, {samples.count} validation "
        f"samples in {samples.data_dir}")

    out_dir = Path(out_dir)
    for stale in (layout.INFERENCE_LOG, layout.ACCURACY, layout.PERFORMANCE):
        p = out_dir / stale
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    log = RankLogger(0, out_dir / layout.INFERENCE_LOG, echo=False)
    outcome = Outcome(out_dir)
    try:
        run = cfg.run
        for key, value in ((K.SCIPERF_RULESET, K.RULESET),
                           (K.SUBMISSION_BENCHMARK, cfg.benchmark),
                           (K.SUBMISSION_ORG, org or run["org"]),
                           (K.SUBMISSION_PLATFORM, system or run["platform"]),
                           (K.SUBMISSION_DIVISION, run["division"]),
                           (K.SUBMISSION_STATUS, run["status"]),
                           (K.DATA_SCALE, cfg.scale), (K.DATASET_CHECKSUM, samples.checksum),
                           (K.EVAL_SAMPLES, samples.count), (K.WEIGHTS_SHA256, sha256),
                           (K.INFERENCE_SCENARIO, scenario), (K.INFERENCE_UNOFFICIAL, quick)):
            log.event(key, value)
        sut = ModelSUT(model, model_lib, samples, batch_size)
        samples.load(range(performance_count(samples)))
        calibration = calibrate(sut, samples)
        samples.unload(list(samples.x))
        say(f"calibrated: {calibration.latency_ns / 1e6:.2f} ms per sample alone, "
            f"{calibration.samples_per_second:.0f} samples/s in batches of {batch_size}")

        sut.accuracy = True
        run_loadgen(sut, samples, test_settings(scenario, True, quick, calibration),
                    out_dir / layout.ACCURACY)
        total = read_accuracy_log(out_dir / layout.ACCURACY / layout.LOADGEN_ACCURACY,
                                  sut.response_layout, samples.count)
        try:
            value, extras = model_lib.eval_finalize(total)
        except (ValueError, KeyError, ZeroDivisionError) as e:  # e.g. rotation: an empty bin
            raise InferError(f"{samples.data_dir}: the validation split cannot be scored "
                             f"({type(e).__name__}: {e})") from None
        target = float(cfg.train["target"])
        outcome.accuracy = float(value)
        outcome.threshold = bench.inference_threshold(target)
        # A bound training holds at the target (disentangle: the reconstruction error) holds
        # here too, with the same tolerance.
        bounds = {k: K.inference_bound(float(m)) for k, m in
                  (cfg.train.get("bounds") or {}).items()}
        over = {k: float(extras[k]) for k, m in bounds.items()
                if k not in extras or not float(extras[k]) <= m}
        outcome.reached = bench.reached(outcome.accuracy, outcome.threshold) and not over
        log.event(K.INFERENCE_ACCURACY, outcome.accuracy,
                  metadata={K.METRIC_NAME: bench.metric_name, "samples": samples.count,
                            "sums": sut.response_layout.scalar_sums(total),
                            **{k: _jsonable(v) for k, v in extras.items()}})
        say(f"accuracy: {bench.metric_name} {outcome.accuracy:.4f} over {samples.count} "
            f"samples ({'reached' if outcome.reached else 'NOT reached'}: the threshold is "
            f"{outcome.threshold:.4g}, the target {target:g} "
            f"{'-' if bench.higher_is_better else '+'} {K.INFERENCE_ACCURACY_TOLERANCE:.0%}"
            + "".join(f"; {k} {extras.get(k, float('nan')):.4g}"
                      f"{' over' if k in over else ' within'} its bound {m:.4g}"
                      for k, m in bounds.items()) + ")")

        if not accuracy_only:
            sut.accuracy = False
            ts = test_settings(scenario, False, quick, calibration)
            say(f"{scenario}: LoadGen performance run, at least {ts.min_duration_ms / 1000:g} s"
                + (" (--quick: shortened settings, the result is marked unofficial)"
                   if quick else ""))
            for attempt in range(1, PLAN_ATTEMPTS + 1):
                run_loadgen(sut, samples, ts, out_dir / layout.PERFORMANCE)
                outcome.detail = loadgen_results(out_dir / layout.PERFORMANCE
                                                 / layout.LOADGEN_DETAIL)
                if (attempt == PLAN_ATTEMPTS
                        or outcome.detail.get(K.RESULT_MIN_DURATION_MET) is not False
                        or not replan(scenario, ts, outcome.detail, say)):
                    break
    finally:
        log.close()
    return outcome


def _jsonable(value):
    """A metric's extra as the log's metadata holds it: floats, and dicts of them."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return float(value)


def loadgen_results(path: Path) -> dict:
    """LoadGen's result_* records (and the scenario) of a detail log, by key."""
    from compliance.parser import DiagnosticSink, iter_records

    out = {}
    with open(path, "rb") as fh:
        for rec in iter_records(fh, DiagnosticSink(str(path))):
            if rec.key.startswith("result_") or rec.key == K.EFFECTIVE_SCENARIO:
                out[rec.key] = rec.value
    return out


def describe(scenario: str, detail: dict) -> str:
    """The performance run in a line, from LoadGen's own records."""
    validity = detail.get(K.RESULT_VALIDITY, "no result (the detail log is incomplete)")
    if scenario == "singlestream":
        ms = {k: detail.get(key) for k, key in (
            ("p90", K.RESULT_P90_LATENCY_NS), ("p50", K.RESULT_P50_LATENCY_NS),
            ("p99", K.RESULT_P99_LATENCY_NS), ("mean", K.RESULT_MEAN_LATENCY_NS))}
        figures = ", ".join(f"{k} {v / 1e6:.3f} ms" for k, v in ms.items()
                            if isinstance(v, (int, float)))
        return (f"singlestream: latency {figures}; {detail.get(K.RESULT_QUERY_COUNT)} queries; "
                f"{validity}")
    sps = detail.get(K.RESULT_SAMPLES_PER_SECOND)
    figure = f"{sps:.1f} samples/s" if isinstance(sps, (int, float)) else "no samples/s"
    return f"offline: {figure}; {validity}"


# -- command line -------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sciperf infer",
        description="Time a trained model with MLPerf Inference LoadGen: the accuracy run over "
                    "every validation sample, then the performance run of the scenario "
                    "(docs/inference.md).")
    p.add_argument("benchmark", choices=sorted(K.BENCHMARKS))
    p.add_argument("--model", required=True, type=Path,
                   help="the model folder a training run kept (model_<i>/ beside result_<i>.txt)")
    p.add_argument("--scenario", required=True, choices=layout.SCENARIOS)
    p.add_argument("--data-dir", type=Path,
                   help="the dataset (default: the one the model was trained on)")
    p.add_argument("--out", required=True, type=Path,
                   help="where the logs go (the submission root with --org/--system)")
    p.add_argument("--org", help="submitter: write OUT/ORG/results/SYSTEM/inference/BENCH/"
                                 "SCENARIO/")
    p.add_argument("--system", help="system name (submission_platform); with --org")
    p.add_argument("--accuracy", action="store_true",
                   help="the accuracy run only (by default it runs before the performance run)")
    p.add_argument("--quick", action="store_true",
                   help=f"shortened settings for tests and demos (at least "
                        f"{QUICK_SETTINGS['min_duration_ms'] / 1000:g} s and "
                        f"{QUICK_SETTINGS['min_query_count']} queries instead of LoadGen's "
                        "official 600 s); the log marks the result unofficial")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                   help=f"Offline: samples per model call (default {DEFAULT_BATCH})")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if (a.org is None) != (a.system is None):
        print("sciperf infer: error: --org and --system go together", file=sys.stderr)
        return 2
    if a.batch_size < 1:
        print("sciperf infer: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    out = result_folder(a.out, a.benchmark, a.scenario, a.org, a.system)
    try:
        outcome = infer(a.model, a.scenario, out, data_dir=a.data_dir, org=a.org,
                        system=a.system, accuracy_only=a.accuracy, quick=a.quick,
                        batch_size=a.batch_size, benchmark=a.benchmark)
    except (ModelError, DataError, InferError, LogWriteError) as e:
        print(f"sciperf infer: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"sciperf infer: error: {e.filename or out}: {e.strerror or e}", file=sys.stderr)
        return 2
    if not a.accuracy:
        print(f"sciperf infer: {describe(a.scenario, outcome.detail)}", flush=True)
    ok = outcome.reached and (a.accuracy or outcome.valid)
    print(f"sciperf infer: logs in {out}; "
          + ("a result" if ok else "not a result (see above)")
          + (", unofficial (--quick)" if a.quick and ok else ""), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
