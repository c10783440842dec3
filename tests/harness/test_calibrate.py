"""tools/calibrate: epochs to each candidate target, per run and as min / median / max."""

from __future__ import annotations

import pytest

from tests.compliance.compliance_logs import benchmark_run, write_log
from tools import calibrate


def test_epochs_to_target_per_run_and_summary(tmp_path, capsys):
    write_log(tmp_path / "result_0.txt", benchmark_run("cloudmask", values=(0.90, 0.951, 0.96)))
    write_log(tmp_path / "result_1.txt", benchmark_run("cloudmask", values=(0.93, 0.94, 0.955)))
    (tmp_path / "result_2.txt").write_text("")  # a run that never started: skipped, said why
    assert calibrate.main([str(tmp_path), "--target", "0.95", "--target", "0.96"]) == 0
    out, err = capsys.readouterr()
    assert "result_2.txt: skipped" in err
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["7", "2", "3"]  # seed, epochs to 0.95, epochs to 0.96
    assert lines[2].split()[:3] == ["7", "3", "-"]
    assert "2 / 2.5 / 3 (2 of 2)" in lines[3] and "3 / 3 / 3 (1 of 2)" in lines[3]


def test_lower_is_better_and_markdown(tmp_path, capsys):
    write_log(tmp_path / "result_0.txt", benchmark_run("cosmoflow", values=(0.5, 0.3, 0.2)))
    assert calibrate.main([str(tmp_path), "--target", "0.25", "--markdown"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| seed | epochs to 0.25 |") and out[2].startswith("| 7 | 3 |")


def test_no_logs_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="no result_"):
        calibrate.main([str(tmp_path), "--target", "1"])
