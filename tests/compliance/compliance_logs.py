"""Test logs for the checker, written through mlperf_logging.mllog as the reference harness
writes them (reference_implementations/common/training.py), record by record, so a test can
drop, change, move or add any record and know exactly which rule that breaks."""

from __future__ import annotations

import logging
import math
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlperf_logging.mllog.mllog import MLLogger

from compliance import registry
from compliance.rules import Ruleset
from reference_implementations.common.config import load_config
from sciperf import vocab as K

REPO = Path(__file__).resolve().parents[2]
EXPECTED = REPO.parent / "shared" / "corpus" / "expected" / "mlperf-hpc-v2.0"
SCIPERF_DIR = REPO / "compliance" / "rulesets" / K.RULESET
# A checksum the tests record in a copy of the ruleset (the shipped table is the lead's).
TEST_CHECKSUM = "5" * 64


@dataclass(frozen=True)
class Rec:
    kind: str  # "event" | "start" | "end" (mllog's three)
    key: str
    value: object = None
    metadata: dict | None = field(default=None)
    delay_ms: int = 0  # extra time before this record (and so every later one)


def shipped_state(benchmark: str) -> dict:
    """The state the shipped `<benchmark>.yaml`'s BEGIN block sets, run as the engine runs it
    (its tables: targets, checksums; a blueprint's bounds)."""
    rf = next(f for f in registry.load(K.RULESET).files if f.short == f"{benchmark}.yaml")
    s: dict = {}
    exec(rf.begin.code, {"s": s, "enqueue_config": lambda c: None, "math": math}, {"s": s})
    return s


def shipped_table(benchmark: str) -> tuple[dict, dict]:
    """(targets, checksums) as the shipped `<benchmark>.yaml` sets them."""
    s = shipped_state(benchmark)
    return s["targets"], s["checksums"]


# The value of every panel record a test log carries where BLUEPRINT_VALUES names none.
PANEL_VALUE = 0.5

# Metrics bounded above (cloudmask's pixel accuracy, dsprites' MIG, rotation's top-1 accuracy
# lie in [0, 1]); the others are not.
METRIC_MAX = {"pixel_accuracy": 1.0, "mig": 1.0, "top1_accuracy": 1.0}


def reaching_values(benchmark: str) -> tuple[float, ...]:
    """Three epochs' metric values, the last of which reaches every scale's target (the shipped
    table's) and no earlier one does."""
    b = K.BENCHMARKS[benchmark]
    targets = shipped_table(benchmark)[0].values()
    if not b.higher_is_better:
        hardest = min(targets)
        return (hardest * 5, hardest * 3, hardest * 0.9)
    hardest = max(targets)
    top = METRIC_MAX.get(b.metric_name)
    last = hardest + 1.0 if top is None else (hardest + top) / 2
    return (hardest * 0.8, hardest * 0.9, last)


def missing_values(benchmark: str) -> tuple[float, ...]:
    """Metric values of a run that never reaches the target of any scale."""
    b = K.BENCHMARKS[benchmark]
    targets = shipped_table(benchmark)[0].values()
    if not b.higher_is_better:
        return tuple(max(targets) * f for f in (3, 2, 1.5))
    return tuple(min(targets) * f for f in (0.7, 0.8, 0.9))


