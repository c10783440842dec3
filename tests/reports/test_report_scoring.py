"""Scoring pieces on small inputs: the olympic mean, the run summaries scores are made from,
system descriptions."""

from __future__ import annotations

import json

import pytest

from compliance.api import summarize_file
from compliance.sysdesc import read_system
from reports.scoring import olympic_mean, score_strong, score_weak
from reports.systems import SystemDescError, system_info
from tests.reports.report_helpers import SYSTEM_FIELDS, rec


def write_log(tmp_path, *lines, name="result_0.txt", sep="\n"):
    p = tmp_path / name
    p.write_text(sep.join(lines) + sep)
    return p


def run_log(tmp_path, start, stop, status="success", name="result_0.txt", nodes=2, accel=4):
    return summarize_file(write_log(
        tmp_path, rec("number_of_nodes", nodes), rec("accelerators_per_node", accel),
        rec("run_start", t=start), rec("run_stop", t=stop, status=status), name=name))


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


class TestRunSummary:
    def test_times_and_keys(self, tmp_path):
        s = run_log(tmp_path, 60_000, 180_000)
        assert (s.run_start.time_ms, s.run_stop.time_ms, s.status) == (60_000.0, 180_000.0,
                                                                       "success")
        assert s.time_to_train_minutes == 2.0 and s.instance_scale == 8 and s.finished
        assert (s.run_start.line, s.run_stop.line) == (3, 4)

    def test_prefixes_cr_line_ends_and_noise(self, tmp_path):
        lines = ["[1,0]<stdout>: " + rec("run_start", t=1000),
                 'free text mentioning "key": "run_stop" is no record',
                 rec("submission_benchmark", 'a "key": "run_stop" inside a value'),
                 ':::MLLOG {"key": "run_stop", broken json',
                 "junk :::MLLOG x " + rec("run_stop", t=61_000, status="success")]
        s = summarize_file(write_log(tmp_path, *lines, sep="\r"))
        assert (s.run_start.time_ms, s.run_stop.time_ms) == (1000.0, 61_000.0)
        assert s.value("submission_benchmark").startswith("a ")

    def test_missing_run_stop_is_not_finished(self, tmp_path):
        s = summarize_file(write_log(tmp_path, rec("run_start", t=0)))
        assert s.run_stop is None and not s.finished

    def test_aborted_is_not_finished(self, tmp_path):
        assert not run_log(tmp_path, 0, 10, status="aborted").finished

    @pytest.mark.parametrize("time_ms", ['"soon"', "NaN", "Infinity", "1e400"])
    def test_a_time_that_is_no_number_is_no_run_start(self, tmp_path, time_ms):
        """The parser refuses the record (SP004), so scoring never sees it."""
        line = rec("run_start", t=0).replace('"time_ms": 0', f'"time_ms": {time_ms}')
        s = summarize_file(write_log(tmp_path, rec("cache_clear"), line))
        assert s.records == 1 and s.run_start is None

    def test_unreadable(self, tmp_path):
        s = summarize_file(tmp_path / "absent.txt")
        assert not s.logged and s.run_start is None

    def test_non_numeric_batch_size_is_ignored(self, tmp_path):
        s = summarize_file(write_log(tmp_path, rec("global_batch_size", "big"),
                                     rec("global_batch_size", 32)))
        assert s.global_batch_size == 32


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

    def info(self, tmp_path, text):
        path = tmp_path / "systems" / "box.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return system_info("box", path, read_system(path))

    def test_columns_as_the_summarizer(self, tmp_path):
        s = self.info(tmp_path, json.dumps(self.FIELDS))
        assert (s.host_processors_count, s.accelerators_count, s.number_of_nodes) == (4, 8, 2)
        assert s.framework == "TensorFlow 2.15" and s.notes == "sw"

    def test_missing_field(self, tmp_path):
        with pytest.raises(SystemDescError, match=r"box.json: missing field\(s\) framework"):
            self.info(tmp_path, json.dumps({k: v for k, v in self.FIELDS.items()
                                            if k != "framework"}))

    def test_bad_json_names_the_file(self, tmp_path):
        with pytest.raises(SystemDescError, match=r"box.json: not valid JSON"):
            self.info(tmp_path, '{\n  "submitter": "Org",\n  oops\n}')

    def test_nested_too_deeply(self, tmp_path):
        with pytest.raises(SystemDescError, match="nested too deeply"):
            self.info(tmp_path, "[" * 1500 + "]" * 1500)

    def test_nodes_not_a_number(self, tmp_path):
        with pytest.raises(SystemDescError, match="'number_of_nodes' must be a whole number"):
            self.info(tmp_path, json.dumps({**self.FIELDS, "number_of_nodes": "many"}))

    def test_absent(self, tmp_path):
        with pytest.raises(SystemDescError, match="missing"):
            system_info("box", tmp_path / "systems" / "box.json", None)
