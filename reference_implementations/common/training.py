"""The train/eval loop every benchmark shares: MLLOG records of the log contract, Horovod data
parallelism, evaluation every epoch, stop as soon as the quality target is reached.

A benchmark supplies `data` and `model` modules (see README, "Adding a benchmark"); this file
owns everything else, so all benchmarks log, time and stop the same way.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sciperf import layout
from sciperf import vocab as K

from . import faults, trained
from .config import Config, ConfigError, load_config
from .data import DataError, files_below, shard_files
from .manifest import verify_manifest
from .mllogger import LogWriteError, RankLogger
from .optim import make_optimizer


class RunAborted(Exception):
    """The run cannot go on (a failure on some rank); the message says why.
    `together`: every rank raised it at the same point (after one collective), so they can
    still meet once more before exiting."""

    def __init__(self, message: str, together: bool = False):
        super().__init__(message)
        self.together = together


# -- the loop ---------------------------------------------------------------------------------

def train(cfg: Config, log: RankLogger, world, data, model_lib):
    """Run one benchmark run; return (status, reason, model, after_run): after_run, where the
    benchmark scores a panel on the final model, logs it once run_stop is written (None
    otherwise). Every MLLOG record comes from here."""
    import horovod.tensorflow as hvd
    import horovod.tensorflow.keras as hvd_keras
    import tensorflow as tf

    bench = K.BENCHMARKS[cfg.benchmark]
    t, run = cfg.train, cfg.run
    log.event(K.CACHE_CLEAR, True)
    log.start(K.INIT_START)
    for key, value in ((K.SUBMISSION_BENCHMARK, cfg.benchmark), (K.SUBMISSION_ORG, run["org"]),
                       (K.SUBMISSION_PLATFORM, run["platform"]),
                       (K.SUBMISSION_DIVISION, run["division"]),
                       (K.SUBMISSION_STATUS, run["status"]), (K.SCIPERF_RULESET, K.RULESET),
                       (K.DATA_SCALE, cfg.scale), (K.SEED, int(run["seed"]))):
        log.event(key, value)  # the seed early: `sciperf run --resume` reads it back
    seed = int(run["seed"])
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    # Everything about the data is checked before the clock starts, and on every rank; a
    # failure on any rank stops all of them with the same reason (so rank 0's log carries it).
    checked, checksum = collective(lambda: check_local_data(cfg, data, world), "check_data")
    shards = make_shards(checked)
    n_train, n_eval = shards["train"].samples, shards["validation"].samples
    global_batch = t["batch_size"] * world.size
    steps = min(hvd.allgather_object(shards["train"].local_samples // t["batch_size"]))
    if steps < 1:
        raise DataError(cfg.data_dir, f"{n_train} training samples cannot fill one global batch "
                                      f"of {global_batch}; lower train.batch_size")
    warmup_factor = world.size if t["lr_warmup_factor"] == "ranks" else t["lr_warmup_factor"]
    for key, value in ((K.DATASET_CHECKSUM, checksum),
                       (K.GLOBAL_BATCH_SIZE, global_batch), (K.TRAIN_SAMPLES, n_train),
                       (K.EVAL_SAMPLES, n_eval), (K.NUMBER_OF_NODES, run["nodes"] or world.nodes),
                       (K.ACCELERATORS_PER_NODE, run["accelerators_per_node"]),
                       (K.OPT_NAME, t["optimizer"]), (K.OPT_BASE_LR, t["base_lr"]),
                       (K.OPT_LR_WARMUP_EPOCHS, t["warmup_epochs"]),
                       (K.OPT_LR_WARMUP_FACTOR, warmup_factor),
                       (K.OPT_LR_DECAY_BOUNDARY_EPOCHS, t["decay_boundary_epochs"]),
                       (K.OPT_LR_DECAY_FACTOR, t["decay_factor"]),
                       (K.OPT_WEIGHT_DECAY, t["weight_decay"]), (K.DROPOUT, t["dropout"])):
        log.event(key, value)
    if t["optimizer"] == "sgd":
        log.event(K.OPT_MOMENTUM, t["momentum"])
    if bench.blueprint:  # a blueprint compares methods: the log says which one it trained
        log.event(K.METHOD, cfg.model["method"])
        settings = getattr(model_lib, "hyperparameters", None)  # and with what settings
        for key, value in (settings(cfg) if settings else {}).items():
            log.event(key, value)
    if "augmentation" in cfg.data:  # what was done to the training data, for the rules to see
        log.event(K.DATA_AUGMENTATION, cfg.data["augmentation"])

    model = model_lib.build(cfg)
    optimizer = make_optimizer(t, steps, warmup_factor)
    model.compile(optimizer=hvd_keras.DistributedOptimizer(optimizer),
                  loss=model_lib.loss(cfg))
    hvd.broadcast_variables(model.variables, root_rank=0)
    # A benchmark may predict its own way (rotation: each validation galaxy comes as views).
    predict = tf.function(lambda x: model_lib.predict(model, x) if hasattr(model_lib, "predict")
                          else model(x, training=False))
    # A benchmark scored on the whole validation split at once (disentangle: the codes of every
    # sample, against their factors) gathers its rows from every rank, besides the sums.
    whole_split = hasattr(model_lib, "eval_rows")
    last: list[dict] = []  # the last evaluation's totals (and rows)

    # One fit over all epochs (a fit per epoch restarts the input pipeline and cost ~10 % of
    # the throughput) on one pipeline: `repeat` opens a new pass over the data for every epoch
    # (during the previous epoch's evaluation, thanks to the prefetch), and every pass is
    # reshuffled from the seeded stream of the run seed (and the rank, where ranks read their
    # own files). `take` keeps every epoch at the step count all ranks share.
    train_ds = without_autotune(shards["train"].dataset(data, cfg, world, shuffle_seed=seed)
                                .take(steps).repeat(t["max_epochs"]).prefetch(tf.data.AUTOTUNE))
    log.end(K.INIT_STOP)

    log.start(K.RUN_START)
    clock = time.monotonic()
    # A bound on panel values at the target (disentangle: the reconstruction error), so that a
    # run cannot reach it with a model that no longer describes its data.
    bounds = t.get("bounds") or {}
    goal = f"{'>=' if bench.higher_is_better else '<='} {t['target']}" + "".join(
        f", {k} <= {m}" for k, m in bounds.items())
    outcome = [K.ABORTED, f"{K.TARGET_MISSED}: {bench.metric_key} {goal} within "
                          f"{t['max_epochs']} epochs"]

    def epoch_begin(index, logs=None):
        log.start(K.EPOCH_START, metadata={K.EPOCH_NUM: index + 1})

    def epoch_end(index, logs):
        epoch = index + 1
        log.end(K.EPOCH_STOP, metadata={K.EPOCH_NUM: epoch, "train_loss": float(logs["loss"])})
        log.start(K.EVAL_START, metadata={K.EPOCH_NUM: epoch})
        average_statistics(model)
        sums: dict[str, float] = {}
        rows: list[dict] = []
        for x, y in without_autotune(shards["validation"].dataset(data, cfg, world)):
            y, out = y.numpy(), tf.nest.map_structure(lambda a: a.numpy(), predict(x))
            for k, v in model_lib.eval_sums(y, out).items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if whole_split:
                rows.append(model_lib.eval_rows(y, out))
        total = sum_over_ranks(sums, f"eval.{epoch}")
        if whole_split:
            total.update(gather_rows(rows, f"rows.{epoch}"))
        last[:] = [total]
        value, extras = model_lib.eval_finalize(total)
        # The panel keys this evaluation scored, a record each, after the metric (a panel
        # scored after run_stop is not among the extras).
        panel = {k: extras.pop(k) for k in bench.panel if k in extras}
        log.event(bench.metric_key, float(value),
                  metadata={K.EPOCH_NUM: epoch, K.METRIC_NAME: bench.metric_name, **extras})
        for k, v in panel.items():
            log.event(k, float(v), metadata={K.EPOCH_NUM: epoch})
        log.end(K.EVAL_STOP, metadata={K.EPOCH_NUM: epoch})
        reached = bench.reached(value, t["target"]) and all(panel[k] <= m
                                                            for k, m in bounds.items())
        log.progress(f"epoch {epoch}/{t['max_epochs']}: {bench.metric_key} {value:.4f} "
                     f"({'reached ' if reached else ''}target {goal}), "
                     f"{time.monotonic() - clock:.1f} s")
        if reached:
            outcome[:] = [K.SUCCESS, None]
            model.stop_training = True

    model.fit(train_ds, steps_per_epoch=steps, epochs=t["max_epochs"], verbose=0,
              callbacks=[hvd_keras.callbacks.MetricAverageCallback(),  # first: averages `loss`
                         tf.keras.callbacks.LambdaCallback(on_epoch_begin=epoch_begin,
                                                           on_epoch_end=epoch_end)])

    def after_run():
        """The panel of the final model, scored once from the last evaluation's rows (the
        model has not changed since) after run_stop: outside the timed region. Rank 0 alone
        scores it (its log records it) while the other ranks wait, leaving it the cores."""
        if not world.is_root:
            return
        start = time.monotonic()
        values = model_lib.final_panel(last[0], seed)
        for key in bench.panel_after_run:
            value, metadata = values[key]
            log.event(key, value, metadata=metadata)
        log.progress("panel of the final model: " + ", ".join(
            f"{k} {values[k][0]:.3f}" if values[k][0] is not None else f"{k} -"
            for k in bench.panel_after_run) + f" ({time.monotonic() - start:.1f} s)")

    return outcome[0], outcome[1], model, after_run if bench.panel_after_run and last else None


def without_autotune(ds):
    """The dataset without tf.data's autotuning thread. Deleting an iterator waits for that
    thread's current sleep, which doubles up to 60 s (TF 2.15): the end of `fit` waited 25-40 s
    inside the timed region in about half the runs. Without it, AUTOTUNE parallelism is the
    core count and AUTOTUNE prefetch buffers tune themselves (`legacy_autotune`)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def average_statistics(model) -> None:
    """Average non-trained state (batch-norm moving statistics) over the ranks before each
    evaluation: each rank updates it from its own batches, so it drifts apart, and the ranks
    would evaluate, and end with, different models. One allreduce per epoch; no-op without such
    state or in a world of one."""
    import horovod.tensorflow as hvd

    state = [v for v in model.non_trainable_variables if v.dtype.is_floating]
    if state and hvd.size() > 1:
        for v, avg in zip(state, hvd.grouped_allreduce([v.read_value() for v in state],
                                                       op=hvd.Average, name="statistics")):
            v.assign(avg)