def benchmark_run(benchmark: str, *, division: str = "closed", scale: str = "tiny",
                  checksum: str = TEST_CHECKSUM, values=None,
                  status: str = K.SUCCESS) -> list[Rec]:
    """A compliant run's records, in the harness's order (reference_implementations/common/
    training.py), with the reference config's optimizer (method, augmentation) for the scale.
    `values`: the quality metric of each epoch (default: reaching_values, whose last reaches
    every scale's target)."""
    b = K.BENCHMARKS[benchmark]
    cfg = load_config(benchmark, scale)
    optimizer = cfg.train["optimizer"]
    recs = [Rec("event", K.CACHE_CLEAR, True), Rec("start", K.INIT_START)]
    recs += [Rec("event", k, v) for k, v in (
        (K.SUBMISSION_BENCHMARK, benchmark), (K.SUBMISSION_ORG, "SciPerf tests"),
        (K.SUBMISSION_PLATFORM, "2xCPU"), (K.SUBMISSION_DIVISION, division),
        (K.SUBMISSION_STATUS, "research"), (K.SCIPERF_RULESET, K.RULESET),
        (K.DATA_SCALE, scale), (K.DATASET_CHECKSUM, checksum), (K.SEED, 7),
        (K.GLOBAL_BATCH_SIZE, 16), (K.TRAIN_SAMPLES, 256), (K.EVAL_SAMPLES, 64),
        (K.NUMBER_OF_NODES, 1), (K.ACCELERATORS_PER_NODE, 0), (K.OPT_NAME, optimizer),
        (K.OPT_BASE_LR, 0.01), (K.OPT_LR_WARMUP_EPOCHS, 1), (K.OPT_LR_WARMUP_FACTOR, 2),
        (K.OPT_LR_DECAY_BOUNDARY_EPOCHS, [2]), (K.OPT_LR_DECAY_FACTOR, 0.5),
        (K.OPT_WEIGHT_DECAY, 0.0), (K.DROPOUT, 0.0))]
    if optimizer == "sgd":
        recs.append(Rec("event", K.OPT_MOMENTUM, 0.9))
    if b.blueprint:  # the method and its settings (the reference config's)
        recs.append(Rec("event", K.METHOD, cfg.model["method"]))
        if "beta_vae" in cfg.model:
            recs.append(Rec("event", K.VAE_BETA, cfg.model["beta_vae"]["beta"]))
    if "augmentation" in cfg.data:
        recs.append(Rec("event", K.DATA_AUGMENTATION, cfg.data["augmentation"]))
    recs += [Rec("end", K.INIT_STOP), Rec("start", K.RUN_START)]
    for epoch, value in enumerate(reaching_values(benchmark) if values is None else values, 1):
        recs += [Rec("start", K.EPOCH_START, metadata={K.EPOCH_NUM: epoch}),
                 Rec("end", K.EPOCH_STOP, metadata={K.EPOCH_NUM: epoch, "train_loss": 0.5}),
                 Rec("start", K.EVAL_START, metadata={K.EPOCH_NUM: epoch}),
                 Rec("event", b.metric_key, value,
                     metadata={K.EPOCH_NUM: epoch, K.METRIC_NAME: b.metric_name})]
        recs += [Rec("event", k, BLUEPRINT_VALUES.get(k, PANEL_VALUE),
                     metadata={K.EPOCH_NUM: epoch})
                 for k in b.panel if k not in b.panel_after_run]
        recs.append(Rec("end", K.EVAL_STOP, metadata={K.EPOCH_NUM: epoch}))
    recs.append(Rec("end", K.RUN_STOP, metadata={K.STATUS: status}))
    # a blueprint's panel of the final model, after run_stop (outside the timed region)
    recs += [Rec("event", k, BLUEPRINT_VALUES[k], metadata={"samples": 5000, "seed": 7})
             for k in b.panel_after_run]
    return recs


# Values of a blueprint's panel keys in a compliant log (disentangle: within the bounds).
BLUEPRINT_VALUES = {K.RECONSTRUCTION_ERROR: 0.01, "z_diff": 0.6, "z_var": 0.5,
                    "dci_rf_disentanglement": 0.3, "dci_rf_completeness": 0.3,
                    "dci_rf_informativeness": 0.7, "mig": 0.15, "jemmig": 0.25, "dcimig": 0.2}


def cosmoflow_run(**kw) -> list[Rec]:
    """benchmark_run("cosmoflow", ...), for the tests that need any compliant log."""
    return benchmark_run("cosmoflow", **kw)


def write_shipped_run(path: Path, benchmark: str, *, division: str = "closed",
                      optimizer: str = "adam", values=None, metric: str | None = None,
                      scale: str = "tiny", checksum: str | None = None,
                      status: str = K.SUCCESS) -> Path:
    """A run for the shipped ruleset (its own targets and recorded checksums), with the
    optimizer and the metric's name as given."""
    recs = benchmark_run(benchmark, division=division, scale=scale, values=values,
                         status=status,
                         checksum=checksum or shipped_table(benchmark)[1][scale] or "0" * 64)
    recs = set_value(recs, K.OPT_NAME, optimizer)
    if optimizer == "sgd" and not any(r.key == K.OPT_MOMENTUM for r in recs):
        recs = insert_after(recs, K.OPT_NAME, Rec("event", K.OPT_MOMENTUM, 0.9))
    if metric is not None:
        key = K.BENCHMARKS[benchmark].metric_key
        recs = [replace(r, metadata={**r.metadata, K.METRIC_NAME: metric}) if r.key == key
                else r for r in recs]
    return write_log(path, recs)


