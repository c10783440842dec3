"""Scores of one result directory, computed as mlperf-logging's result summarizer computes them.

Strong scaling: each run's time to train is `run_stop - run_start` in minutes; the score is the
olympic mean of the runs: sort, drop the fastest and the slowest, average the rest. A run that
missed the target counts as the slowest one, so with one such run only the fastest is dropped
from the others; with more than one there is no score.

Weak scaling (MLPerf HPC): the number of models is the number of runs that reached the target, the instance
scale is `number_of_nodes * max(accelerators_per_node, 1)` of a run, the time to train all is
from the earliest `run_start` to the latest `run_stop` of those runs, and the throughput is
models per minute. At least the benchmark's required number of runs must have passed.

The arithmetic (operation order included) is the summarizer's, so on the same runs the floats
are equal, not just close.
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance.summary import RunSummary

MAX_DROPPED_RUNS = 1  # missed runs olympic scoring may absorb (MLPerf: 1; 4 for unet3d only)


def olympic_mean(scores: list[float], dropped: int, max_dropped: int = MAX_DROPPED_RUNS) -> float | None:
    """The summarizer's `_compute_olympic_average`: `dropped` runs already missed the target
    (they count as the slowest), so `max_dropped` are cut from the bottom and `max_dropped - dropped` from the
    top. None when nothing is left to average."""
    ordered = sorted(scores)
    countable = ordered[max_dropped : len(ordered) - (max_dropped - dropped)]
    if not countable:
        return None
    return sum(countable) * 1.0 / len(countable)


@dataclass
class StrongScore:
    time_to_train_minutes: float | None  # None: no score (too many missed runs, too few runs)
    run_times_minutes: list[float]  # the finished runs' times, fastest first
    runs_dropped: int
    reason: str = ""  # why there is no score


def score_strong(finished: list[float], missed: int) -> StrongScore:
    """`finished`: the times to train (minutes) of the runs that reached the target."""
    times = sorted(finished)
    if missed > MAX_DROPPED_RUNS:
        return StrongScore(None, times, missed,
                           f"{missed} runs missed the target; olympic scoring can drop at most "
                           f"{MAX_DROPPED_RUNS}")
    score = olympic_mean(times, missed)
    if score is None:
        return StrongScore(None, times, missed,
                           f"{len(times)} finished run(s) leave nothing to average once the "
                           "fastest and slowest are dropped")
    return StrongScore(score, times, missed)


@dataclass
class WeakScore:
    number_of_models: int
    instance_scale: int | None
    time_to_train_all_minutes: float | None
    models_per_minute: float | None
    runs_dropped: int
    reason: str = ""


def score_weak(finished: list[RunSummary], missed: int, required: int) -> WeakScore:
    n = len(finished)
    if n < required:
        return WeakScore(n, None, None, None, missed,
                         f"{n} run(s) reached the target; weak scaling needs at least {required}")
    scales = sorted({s.instance_scale for s in finished})
    if len(scales) > 1:
        return WeakScore(n, None, None, None, missed,
                         "the runs do not share one instance scale (number_of_nodes x "
                         f"accelerators_per_node): {', '.join(map(str, scales))}")
    start = min(s.run_start.time_ms for s in finished)
    stop = max(s.run_stop.time_ms for s in finished)
    minutes = (stop - start) / 60 / 1000
    return WeakScore(n, scales[0], minutes, n / minutes if minutes > 0 else None, missed)