def sum_over_ranks(sums: dict[str, float], name: str) -> dict[str, float]:
    """Add per-rank sums key by key (a rank with no batches contributes nothing)."""
    import horovod.tensorflow as hvd

    total: dict[str, float] = {}
    for part in hvd.allgather_object(sums, name=name):
        for k, v in part.items():
            total[k] = total.get(k, 0.0) + v
    return total


def gather_rows(rows: list[dict], name: str) -> dict[str, np.ndarray]:
    """Concatenate per-batch arrays key by key, over this rank's batches, then over the ranks in
    rank order (a rank with no batches contributes nothing)."""
    import horovod.tensorflow as hvd

    mine = {k: np.concatenate([r[k] for r in rows]) for k in (rows[0] if rows else {})}
    parts = [p for p in hvd.allgather_object(mine, name=name) if p]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}


@dataclass
class Shard:
    """One split as this rank reads it. With at least as many files as ranks, each rank reads
    its own files; with fewer, every rank reads all files in the same shuffled order and keeps
    every size-th record, so shards stay disjoint either way."""
    files: list[Path]
    by_record: bool
    samples: int  # in the whole split, over all ranks
    local_samples: int  # what this rank reads

    def dataset(self, data, cfg: Config, world, shuffle_seed: int | None = None):
        """This rank's batches of the split: for training (a shuffle seed given) shuffled anew
        on every pass, in full batches; for evaluation in file order."""
        training = shuffle_seed is not None
        batch = cfg.train["batch_size"]
        if not self.by_record:
            seed = None if shuffle_seed is None else shuffle_seed + 7_919 * world.rank
            return data.make_dataset(self.files, cfg.data, batch_size=batch, training=training,
                                     shuffle_seed=seed)
        # Every rank shuffles the same records the same way (one seed), then keeps its share.
        ds = data.make_dataset(self.files, cfg.data, batch_size=1, training=training,
                               shuffle_seed=shuffle_seed)
        return ds.unbatch().shard(world.size, world.rank).batch(batch, drop_remainder=training)