def rules_broken(path: Path) -> list[str]:
    """The ids of the rules (or the codes) one log breaks, sorted."""
    from compliance.api import check_logs

    [result] = check_logs([path])
    return sorted(d.extra.get("rule", d.code) for d in result.diagnostics)


def write_log(path: Path, recs: list[Rec], prefix: str = "", start_ms: int = 1_700_000_000_000,
              ) -> Path:
    """Emit the records through mllog into `path` (one `:::MLLOG` line each, after `prefix`),
    a second apart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"tests.compliance.{path}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter(prefix + "%(message)s"))
    logger.addHandler(handler)
    try:
        ml = MLLogger(logger=logger)
        clock = start_ms
        for r in recs:
            clock += 1000 + r.delay_ms
            getattr(ml, r.kind)(key=r.key, value=r.value, metadata=r.metadata, time_ms=clock)
    finally:
        handler.close()
        logger.removeHandler(handler)
    return path


# -- edits of a record list ---------------------------------------------------------------------

def _index(recs, key, nth=0):
    hits = [i for i, r in enumerate(recs) if r.key == key]
    return hits[nth]


def drop(recs, key):
    return [r for r in recs if r.key != key]


def set_value(recs, key, value, nth=0):
    i = _index(recs, key, nth)
    return recs[:i] + [replace(recs[i], value=value)] + recs[i + 1:]


def delay(recs, key, ms, nth=0):
    i = _index(recs, key, nth)
    return recs[:i] + [replace(recs[i], delay_ms=ms)] + recs[i + 1:]


def set_meta(recs, key, metadata, nth=0):
    i = _index(recs, key, nth)
    return recs[:i] + [replace(recs[i], metadata=metadata)] + recs[i + 1:]


def insert_after(recs, key, rec, nth=0):
    i = _index(recs, key, nth)
    return recs[:i + 1] + [rec] + recs[i + 1:]


def move_after(recs, key, anchor, nth=0):
    """Move the nth record of `key` to just after the first record of `anchor`."""
    i = _index(recs, key, nth)
    r = recs[i]
    rest = recs[:i] + recs[i + 1:]
    return insert_after(rest, anchor, r)


def move_before(recs, key, anchor, nth=0):
    i = _index(recs, key, nth)
    r = recs[i]
    rest = recs[:i] + recs[i + 1:]
    j = _index(rest, anchor)
    return rest[:j] + [r] + rest[j:]


# -- a copy of the ruleset with the checksum table filled in ------------------------------------

# The table's dict may span lines (no value holds a brace).
_CHECKSUMS = re.compile(r"^([ \t]*)s\['checksums'\] = \{[^{}]*\}[ \t]*$", re.M)


def benchmarks_with_rules() -> list[str]:
    """The benchmarks sciperf-1.0.0 has a `<benchmark>.yaml` for."""
    return sorted(b for b in K.BENCHMARKS if (SCIPERF_DIR / f"{b}.yaml").is_file())


def ruleset_with_checksums(tmp: Path, checksums: dict, benchmarks=None) -> Ruleset:
    """sciperf-1.0.0 as shipped, except for the per-scale checksum table (`checksums`) in each
    of `benchmarks`' `<benchmark>.yaml` (default: every benchmark with rule files)."""
    root = tmp / "rulesets"
    folder = root / K.RULESET
    shutil.copytree(SCIPERF_DIR, folder)
    for b in benchmarks_with_rules() if benchmarks is None else benchmarks:
        path = folder / f"{b}.yaml"
        text = path.read_text()
        text, n = _CHECKSUMS.subn(lambda m: f"{m.group(1)}s['checksums'] = {checksums!r}", text)
        assert n == 1, f"{b}.yaml must hold exactly one s['checksums'] = {{...}} table"
        path.write_text(text)
    return Ruleset.load(K.RULESET, root, K.RULESET)


