"""The guard that fails the run when a test writes into ../shared/corpus (tests/conftest.py
compares a snapshot taken when the session starts with the tree when it ends)."""

from __future__ import annotations

from tests import corpus_guard


def test_the_guard_sees_every_kind_of_change(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"x")
    (tmp_path / "a" / "gone.txt").write_bytes(b"g")
    before = corpus_guard.snapshot(tmp_path)
    assert corpus_guard.changes(before, corpus_guard.snapshot(tmp_path)) == []
    (tmp_path / "a" / "scaling.json").write_text("{}")
    (tmp_path / "a" / "x.txt").write_bytes(b"y")
    (tmp_path / "a" / "gone.txt").unlink()
    assert corpus_guard.changes(before, corpus_guard.snapshot(tmp_path)) == [
        "new file a/scaling.json", "removed file a/gone.txt", "changed file a/x.txt"]
