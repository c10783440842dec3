"""The pieces that make runs survive faults, each alone and in seconds: fault notices, the
signal watch, the result file that refuses to lose records, the supervision of a run's process
tree, and `--resume`'s reading of the logs already there. The same faults in real training
runs: test_run_faults.py."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from reference_implementations.common import faults
from reference_implementations.common.mllogger import LogWriteError, RankLogger
from sciperf import vocab as K
from tests.support import REPO, env, mllog_records, sciperf
from tools import supervise
from tools.launcher import DEFAULT_TIMEOUT_MINUTES, ResumeError, plan_resume


# -- notices ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, words", [(-9, "was killed by SIGKILL"),
                                         (137, "was killed by SIGKILL"),
                                         (143, "was killed by SIGTERM"),
                                         (1, "exited with code 1"),
                                         (255, "exited with code 255")])
def test_exit_codes_are_told_as_signals_or_codes(code, words):
    assert faults.describe_exit(code) == words


def test_the_earliest_notice_is_the_cause(tmp_path, monkeypatch):
    assert faults.first(tmp_path) is None
    faults.post("rank 1 was killed by SIGKILL", "rank-1", tmp_path)
    faults.post("rank 0 exited with code 1", "rank-0", tmp_path)
    assert faults.first(tmp_path) == "rank 1 was killed by SIGKILL"
    monkeypatch.setenv(faults.FAULT_DIR_ENV, str(tmp_path))
    assert faults.wait_first(0) == "rank 1 was killed by SIGKILL"
    monkeypatch.delenv(faults.FAULT_DIR_ENV)
    faults.post("nowhere to go", "x")  # without a folder: nothing, and no error
    assert faults.wait_first(5) is None


# -- the signal watch and the result file -------------------------------------------------------

def run_script(code: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_a_signal_is_handled_while_the_main_thread_is_blocked(tmp_path):
    """The main thread waits for good (as on a collective whose peer hangs); SIGTERM still
    ends the process at once with run_stop written."""
    log = tmp_path / "result_0.txt"
    proc = run_script(f"""
        import os, threading
        from reference_implementations.common import faults
        from reference_implementations.common.mllogger import RankLogger
        log = RankLogger(0, {str(log)!r})
        log.start("run_start")
        def stop(signum):
            log.finish("aborted", f"signal {{signum}}")
            os._exit(1)
        faults.SignalWatch(stop)
        print("ready", flush=True)
        threading.Event().wait()  # never set: resumes after every signal handler
        """)
    try:
        assert "ready\n" in iter(proc.stdout.readline, "")  # after the run_start record
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    stop = mllog_records(log)[-1]
    assert stop["key"] == K.RUN_STOP and stop["metadata"]["reason"] == f"signal {signal.SIGTERM}"


def test_a_record_that_cannot_be_written_raises_naming_the_file(tmp_path):
    log = tmp_path / "result_0.txt"
    proc = run_script(f"""
        from reference_implementations.common.mllogger import LogWriteError, RankLogger
        log = RankLogger(0, {str(log)!r})
        n = 0
        try:
            while True:
                log.event("seed", n)
                n += 1
        except LogWriteError as e:
            print(e, n, flush=True)
        log.finish("aborted", "the log")  # goes to stdout only
        """, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000)))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err, err
    said = [ln for ln in out.splitlines() if "cannot write" in ln]
    assert said and said[0].startswith(f"cannot write the log {log}: File too large"), out[-500:]
    written = int(said[0].split()[-1])
    text = log.read_text()
    assert len(text) <= 5000 and text.endswith("\n"), "cut back to the last whole record"
    assert [r["value"] for r in mllog_records(log)] == list(range(written))
    assert '"run_stop"' in out.splitlines()[-1] and "run_stop" not in text


def test_a_log_that_cannot_be_created_is_an_error_naming_it(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(LogWriteError, match="cannot write the log .*file/result_0.txt"):
        RankLogger(0, tmp_path / "file" / "result_0.txt")
    assert not RankLogger(1, tmp_path / "other.txt").enabled  # only rank 0 writes
    assert not (tmp_path / "other.txt").exists()


def test_run_stop_is_written_once_whoever_comes_first(tmp_path):
    log = RankLogger(0, tmp_path / "result_0.txt")
    assert log.finish(K.ABORTED, "first") is True
    assert log.finish(K.SUCCESS) is False and log.status == K.ABORTED
    stops = [r for r in mllog_records(tmp_path / "result_0.txt") if r["key"] == K.RUN_STOP]
    assert [s["metadata"]["reason"] for s in stops] == ["first"]


# -- supervision of a run's processes -----------------------------------------------------------

def supervised(tmp_path, code: str, timeout_s=None) -> supervise.Supervised:
    shown = []
    run = supervise.Supervised([sys.executable, "-c", textwrap.dedent(code)],
                               tmp_path / "result_0.txt", env(), shown.append, "",
                               timeout_s)
    run.shown = shown
    return run


def test_a_run_past_its_timeout_is_stopped_and_told_why(tmp_path):
    run = supervised(tmp_path, """
        import time
        print("sciperf: epoch 1/9: eval_error 0.5 (target <= 0.2), 1.0 s", flush=True)
        print(':::MLLOG {"key": "not shown"}', flush=True)
        time.sleep(600)
        """, timeout_s=2)
    outcome = run.finish()
    assert outcome.status is None and outcome.returncode == -signal.SIGTERM
    assert "result_0.txt: not written: timeout: the run did not end within" in outcome.summary
    assert run.shown == ["  epoch 1/9: eval_error 0.5 (target <= 0.2), 1.0 s"]


def test_what_ignores_sigterm_is_killed_and_no_helper_is_left(tmp_path, monkeypatch):
    """The launcher ignores SIGTERM; a helper in a session of its own (as Horovod's per-rank
    middlemen) would outlive it. Neither is left once the run is over."""
    monkeypatch.setattr(supervise, "GRACE_S", 1.0)
    run = supervised(tmp_path, """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         start_new_session=True)
        print("started", flush=True)
        time.sleep(600)
        """)
    while len(run.tree) < 2:  # the launcher and its helper
        run.poll()
        time.sleep(0.1)
    run.stop("interrupted: test")
    outcome = run.finish()
    assert run.killed and outcome.returncode == -signal.SIGKILL
    assert not [p for p in run.tree.values() if supervise._alive(p)]


# -- --resume -----------------------------------------------------------------------------------

def write_log(path, seed=None, status=None, reason=None, benchmark="cosmoflow"):
    log = RankLogger(0, path)
    log.event(K.SUBMISSION_BENCHMARK, benchmark)
    if seed is not None:
        log.event(K.SEED, seed)
    if status:  # else a run killed before run_stop: the file simply ends
        log.finish(status, reason)


def test_resume_keeps_finished_runs_and_reruns_the_others_with_their_seeds(tmp_path):
    write_log(tmp_path / "result_0.txt", 50, K.SUCCESS)
    write_log(tmp_path / "result_1.txt", 51, K.ABORTED, f"{K.TARGET_MISSED}: eval_error <= 1")
    write_log(tmp_path / "result_2.txt", 52, K.ABORTED, "interrupted: sciperf run received SIGINT")
    write_log(tmp_path / "result_3.txt", None)  # stopped before it logged its seed
    seed, todo, notes = plan_resume(tmp_path, "cosmoflow", 5, None)
    assert seed == 50 and todo == [2, 3, 4]
    assert notes[0] == "result_0.txt: kept (success)"
    assert notes[2] == "result_2.txt: run again (interrupted: sciperf run received SIGINT)"
    assert notes[3] == "result_3.txt: run again (no run_stop)"
    assert plan_resume(tmp_path, "cosmoflow", 5, 50)[:2] == (50, [2, 3, 4])


def test_resume_refuses_logs_that_are_not_of_the_sequence(tmp_path):
    write_log(tmp_path / "result_0.txt", 50, K.SUCCESS)
    with pytest.raises(ResumeError, match="result_0.txt .* starting at 50, not --seed 7"):
        plan_resume(tmp_path, "cosmoflow", 3, 7)
    write_log(tmp_path / "result_1.txt", 60, K.SUCCESS)
    with pytest.raises(ResumeError, match="not of one seed sequence"):
        plan_resume(tmp_path, "cosmoflow", 3, None)
    with pytest.raises(ResumeError, match="a log of cosmoflow, not cloudmask"):
        plan_resume(tmp_path, "cloudmask", 3, None)


def test_resume_without_any_seed_starts_a_new_sequence(tmp_path):
    write_log(tmp_path / "result_0.txt", None)
    assert plan_resume(tmp_path, "cosmoflow", 2, None) == (None, [0, 1],
                                                           ["result_0.txt: run again (no run_stop)"])


def test_run_flags_that_do_not_go_together_are_refused(tmp_path):
    r = sciperf("run", "cosmoflow", "--models", 2, "--resume", "--out", tmp_path)
    assert r.returncode == 2 and "--resume is for strong-scaling runs" in r.stderr
    r = sciperf("run", "cosmoflow", "--timeout", -1, "--out", tmp_path)
    assert r.returncode == 2 and "--timeout" in r.stderr
    help_text = " ".join(sciperf("run", "--help").stdout.split())
    for scale, minutes in DEFAULT_TIMEOUT_MINUTES.items():
        assert f"{scale} {minutes}" in help_text
    assert set(DEFAULT_TIMEOUT_MINUTES) == set(K.SCALES)
    assert os.environ.get(faults.FAULT_DIR_ENV) is None  # tests never inherit a run's folder
