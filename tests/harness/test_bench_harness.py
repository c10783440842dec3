"""tools/perf/bench_harness.py: the turn-taking that pairs harness and plain epochs, and the
overhead estimate with its interval (two live processes in turns: the slow case)."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys

import pytest

from tests.support import REPO, env
from tools.perf.bench_harness import overhead, take_turns, verdict


class FakeSide:
    """Epochs of fixed length on a fake clock; `early` epochs start before their turn (as a
    harness epoch does when its evaluation ended before the bench froze it)."""

    def __init__(self, clock: list[float], seconds: float, early=()):
        self.clock, self.seconds, self.early = clock, seconds, set(early)
        self.k = 0
        self.log: list[str] = []

    def resume(self):
        self.resumed_at = self.clock[0]
        self.log.append("resume")

    def freeze(self):
        self.log.append("freeze")

    def epoch(self):
        self.k += 1
        start = self.clock[0] - (0.5 if self.k in self.early else 0)
        self.clock[0] += self.seconds
        return start, self.clock[0]

    def finish(self):
        self.log.append("finish")


def test_turns_pair_each_epoch_with_the_others_next_and_drop_epochs_begun_out_of_turn():
    clock = [0.0]
    a, b = FakeSide(clock, 2.0, early={4, 5}), FakeSide(clock, 1.0)
    pairs = take_turns(a, b, 6)
    assert pairs == [(2.0, 1.0), (2.0, 1.0), (2.0, 1.0)]  # epochs 2, 3, 6: 1 is tracing, 4 early
    assert b.log[0] == "freeze"  # b waits until a's first epoch is over
    assert a.log == ["resume", "freeze"] * 6 + ["finish"]
    assert b.log[1:] == ["resume", "freeze"] * 6 + ["finish"]
    # an early epoch of the second side drops its pair too
    clock = [0.0]
    assert take_turns(FakeSide(clock, 2.0), FakeSide(clock, 1.0, early={5}), 6) == \
        [(2.0, 1.0)] * 4


def test_overhead_is_one_minus_the_time_ratio_with_an_interval_from_the_rounds():
    pct, low, high = overhead([[(1.03, 1.0)] * 10] * 3)
    assert pct == pytest.approx((1 - 1 / 1.03) * 100)
    assert low == pytest.approx(pct) and high == pytest.approx(pct)  # no spread, no width
    # the rounds' figures, not the pairs', set the interval: noisy pairs whose rounds agree...
    steady = [[(1.1, 1.0), (0.9, 1.0)] * 5] * 4
    pct, low, high = overhead(steady)
    assert pct == pytest.approx((1 - math.exp(-(math.log(1.1) + math.log(0.9)) / 2)) * 100)
    assert high - low == pytest.approx(0)
    # ...and rounds that disagree: the mean of the round figures, an interval around it
    rounds = [[(1.02, 1.0)] * 5, [(1.0, 1.0)] * 5, [(1.04, 1.0)] * 5, [(1.02, 1.0)] * 5]
    pct, low, high = overhead(rounds)
    assert low < pct < high
    assert pct == pytest.approx((1 - 1 / math.exp(statistics.fmean(
        math.log(r) for r in (1.02, 1.0, 1.04, 1.02)))) * 100)
    # more rounds of the same spread, a narrower interval
    _, low2, high2 = overhead(rounds * 4)
    assert high2 - low2 < (high - low) / 2


def test_verdict_claims_the_target_only_when_the_interval_is_under_it():
    assert verdict(1.0, 2.9) == "met"
    assert verdict(1.0, 4.0) == "met by the estimate, not shown at 95 %"
    assert verdict(3.5, 5.0) == "NOT met"


@pytest.mark.slow
def test_two_live_processes_take_turns_and_the_bench_prints_its_figure():
    """The real thing, short: two plain fits in turns (SIGSTOP/SIGCONT, a turn on stdin)."""
    out = subprocess.run([sys.executable, "tools/perf/bench_harness.py", "--noise",
                          "--rounds", "2", "--epochs", "3"], cwd=REPO, env=env(),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "2 rounds of 3 epochs a side taken in turns (4 epoch pairs)" in out.stdout
    assert "difference" in out.stdout and "95 % interval" in out.stdout
