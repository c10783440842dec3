"""Scoring pieces on small inputs: the olympic mean, the log scan, system descriptions."""

from __future__ import annotations

import json

import pytest

from tests.reports.report_helpers import SYSTEM_FIELDS, rec
from reports.logscan import LogReadError, scan_log
from reports.scoring import olympic_mean, score_strong, score_weak
from reports.systems import SystemDescError, load_system


def write_log(tmp_path, *lines, name="result_0.txt", sep="\n"):
    p = tmp_path / name
    p.write_text(sep.join(lines) + sep)
    return p


def run_log(tmp_path, start, stop, status="success", name="result_0.txt", nodes=2, accel=4):
    return scan_log(write_log(tmp_path, rec("number_of_nodes", nodes), rec("accelerators_per_node", accel),
                              rec("run_start", t=start), rec("run_stop", t=stop, status=status),
                              name=name))


class TestOlympicMean:
    def test_drops_fastest_and_slowest(self):
        assert olympic_mean([5.0, 1.0, 3.0, 4.0, 100.0], dropped=0) == (3.0 + 4.0 + 5.0) / 3

    def test_a_missed_run_is_the_slowest(self):
        # one run missed: only the fastest of the others is dropped
        assert olympic_mean([5.0, 1.0, 3.0, 4.0], dropped=1) == (3.0 + 4.0 + 5.0) / 3

    def test_nothing_left(self):
        assert olympic_mean([1.0, 2.0], dropped=0) is None

    def test_strong_score_refuses_two_missed_runs(self):
        s = score_strong([], missed=2)
        assert s.time_to_train_minutes is None and "2 runs missed the target" in s.reason


class TestScanLog:
    def test_times_and_keys(self, tmp_path):
        s = run_log(tmp_path, 60_000, 180_000)
        assert (s.run_start_ms, s.run_stop_ms, s.status) == (60_000.0, 180_000.0, "success")
        assert s.time_to_train_minutes == 2.0 and s.instance_scale == 8 and s.finished
        assert (s.run_start_line, s.run_stop_line) == (3, 4)

    def test_prefixes_cr_line_ends_and_noise(self, tmp_path):
        lines = ["[1,0]<stdout>: " + rec("run_start", t=1000),
                 'free text mentioning "key": "run_stop" is no record',
                 rec("submission_benchmark", 'a "key": "run_stop" inside a value'),
                 ':::MLLOG {"key": "run_stop", broken json',
                 "junk :::MLLOG x " + rec("run_stop", t=61_000, status="success")]
        s = scan_log(write_log(tmp_path, *lines, sep="\r"))
        assert (s.run_start_ms, s.run_stop_ms) == (1000.0, 61_000.0)
        assert s.submission["submission_benchmark"].startswith("a ")

    def test_missing_run_stop_is_not_finished(self, tmp_path):
        s = scan_log(write_log(tmp_path, rec("run_start", t=0)))
        assert s.run_stop_ms is None and not s.finished

    def test_aborted_is_not_finished(self, tmp_path):
        assert not run_log(tmp_path, 0, 10, status="aborted").finished

    def test_bad_time_names_file_and_line(self, tmp_path):
        p = write_log(tmp_path, rec("cache_clear"), rec("run_start", t="soon"))
        with pytest.raises(LogReadError, match=r"result_0.txt:2: run_start has no numeric time_ms"):
            scan_log(p)

    def test_unreadable(self, tmp_path):
        with pytest.raises(LogReadError, match="cannot read"):
            scan_log(tmp_path / "absent.txt")


class TestScoreWeak:
    def test_span_count_and_throughput(self, tmp_path):
        runs = [run_log(tmp_path, 0, 120_000, name="result_0.txt"),
                run_log(tmp_path, 30_000, 240_000, name="result_1.txt")]
        w = score_weak(runs, missed=0, required=2)
        assert (w.number_of_models, w.instance_scale, w.time_to_train_all_minutes) == (2, 8, 4.0)
        assert w.models_per_minute == 0.5

    def test_too_few(self, tmp_path):
        w = score_weak([run_log(tmp_path, 0, 1)], missed=0, required=2)
        assert w.time_to_train_all_minutes is None and "needs at least 2" in w.reason

    def test_cpu_only_instance_scale_counts_nodes(self, tmp_path):
        assert run_log(tmp_path, 0, 1, nodes=128, accel=0).instance_scale == 128


class TestSystems:
    FIELDS = SYSTEM_FIELDS

    def write(self, tmp_path, text):
        (tmp_path / "systems").mkdir(exist_ok=True)
        (tmp_path / "systems" / "box.json").write_text(text)

    def test_columns_as_the_summarizer(self, tmp_path):
        self.write(tmp_path, json.dumps(self.FIELDS))
        s = load_system(tmp_path, "box")
        assert (s.host_processors_count, s.accelerators_count, s.number_of_nodes) == (4, 8, 2)
        assert s.framework == "TensorFlow 2.15" and s.notes == "sw"

    def test_missing_field(self, tmp_path):
        self.write(tmp_path, json.dumps({k: v for k, v in self.FIELDS.items() if k != "framework"}))
        with pytest.raises(SystemDescError, match=r"box.json: missing field\(s\) framework"):
            load_system(tmp_path, "box")

    def test_bad_json_names_line(self, tmp_path):
        self.write(tmp_path, '{\n  "submitter": "Org",\n  oops\n}')
        with pytest.raises(SystemDescError, match=r"box.json:3: not valid JSON"):
            load_system(tmp_path, "box")

    def test_nodes_not_a_number(self, tmp_path):
        self.write(tmp_path, json.dumps({**self.FIELDS, "number_of_nodes": "many"}))
        with pytest.raises(SystemDescError, match="'number_of_nodes' must be a whole number"):
            load_system(tmp_path, "box")

    def test_absent(self, tmp_path):
        with pytest.raises(SystemDescError, match="missing"):
            load_system(tmp_path, "box")


class TestUntrustedValues:
    def test_nan_time_is_refused(self, tmp_path):
        p = tmp_path / "result_0.txt"
        p.write_text(':::MLLOG {"namespace": "", "time_ms": NaN, "event_type": "INTERVAL_START", '
                     '"key": "run_start", "value": null, "metadata": {}}\n')
        with pytest.raises(LogReadError, match="result_0.txt:1: run_start has no numeric"):
            scan_log(p)

    def test_non_numeric_batch_size_is_ignored(self, tmp_path):
        s = scan_log(write_log(tmp_path, rec("global_batch_size", "big"),
                               rec("global_batch_size", 32)))
        assert s.global_batch_size == 32
