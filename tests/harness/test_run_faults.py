"""Faults injected into real CosmoFlow tiny runs under `sciperf run`, one test per row of
docs/faults.md: what the user sees, what is kept, and that no process of the run is left.

The runs here cannot reach their target (train.target=0) unless the test says otherwise, so only
the fault ends them; the tests wait on the log's records, never on the clock."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support import (ProcessTree, final_stop, generate_data, has_record, mllog_records,
                           sciperf, start_sciperf)
from sciperf import vocab as K

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

ENDLESS = ("--set", "train.target=0.0", "--set", "train.max_epochs=1000")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return generate_data(tmp_path_factory, "cosmoflow")


def endless_run(out: Path, data: Path, *extra, np=2, **kw):
    """`sciperf run` of one run that only a fault ends; (process, its tree, its log)."""
    launcher = () if np > 1 else ("--launcher", "none")
    proc = start_sciperf("run", "cosmoflow", "--np", np, *launcher, "--seed", 3, "--data-dir",
                         data, "--out", out, *ENDLESS, *extra, **kw)
    return proc, ProcessTree(proc), out / "result_0.txt"


def ended(proc: subprocess.Popen, tree: ProcessTree, timeout: float = 600):
    """Wait for `sciperf run` to end; its (stdout, stderr), with no traceback in either."""
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in out + err, out[-3000:] + err[-3000:]
    return out, err


def run_stop(log: Path) -> dict:
    return final_stop(mllog_records(log))["metadata"]


def one_line(out: str, needle: str) -> str:
    lines = [ln for ln in out.splitlines() if needle in ln]
    assert len(lines) == 1, out[-3000:]
    return lines[0]


# -- 1. a rank dies -----------------------------------------------------------------------------

def test_a_killed_rank_ends_the_run_naming_the_rank_and_the_signal(tmp_path, tiny_data):
    proc, tree, log = endless_run(tmp_path, tiny_data)
    tree.wait_for(lambda: has_record(log, K.EPOCH_START, 2), "a second epoch")
    epochs_at_kill = sum(r["key"] == K.EPOCH_START for r in mllog_records(log))
    tree.ranks()[1].kill()  # SIGKILL, what the kernel's out-of-memory killer sends
    out, _ = ended(proc, tree)
    assert proc.returncode == 1
    stop = run_stop(log)
    assert stop["status"] == K.ABORTED and stop["reason"] == "rank 1 was killed by SIGKILL"
    assert "result_0.txt: aborted: rank 1 was killed by SIGKILL" in one_line(out, "result_0.txt:")
    # The survivor stopped in the epoch it was in, and nothing of the run is left.
    assert sum(r["key"] == K.EPOCH_START for r in mllog_records(log)) <= epochs_at_kill + 1
    assert tree.alive() == []


def test_a_killed_rank_0_leaves_a_log_that_check_compliance_rejects(tmp_path, tiny_data):
    proc, tree, log = endless_run(tmp_path, tiny_data)
    tree.wait_for(lambda: has_record(log, K.EPOCH_START, 2), "a second epoch")
    tree.ranks()[0].kill()
    out, _ = ended(proc, tree)
    assert proc.returncode == 1
    assert K.RUN_STOP not in [r["key"] for r in mllog_records(log)]
    line = one_line(out, "result_0.txt:")
    assert "no run_stop, so check-compliance rejects it: rank 0 was killed by SIGKILL" in line
    check = sciperf("check", log)
    assert check.returncode == 1 and "SP101" in check.stdout and "run_stop" in check.stdout, \
        check.stdout + check.stderr
    assert tree.alive() == []


# -- 2. a rank hangs ----------------------------------------------------------------------------

def test_a_stopped_rank_is_given_up_after_the_gloo_timeout(tmp_path, tiny_data):
    """A rank stopped with SIGSTOP falls silent; Gloo gives up on it after its timeout (30 s by
    default, 10 s here to keep the test short) and rank 0 ends the run."""
    proc, tree, log = endless_run(tmp_path, tiny_data,
                                  env_extra={"HOROVOD_GLOO_TIMEOUT_SECONDS": "10"})
    tree.wait_for(lambda: has_record(log, K.EPOCH_START, 2), "a second epoch")
    tree.ranks()[1].suspend()
    out, _ = ended(proc, tree)
    assert proc.returncode == 1
    # Horovod's words vary with where the loss is seen ("Horovod has been shut down", "Timed
    # out waiting 10000ms for recv operation to complete")
    assert run_stop(log)["reason"].startswith("lost contact with another rank: ")
    assert "aborted: lost contact with another rank" in one_line(out, "result_0.txt:")
    assert tree.alive() == []  # horovodrun kills the stopped rank once rank 0 has exited


def test_a_hung_rank_is_stopped_at_the_timeout(tmp_path, tiny_data):
    """A rank stopped with SIGSTOP. Gloo gives up on a silent peer after its timeout (30 s by
    default; docs/faults.md), but not on a rank whose main thread is blocked in I/O while
    Horovod's thread still answers, nor where a site raised it: raised here, only --timeout
    can end this run."""
    proc, tree, log = endless_run(tmp_path, tiny_data, "--timeout", 1.5,
                                  env_extra={"HOROVOD_GLOO_TIMEOUT_SECONDS": "3600"})
    tree.wait_for(lambda: has_record(log, K.RUN_START), "run_start")
    tree.ranks()[1].suspend()
    out, _ = ended(proc, tree)
    assert proc.returncode == 1
    stop = run_stop(log)
    assert stop["status"] == K.ABORTED and stop["reason"].startswith("timeout: ")
    assert "1.5 minutes" in stop["reason"]
    assert "result_0.txt: aborted: timeout: " in one_line(out, "result_0.txt:")
    assert tree.alive() == []


# -- 3. the log cannot be written ---------------------------------------------------------------

LOG_LIMIT = 8000  # bytes: the records up to run_start take about 6,000, an epoch about 1,400


def test_a_file_size_limit_stops_the_run_at_once(tmp_path, tiny_data):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (LOG_LIMIT, LOG_LIMIT))

    proc, tree, log = endless_run(tmp_path, tiny_data, preexec_fn=limit)
    out, err = ended(proc, tree)
    assert proc.returncode == 1
    text = log.read_text()
    assert len(text.encode()) <= LOG_LIMIT and text.endswith("\n"), "cut at a whole record"
    keys = [r["key"] for r in mllog_records(log)]  # every line is a whole record
    assert K.RUN_START in keys and K.RUN_STOP not in keys
    said = f"cannot write the log {log}: File too large"
    assert said in one_line(out, "result_0.txt:")
    # The run, which only a fault could end, stopped in the epoch whose record failed.
    shown = [ln for ln in out.splitlines() if " epoch " in ln and "eval_error" in ln]
    assert len(shown) <= keys.count(K.EPOCH_START), shown
    assert ":::MLLOG" not in out, "sciperf run shows progress, not records"
    assert tree.alive() == []


@pytest.fixture
def tmpfs(tmp_path):
    """A small file system of our own (root only); unmounted after the test."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()

    def mount(*options):
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(mnt)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): needs root")
        return mnt

    yield mount
    subprocess.run(["umount", str(mnt)], capture_output=True)