def check_local_data(cfg: Config, data, world) -> tuple[dict, str | None]:
    """List the splits; verify the manifest and check every file this rank will read (before
    the clock). Returns {split: (files, sharded_by_file, {file: samples})} and the dataset
    checksum (None where the folder has no manifest, as real data as published)."""
    data_dir = cfg.data_dir
    if not data_dir.is_dir():
        raise DataError(data_dir, "data directory does not exist; create it with "
                                  f"`sciperf data generate {cfg.benchmark} --scale {cfg.scale}`")
    listed = data.list_splits(data_dir, cfg.data)
    reads = {}
    for split in ("train", "validation"):
        if not listed.get(split):
            raise DataError(data_dir, f"no {split} files found")
        mine = shard_files(listed[split], world.rank, world.size)
        reads[split] = (mine or listed[split], mine is not None or world.size == 1)
    checksum = verify_manifest(data_dir, files_below([f for fs, _ in reads.values() for f in fs]))
    checked = {split: (files, by_file, {str(f): data.check_file(f, cfg.data) for f in files})
               for split, (files, by_file) in reads.items()}
    return checked, checksum


def make_shards(checked: dict) -> dict[str, Shard]:
    """Count samples over all ranks (a file read by every rank counts once)."""
    import horovod.tensorflow as hvd

    shards = {}
    for split, (files, by_file, counts) in checked.items():
        merged: dict[str, int] = {}
        for part in hvd.allgather_object(counts, name=f"counts.{split}"):
            merged.update(part)
        total = sum(merged.values())
        local = sum(counts.values()) if by_file else total // hvd.size()
        shards[split] = Shard(files, not by_file, total, local)
    return shards


