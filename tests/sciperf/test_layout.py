"""sciperf.layout: the one definition of the submission tree, and a finding's scope."""

from __future__ import annotations

from pathlib import Path

from sciperf import layout
from sciperf.layout import Scope


def test_paths():
    org = Path("subs/ACME")
    assert layout.result_dir(org, "box", layout.STRONG, "cosmoflow") == Path(
        "subs/ACME/results/box/strong/cosmoflow")
    assert layout.system_file(org, "box") == Path("subs/ACME/systems/box.json")
    assert layout.implementations_dir(org, "cosmoflow") == Path(
        "subs/ACME/benchmarks/cosmoflow/implementations")
    assert layout.result_name(3) == "result_3.txt"


def test_a_scope_covers_what_lies_in_it():
    result = Scope("ACME", "box", "strong", "cosmoflow")
    log = Scope("ACME", "box", "strong", "cosmoflow", "result_1.txt")
    assert Scope("ACME").covers(result) and Scope("ACME", "box").covers(result)
    assert result.covers(result) and not log.covers(result)
    assert not Scope("ACME", "other").covers(result)
    assert not Scope("OTHER").covers(result)
    assert not Scope("ACME", "box", "weak").covers(result)
    assert Scope("ACME", benchmark="cosmoflow").covers(result)


def test_finding_submissions(tmp_path):
    a = tmp_path / "round" / "a"
    (a / "results" / "box" / "strong").mkdir(parents=True)
    b = tmp_path / "round" / "b"
    (b / "results").mkdir(parents=True)
    (b / "systems").mkdir()
    (tmp_path / "round" / ".hidden" / "results" / "x" / "strong").mkdir(parents=True)
    assert layout.find_submissions(tmp_path / "round") == [a, b]
    assert layout.find_submissions(a) == [a]
    assert layout.find_submissions(a / "results") == []
