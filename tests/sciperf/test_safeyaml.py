"""sciperf.safeyaml: users' and submitters' YAML as plain data, without anchors and aliases (the
"billion laughs" that cost the report 46 s and 3 GB), and never a traceback for a bad file."""

from __future__ import annotations

import time

import pytest

from sciperf import safeyaml


def test_plain_data():
    assert safeyaml.loads("a: 1\nb: [x, 2.5]\nc: {d: null}\n") == {
        "a": 1, "b": ["x", 2.5], "c": {"d": None}}


def test_aliases_and_anchors_are_refused_with_the_line():
    with pytest.raises(safeyaml.YamlError, match=r"f.yaml:2: .*aliases"):
        safeyaml.loads("a: [1]\nb: *x\n", "f.yaml")
    with pytest.raises(safeyaml.YamlError, match=r"f.yaml:1: .*anchors"):
        safeyaml.loads("a: &x [1]\n", "f.yaml")


def test_a_billion_laughs_costs_nothing():
    laughs = ['a0: &a0 ["lol"]'] + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]"
                                    for i in range(1, 12)]
    start = time.perf_counter()
    with pytest.raises(safeyaml.YamlError, match="anchors"):
        safeyaml.loads("\n".join(laughs))
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("data, needle", [(b"\x89PNG\r\n\x1a\n\xff", "not UTF-8"),
                                          (b"a: 1\x00\n", "NUL"), (b"a: [1\n", "not valid YAML")])
def test_bad_files_are_named(tmp_path, data, needle):
    f = tmp_path / "x.yaml"
    f.write_bytes(data)
    with pytest.raises(safeyaml.YamlError, match=needle) as e:
        safeyaml.load_file(f)
    assert str(f) in str(e.value)


def test_a_byte_order_mark_is_allowed(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert safeyaml.load_file(f) == {"a": 1}


def test_a_missing_file(tmp_path):
    with pytest.raises(safeyaml.YamlError, match="cannot read"):
        safeyaml.load_file(tmp_path / "absent.yaml")