# -- mlperf-logging's own checker, for differential tests -----------------------------------------

@dataclass(frozen=True)
class MlperfVerdict:
    """mlperf-logging's checker on one log: its verdict, or the exception it crashed with (a
    crash is no verdict), and the keys its failure messages name."""
    passed: bool
    crash: str | None = None  # "TypeError: ..." when its checker raised
    keys: frozenset = frozenset()  # keys of its failures (keyed messages, and those it quotes)


_QUOTED = re.compile(r"'(\w+)'")
_ATLEAST = re.compile(r"^Failed checks for (\w+) :")


def mlperf_check(log: Path, config: str, rules_root: Path | None = None,
                 werror: bool = False) -> MlperfVerdict:
    """mlperf-logging's checker (its Python API, as its CLI calls it) on the log against
    `config` (e.g. "hpc_2.0.0/common.yaml"), with the rule files under `rules_root` (default:
    its own folder)."""
    from mlperf_logging.compliance_checker import mlp_compliance

    saved = mlp_compliance.__file__
    if rules_root is not None:  # it finds rule files beside its own module file
        mlp_compliance.__file__ = str(Path(rules_root) / "mlp_compliance.py")
    mlp_compliance.enqueued_configs.clear()
    logging.disable(logging.CRITICAL)
    try:
        checker = mlp_compliance.make_checker("hpc", "2.0.0", False, werror)
        try:
            passed = bool(checker.check_file(str(log), config))
        except Exception as e:  # noqa: BLE001 -- a crash is what is recorded
            return MlperfVerdict(False, f"{type(e).__name__}: {e}")
        keys = set(checker.overwritable)
        for msg in checker.not_overwritable:
            if m := _ATLEAST.match(msg):
                keys.add(m.group(1))
            elif msg.startswith("Required AT_LEAST_ONE occurrence of"):
                keys.update(_QUOTED.findall(msg))
        return MlperfVerdict(passed, None, frozenset(keys))
    finally:
        logging.disable(logging.NOTSET)
        mlp_compliance.enqueued_configs.clear()
        mlp_compliance.__file__ = saved


def failing_keys(result) -> frozenset:
    """The keys of our error findings, as mlperf-logging's messages name them (a missing
    alternative names all its alternatives)."""
    keys = set()
    for d in result.diagnostics:
        if not d.is_error:
            continue
        if d.code == "SP106":
            keys.update(d.extra["rule"].split(":")[1].split("|"))
        elif d.key:
            keys.add(d.key)
    return frozenset(keys)


# Where mlperf-logging's checker crashes, the finding ours makes instead: an ATLEAST_ONE_CHECK
# whose code raises (it does not catch that one), a rule file enqueued but missing (it says so,
# then opens it anyway).
CRASH_FINDINGS = {"SP205", "SP303"}
# Findings about the file or the ruleset rather than a rule: where we report one, the rules saw
# other records than mlperf-logging's (which reads malformed lines its own way), so only the
# verdicts are compared.
FILE_FINDINGS = {"SP001", "SP002", "SP003", "SP004", "SP005", "SP006", "SP007", "SP008",
                 "SP303", "SP304"}


def assert_agrees(ours, log: Path, config: str, rules_root: Path | None = None,
                  werror: bool = False) -> MlperfVerdict:
    """Our verdict equals mlperf-logging's; where both fail on rules, on the same keys; where
    its checker crashes, ours fails with the finding that stands for the crash."""
    theirs = mlperf_check(log, config, rules_root, werror)
    codes = {d.code for d in ours.diagnostics if d.is_error}
    if theirs.crash is not None:
        assert ours.verdict == "fail" and codes & CRASH_FINDINGS, (theirs.crash,
                                                                   ours.diagnostics)
        return theirs
    assert (ours.verdict == "pass") == theirs.passed, (theirs, ours.diagnostics)
    if not theirs.passed and not codes & FILE_FINDINGS:
        assert failing_keys(ours) == theirs.keys, (theirs, ours.diagnostics)
    return theirs