# -- pieces -----------------------------------------------------------------------------------

def collective(fn, name: str):
    """Run fn on every rank; if it fails on any rank, raise on all ranks with the first failing
    rank's message, so rank 0 (the one that logs) knows why and no rank hangs in a collective."""
    import horovod.tensorflow as hvd

    result, failure = None, None
    try:
        result = fn()
    except (DataError, ConfigError) as e:
        failure = e
    errors = [m for m in hvd.allgather_object(failure and str(failure), name=name) if m]
    if errors:
        # Every rank raises here, after the same collective, with the same words.
        raise RunAborted(errors[0], together=True) from failure
    return result


# -- entry point ------------------------------------------------------------------------------

def parse_args(benchmark: str, argv=None) -> Config:
    p = argparse.ArgumentParser(prog=f"python -m reference_implementations.{benchmark}.train",
                                description=f"Train the {benchmark} reference implementation.")
    p.add_argument("--scale", default="tiny", help="tiny | small | full (default tiny)")
    p.add_argument("--config", help="a config YAML of your own instead of configs/<scale>.yaml")
    p.add_argument("--seed", type=int, help="training seed (run.seed)")
    p.add_argument("--data-dir", help="dataset folder (run.data_dir)")
    p.add_argument("--result-file", help="where rank 0 writes the MLLOG records (run.result_file)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override any config value, e.g. --set train.base_lr=0.02 "
                        "--set run.org=ACME (repeatable)")
    a = p.parse_args(argv)
    named = {"seed": a.seed, "data_dir": a.data_dir, "result_file": a.result_file}
    overrides = [f"run.{k}={v}" for k, v in named.items() if v is not None] + a.set
    return load_config(benchmark, a.scale, a.config, overrides)


def main_for(benchmark: str):
    def main(argv=None) -> int:
        return run_benchmark(benchmark, argv)
    return main