def test_a_full_disk_stops_the_run_naming_the_log(tmp_path, tiny_data, tmpfs):
    mnt = tmpfs("size=8k")  # two pages: full in the second epoch, as LOG_LIMIT
    proc, tree, log = endless_run(mnt, tiny_data, np=1)
    out, err = ended(proc, tree)
    assert proc.returncode == 1
    said = f"cannot write the log {log}: No space left on device"
    assert said in one_line(out, "result_0.txt:"), out + err[-2000:]
    text = log.read_text()
    assert text.endswith("\n") and K.RUN_START in text and K.RUN_STOP not in text
    assert tree.alive() == []


def test_a_read_only_folder_is_refused_before_any_run(tmp_path, tiny_data, tmpfs):
    mnt = tmpfs("ro")
    proc, tree, log = endless_run(mnt, tiny_data, np=1)
    out, err = ended(proc, tree)
    assert proc.returncode == 2 and f"{log}: Read-only file system" in err
    assert not log.exists() and "$ " not in out, "no run was started"


# -- 4. interrupted submissions resume ----------------------------------------------------------

@pytest.fixture(scope="module")
def interrupted(tiny_data, tmp_path_factory):
    """`sciperf run --runs 3` stopped by Ctrl-C during its second run. Two epochs a run, which
    cannot reach the target: every run that ends by itself misses it."""
    out = tmp_path_factory.mktemp("interrupted")
    args = ("run", "cosmoflow", "--np", 2, "--runs", 3, "--data-dir", tiny_data, "--out", out,
            "--set", "train.max_epochs=2")
    proc = start_sciperf(*args, "--seed", 40)
    tree = ProcessTree(proc)
    tree.wait_for(lambda: has_record(out / "result_1.txt", K.EPOCH_START), "run 1's first epoch")
    kept = (out / "result_0.txt").read_bytes()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground job
    stdout, stderr = ended(proc, tree)
    return SimpleNamespace(out=out, args=args, proc=proc, stdout=stdout, stderr=stderr,
                           tree=tree, kept=kept)