def run_benchmark(benchmark: str, argv=None) -> int:
    try:
        cfg = parse_args(benchmark, argv)
    except ConfigError as e:
        print(f"sciperf: error: {e}", file=sys.stderr)
        return 2
    from .distributed import init_world

    world = init_world()
    try:
        log = RankLogger(world.rank, cfg.run["result_file"])
    except LogWriteError as e:  # the other ranks lose rank 0 and stop
        print(f"sciperf: rank {world.rank}: error: {e}", file=sys.stderr)
        faults.post(f"rank {world.rank} failed: {e}", f"rank-{world.rank}")
        return 1
    data = importlib.import_module(f"reference_implementations.{benchmark}.data")
    model_lib = importlib.import_module(f"reference_implementations.{benchmark}.model")

    def stop(signum):
        """A launcher, scheduler or user stopping the run (from the signal watch's thread,
        whatever the training loop is blocked in): run_stop names the first cause a launcher
        posted (a timeout, another rank's death), else the signal; then exit at once."""
        why = faults.first() or f"received signal {signal.Signals(signum).name}"
        if log.finish(K.ABORTED, why):
            print(f"sciperf: rank {world.rank}: run aborted: {why}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(0 if log.status == K.SUCCESS else 1)

    faults.SignalWatch(stop)
    status, reason, model, after_run = K.ABORTED, "unknown", None, None
    together = False  # did every rank reach this point at the same step of the run?
    alone = False  # did this rank fail for a reason of its own that the others cannot see?
    started = time.time()
    try:
        status, reason, model, after_run = train(cfg, log, world, data, model_lib)
        together = True
    except RunAborted as e:
        reason, together = str(e), e.together
    except (DataError, ConfigError, LogWriteError) as e:
        reason, alone = str(e), True
    except Exception as e:  # the log must stay readable whatever failed; say what it was
        lost = lost_peer(e)
        if lost:  # another rank is gone: wait for the launcher to say which, and how
            reason = faults.wait_first(PEER_WAIT_S) or f"lost contact with another rank: {lost}"
        else:
            reason, alone = f"{type(e).__name__}: {gist(e)}", True
    if alone:  # so that rank 0's log (or, without one, `sciperf run`) names the cause
        faults.post(f"rank {world.rank} failed: {reason}", f"rank-{world.rank}")
    # The log stays open after run_stop for what is logged outside the timed region: a
    # blueprint's panel of the final model, then the kept weights' hash.
    log.finish(status, reason if status != K.SUCCESS else None, close=False)
    panel_failed = after_run is not None and not log_after_run(after_run, world)
    if together and world.size > 1:
        # No rank exits before rank 0 has written run_stop: horovodrun stops every rank as soon
        # as one exits with an error (and "target not reached" is one).
        import horovod.tensorflow as hvd

        hvd.allgather_object(status, name="run_end")
    if reason and status != K.SUCCESS:
        print(f"sciperf: rank {world.rank}: run aborted: {reason}", file=sys.stderr)
    failed = status != K.SUCCESS or panel_failed
    if model is not None:
        failed = keep_model(model, cfg, log, world, started) or failed
    log.close()
    return 1 if failed else 0


def keep_model(model, cfg: Config, log: RankLogger, world, started: float) -> bool:
    """After run_stop (outside the timed region): log the final weights' sha256 and keep the
    model beside the log (rank 0; sciperf/layout.py `model_dir`). True if that failed. The
    caller closes the log."""
    sha256 = trained.weights_sha256(model)
    folder = layout.model_dir(cfg.run["result_file"]) if cfg.run["result_file"] else None
    try:
        log.event(K.WEIGHTS_SHA256, sha256)
        if world.rank == 0 and folder is not None:
            trained.save(model, cfg, folder, sha256)
    except (LogWriteError, OSError) as e:
        why = e if isinstance(e, LogWriteError) else f"{folder}: {e.strerror or e}"
        print(f"sciperf: rank {world.rank}: error: cannot keep the model: {why}",
              file=sys.stderr, flush=True)
        return True
    kept = f", kept in {folder}" if world.rank == 0 and folder is not None else ""
    print(f"sciperf: rank {world.rank}: weights sha256 {sha256}{kept} "
          f"({time.time() - started:.1f} s)", flush=True)
    return False


def log_after_run(after_run, world) -> bool:
    """Log what the finished run scores after run_stop; False (said on stderr) if it failed:
    its records are then missing, and the checker rejects the log for it."""
    try:
        after_run()
        return True
    except Exception as e:  # noqa: BLE001 -- run_stop is written: say why the panel is not
        print(f"sciperf: rank {world.rank}: error: the panel of the final model was not "
              f"logged: {type(e).__name__}: {gist(e)}", file=sys.stderr, flush=True)
        return False


# How long rank 0 waits, after a collective failed because another rank is gone, for the
# launcher's notice of which rank and how (horovodrun's driver posts it within milliseconds,
# then stops this rank with SIGTERM anyway); without one it says what it saw.
PEER_WAIT_S = 10.0

# Horovod's and Gloo's words when a collective failed because a peer is gone or silent.
_PEER_LOST = ("Horovod has been shut down", "Connection closed by peer", "Connection reset by peer",
              "Timed out waiting", "Connection refused")


def lost_peer(e: BaseException) -> str | None:
    """The line of a Horovod/Gloo failure that says another rank is gone, else None."""
    for line in str(e).splitlines():
        if any(m in line for m in _PEER_LOST):
            # without Gloo's "[pair.cc:598]" and TF's "{{function_node ...}}" in front
            line = re.sub(r"^(\[[^\]]*\]|\{\{[^}]*\}\}|\s)+", "", line)
            return line.split(". ")[0]
    return None


def gist(e: BaseException) -> str:
    """An error in a line: TensorFlow's graph errors put the node trace first and the message
    last ("Graph execution error: Detected at node ... <message> [[{{node ...}}]]")."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].startswith("Graph execution error"):
        lines = [ln for ln in lines if not ln.startswith(("[[", "File ", "Detected at node"))][-1:]
    text = lines[0] if lines else repr(e)
    return text if len(text) <= 300 else text[:297] + "..."