def test_ctrl_c_stops_the_run_in_flight_and_keeps_the_finished_logs(interrupted):
    run = interrupted
    assert run.proc.returncode == 1 and "--resume" in run.stderr
    assert (run.out / "result_0.txt").read_bytes() == run.kept
    assert run_stop(run.out / "result_1.txt")["reason"] == \
        "interrupted: sciperf run received SIGINT"
    assert not (run.out / "result_2.txt").exists()
    assert "result_1.txt: aborted: interrupted" in one_line(run.stdout, "result_1.txt:")
    # Progress as it happened: one line per epoch of run 0, with the metric and the target.
    assert "epoch 2/2: eval_error " in run.stdout and "(target <= 0.23)" in run.stdout
    assert run.tree.alive() == []


def test_resume_reruns_what_did_not_finish_with_the_seeds_it_had(interrupted):
    run = interrupted
    r = sciperf(*run.args, "--resume")  # no --seed: the logs say which sequence they are of
    assert "Traceback" not in r.stdout + r.stderr
    assert (run.out / "result_0.txt").read_bytes() == run.kept, "a finished log is never rewritten"
    assert "resume: result_0.txt: kept" in r.stdout
    assert "resume: result_1.txt: run again (interrupted" in r.stdout
    seeds = [next(x["value"] for x in mllog_records(run.out / f"result_{i}.txt")
                  if x["key"] == K.SEED) for i in range(3)]
    assert seeds == [40, 41, 42]
    for i in (1, 2):
        assert run_stop(run.out / f"result_{i}.txt")["reason"].startswith(K.TARGET_MISSED)
    assert r.returncode == 1  # the runs missed the target


# -- 7. a run that never reaches its target -----------------------------------------------------

def test_a_run_that_misses_its_target_is_aborted_and_rejected(interrupted):
    log = interrupted.out / "result_0.txt"
    stop = run_stop(log)
    assert stop["status"] == K.ABORTED
    assert stop["reason"] == f"{K.TARGET_MISSED}: eval_error <= 0.23 within 2 epochs"
    assert "(exit 1," in one_line(interrupted.stdout, "result_0.txt:")
    check = sciperf("check", log)
    assert check.returncode == 1 and "SP203" in check.stdout, check.stdout + check.stderr


def test_sigterm_to_sciperf_run_stops_its_run(tmp_path, tiny_data):
    """A scheduler stops the job step with SIGTERM to `sciperf run` alone."""
    proc, tree, log = endless_run(tmp_path, tiny_data, "--runs", 2, np=1)
    tree.wait_for(lambda: has_record(log, K.RUN_START), "run_start")
    proc.terminate()
    out, err = ended(proc, tree)
    assert proc.returncode == 1 and "stopped by SIGTERM" in err
    assert run_stop(log)["reason"] == "interrupted: sciperf run received SIGTERM"
    assert not (tmp_path / "result_1.txt").exists()
    assert tree.alive() == []
