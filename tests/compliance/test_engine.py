"""The rule engine has mlperf-logging's semantics: each case runs a small rule folder over a small
log through our engine and through mlperf-logging's own checker, and the verdicts must agree;
then it asserts the findings we add (codes, lines, every failure reported)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from compliance import rules as rules_mod
from compliance.api import check_file
from compliance.rules import Ruleset, RulesError
from tests.compliance.compliance_logs import assert_agrees

FOLDER = "rs_1.0.0"


def line(key, value=None, metadata=None, t=0, event="POINT_IN_TIME") -> str:
    return ":::MLLOG " + json.dumps({"namespace": "", "time_ms": t, "event_type": event,
                                     "key": key, "value": value, "metadata": metadata or {}})


def run(tmp_path: Path, files: dict[str, str], lines: list[str], *, werror=False,
        compare=True):
    """Our result, after asserting that mlperf-logging's verdict is the same."""
    root = tmp_path / "rules"
    (root / FOLDER).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / FOLDER / name).write_text(textwrap.dedent(text))
    log = tmp_path / "result_0.txt"
    log.write_text("\n".join(lines) + "\n")
    ours = check_file("result_0.txt", log, Ruleset.load("test", root, FOLDER), werror=werror)
    if compare:
        assert_agrees(ours, log, f"{FOLDER}/common.yaml", root, werror=werror)
    return ours


def codes_of(result, severity=None):
    return sorted(d.code for d in result.diagnostics
                  if severity is None or d.severity == severity)


EXACTLY = """
- KEY:
    NAME: a
    REQ: EXACTLY_ONE
"""


def test_exactly_one(tmp_path):
    r = run(tmp_path, {"common.yaml": EXACTLY}, [line("b")])
    assert r.verdict == "fail" and codes_of(r) == ["SP101"]
    assert r.diagnostics[0].key == "a" and r.diagnostics[0].extra["rule"] == "common.yaml:a:REQ"


def test_exactly_one_repeated_with_the_same_value_is_a_warning(tmp_path):
    r = run(tmp_path, {"common.yaml": EXACTLY}, [line("a", 1), line("x"), line("a", 1.0)])
    assert r.verdict == "pass" and codes_of(r, "warning") == ["SP103"]
    assert r.diagnostics[0].line == 3  # the repeat
    r = run(tmp_path, {"common.yaml": EXACTLY}, [line("a", 1), line("a", 1)], werror=True)
    assert r.verdict == "fail" and codes_of(r, "error") == ["SP103"]


def test_exactly_one_repeated_with_different_values(tmp_path):
    r = run(tmp_path, {"common.yaml": EXACTLY}, [line("a", 1), line("a", 1), line("a", "x")])
    assert r.verdict == "fail" and codes_of(r) == ["SP102"]
    d = r.diagnostics[0]
    assert d.line == 3 and "3 times" in d.message and '"x"' in d.message


def test_at_least_forms(tmp_path):
    files = {"common.yaml": """
        - KEY:
            NAME: a
            REQ: AT_LEAST_ONE
        - KEY:
            NAME: b
            REQ: AT_LEAST(3)
        - KEY:
            NAME: c
            REQ: AT_LEAST_ONE_OR(d, e)
        - KEY:
            NAME: d
            REQ: OPTIONAL
        - KEY:
            NAME: e
        """}
    r = run(tmp_path, files, [line("b"), line("b")])
    assert codes_of(r) == ["SP104", "SP105", "SP106"]
    sp106 = next(d for d in r.diagnostics if d.code == "SP106")
    assert "c or d or e" in sp106.message
    r = run(tmp_path, files, [line("a"), line("b"), line("b"), line("b"), line("e")])
    assert r.verdict == "pass" and r.diagnostics == []


def test_every_check_failure_is_reported_with_its_line(tmp_path):
    files = {"common.yaml": """
        - KEY:
            NAME: a
            CHECK:
                - "v['value'] > 0"
                - "v['value'] < 10  # a is below 10"
        """}
    r = run(tmp_path, files, [line("a", -1), line("a", 5), line("a", 20), line("a", -2)])
    got = [(d.code, d.line, d.extra["rule"]) for d in r.diagnostics]
    assert got == [("SP201", 1, "common.yaml:a:CHECK[1]"), ("SP201", 3, "common.yaml:a:CHECK[2]"),
                   ("SP201", 4, "common.yaml:a:CHECK[1]")]
    assert "a is below 10" in r.diagnostics[1].message and "a = 20" in r.diagnostics[1].message


def test_state_pre_post_and_the_record_object(tmp_path):
    files = {"common.yaml": """
        - BEGIN:
            CODE: " s['n'] = 0 "
        - KEY:
            NAME: tick
            PRE: " s['n'] += 1 "
            CHECK:
                - "v['metadata']['n'] == s['n']"
                - "ll.timestamp == 1000.0 * s['n'] and ll.key == 'tick' and ll.lineno == s['n'] - 1"
                - "ll.full_string.startswith(':::MLLOG ')"
            POST: " s['last'] = v['value'] "
        """}
    lines = [line("tick", i, {"n": i}, t=1000 * i) for i in (1, 2, 3)]
    assert run(tmp_path, files, lines).verdict == "pass"
    lines[1] = line("tick", 2, {"n": 5}, t=2000)
    r = run(tmp_path, files, lines)
    assert [(d.code, d.line) for d in r.diagnostics] == [("SP201", 2)]
    assert "s['n'] = 2" in r.diagnostics[0].message  # the state the check read


def test_first_check_and_submission_keys_checked_once(tmp_path):
    files = {"common.yaml": """
        - KEY:
            NAME: a
            FIRST_CHECK: "v['value'] == 1"
        - KEY:
            NAME: submission_x
            REQ: AT_LEAST_ONE
            CHECK: "v['value'] == 'ok'"
        """}
    # only the first occurrence of each is checked: the later bad values pass
    r = run(tmp_path, files, [line("a", 1), line("a", 2), line("submission_x", "ok"),
                              line("submission_x", "bad")])
    assert r.verdict == "pass"
    r = run(tmp_path, files, [line("a", 2), line("a", 1), line("submission_x", "bad")])
    assert codes_of(r) == ["SP201", "SP202"]


def test_atleast_one_check(tmp_path):
    files = {"common.yaml": """
        - KEY:
            NAME: acc
            ATLEAST_ONE_CHECK: "v['value'] >= 0.9  # the target is never reached"
        """}
    assert run(tmp_path, files, [line("acc", 0.5), line("acc", 0.95)]).verdict == "pass"
    r = run(tmp_path, files, [line("acc", 0.5), line("x"), line("acc", 0.6)])
    assert codes_of(r) == ["SP203"]
    d = r.diagnostics[0]
    assert d.line == 3 and d.message.startswith("the target is never reached") and "0.6" in \
        d.message
    # a key that never occurs is REQ's business, not ATLEAST_ONE_CHECK's
    assert run(tmp_path, files, [line("x")]).verdict == "pass"


CHAIN = {
    "common.yaml": """
        - BEGIN:
            CODE: " s['mine'] = 1 "
        - KEY:
            NAME: division
            POST: " enqueue_config('rs_1.0.0/{}.yaml'.format(v['value'])) "
        - KEY:
            NAME: x
            REQ: EXACTLY_ONE
            CHECK: "v['value'] > 0"
        """,
    # names x: drops common.yaml's findings on x (REQ and CHECK)
    "lenient.yaml": """
        - KEY:
            NAME: x
        - KEY:
            NAME: division
            CHECK: "'mine' not in s"
        """,
    # its own fresh state: common.yaml's s['mine'] is not there
    "strict.yaml": """
        - BEGIN:
            CODE: " s['limit'] = 10 "
        - KEY:
            NAME: x
            REQ: EXACTLY_ONE
            CHECK: "v['value'] > s['limit']"
        """,
}


def test_enqueue_chain_override_and_fresh_state(tmp_path):
    r = run(tmp_path, CHAIN, [line("x", -1), line("division", "lenient")])
    assert r.verdict == "pass" and r.diagnostics == []
    r = run(tmp_path, CHAIN, [line("x", 5), line("division", "strict")])
    assert [(d.code, d.extra["rule"]) for d in r.diagnostics] == [("SP201",
                                                                   "strict.yaml:x:CHECK[1]")]
    r = run(tmp_path, CHAIN, [line("division", "strict")])  # REQ re-reported by strict.yaml
    assert [d.extra["rule"] for d in r.diagnostics] == ["strict.yaml:x:REQ"]


@pytest.mark.parametrize("order,verdict", [(("strict", "lenient"), "pass"),
                                           (("lenient", "strict"), "fail")])
def test_later_files_override_earlier_ones_in_queue_order(tmp_path, order, verdict):
    r = run(tmp_path, CHAIN, [line("x", 5), line("division", order[0]),
                              line("division", order[1])])
    assert r.verdict == verdict


def test_missing_rule_file_is_a_clear_diagnostic(tmp_path):
    r = run(tmp_path, CHAIN, [line("x", 5), line("division", "nosuch")])
    assert codes_of(r) == ["SP303"]
    d = r.diagnostics[0]
    assert d.line == 2 and d.key == "division" and "nosuch.yaml" in d.message
    assert "lenient" in d.message and "strict" in d.message  # what the ruleset knows


def test_log_values_never_reach_files_outside_the_ruleset(tmp_path):
    outside = tmp_path / "rules" / "evil.yaml"
    outside.parent.mkdir(parents=True)
    outside.write_text("- BEGIN:\n    CODE: \" raise SystemExit('read a file it must not') \"\n")
    r = run(tmp_path, CHAIN, [line("x", 5), line("division", "../evil")], compare=False)
    assert codes_of(r) == ["SP303"]


def test_end_block(tmp_path):
    files = {"common.yaml": """
        - KEY:
            NAME: a
            POST: " s['sum'] = s.get('sum', 0) + v['value'] "
        - END:
            PRE: " s['total'] = s.get('sum', 0) "
            CHECK:
                - "s['total'] < 10  # the values add up to 10 or more"
        """}
    assert run(tmp_path, files, [line("a", 3), line("a", 4)]).verdict == "pass"
    r = run(tmp_path, files, [line("a", 6), line("a", 4)])
    assert codes_of(r) == ["SP204"] and "add up to 10" in r.diagnostics[0].message


def test_enqueue_from_begin_and_end(tmp_path):
    files = {
        "common.yaml": """
            - BEGIN:
                CODE: " enqueue_config('rs_1.0.0/two.yaml') "
            - END:
                PRE: " enqueue_config('rs_1.0.0/three.yaml') "
            """,
        "two.yaml": """
            - KEY:
                NAME: a
                REQ: AT_LEAST(2)
            """,
        "three.yaml": """
            - KEY:
                NAME: b
                CHECK: "v['value'] == 1"
            """,
    }
    assert run(tmp_path, files, [line("a"), line("b", 1), line("a")]).verdict == "pass"
    r = run(tmp_path, files, [line("a"), line("b", 2)])
    assert sorted(d.extra["rule"] for d in r.diagnostics) == ["three.yaml:b:CHECK[1]",
                                                             "two.yaml:a:REQ"]


def test_rule_code_that_raises_is_a_failure(tmp_path):
    files = {"common.yaml": """
        - KEY:
            NAME: a
            CHECK: "v['value']['deep'] > 0"
        """}
    r = run(tmp_path, files, [line("a", 5)])
    assert codes_of(r) == ["SP205"] and "TypeError" in r.diagnostics[0].message
    # ATLEAST_ONE_CHECK and BEGIN are not guarded in mlperf-logging (a traceback): still a failure
    files = {"common.yaml": """
        - KEY:
            NAME: a
            ATLEAST_ONE_CHECK: "v['value'] > 0"
        """}
    assert codes_of(run(tmp_path, files, [line("a", "x"), line("a", 1)])) == ["SP205"]
    files = {"common.yaml": """
        - BEGIN:
            CODE: " s['x'] = 1 / 0 "
        """}
    assert codes_of(run(tmp_path, files, [line("a")])) == ["SP205"]


def test_snippets_see_ll_and_v_as_locals_only(tmp_path):
    # as in mlperf-logging, a nested scope (generator) cannot see `v`; names a BEGIN block binds
    # are its own, not the later snippets'
    files = {"common.yaml": """
        - BEGIN:
            CODE: " limit = 3 "
        - KEY:
            NAME: a
            CHECK:
                - "all(x > 0 for x in v['value'])"
        - KEY:
            NAME: b
            CHECK:
                - "any(v['value'] > x for x in [1])"
        - KEY:
            NAME: c
            CHECK:
                - "v['value'] < limit"
        """}
    r = run(tmp_path, files, [line("a", [1, 2]), line("b", 5), line("c", 1)])
    assert [(d.code, d.key) for d in r.diagnostics] == [("SP205", "b"), ("SP205", "c")]


def test_unknown_keys_and_event_types_are_not_rules_business(tmp_path):
    files = {"common.yaml": EXACTLY}
    r = run(tmp_path, files, [line("zzz", [1]), line("a", 1, event="INTERVAL_END"),
                              line("weird", {"x": None})])
    assert r.verdict == "pass"


def test_late_enqueue_reads_the_log_again(tmp_path, monkeypatch):
    """A file enqueued after the records kept in memory still sees every record."""
    monkeypatch.setattr(rules_mod, "PREFIX_RECORDS", 2)
    lines = [line("x", 5)] + [line("pad", i) for i in range(5)] + [line("division", "strict")]
    r = run(tmp_path, CHAIN, lines)
    assert [d.extra["rule"] for d in r.diagnostics] == ["strict.yaml:x:CHECK[1]"]
    assert r.diagnostics[0].line == 1


def test_a_ruleset_that_enqueues_itself_is_cut(tmp_path):
    files = {"common.yaml": """
        - BEGIN:
            CODE: " enqueue_config('rs_1.0.0/common.yaml') "
        """}
    r = run(tmp_path, files, [line("a")], compare=False)  # mlperf-logging would loop forever
    assert codes_of(r) == ["SP304"]


def test_no_state_leaks_between_logs(tmp_path):
    """mlperf-logging keeps its queue in a module global; ours lives in each check."""
    bad = run(tmp_path / "1", CHAIN, [line("x", 5), line("division", "nosuch")])
    good = run(tmp_path / "2", CHAIN, [line("x", 5), line("division", "lenient")])
    assert bad.verdict == "fail" and good.verdict == "pass" and good.diagnostics == []


@pytest.mark.parametrize("text,needle", [
    ("- KEY:\n    NAME: a\n    CHECK: \"v['value'] >\"\n", "does not compile"),
    ("- KEY:\n    NAME: a\n    REQ: SOMETIMES\n", "unknown REQ"),
    ("- BEGIN:\n    CODE: ' s = 1 '\n- BEGIN:\n    CODE: ' s = 2 '\n", "more than one BEGIN"),
    ("- KEY:\n    NAME: a\n    CHEK: \"True\"\n", "unknown fields"),
    ("- KEY:\n    REQ: EXACTLY_ONE\n", "has no NAME"),
    ("- KEY: [\n", "cannot read"),
    ("- KEY:\n    NAME: a\n    REQ: AT_LEAST_ONE_OR(b)\n", "not KEYs of this file"),
    ("- STEP:\n    NAME: a\n", "not one of BEGIN, KEY, END"),
])
def test_broken_rule_files_are_rules_errors(tmp_path, text, needle):
    d = tmp_path / FOLDER
    d.mkdir()
    (d / "common.yaml").write_text(text)
    with pytest.raises(RulesError, match=needle) as e:
        Ruleset.load("test", tmp_path, FOLDER)
    assert "common.yaml" in str(e.value)


def test_snippets_are_compiled_once_per_rule_file(tmp_path, monkeypatch):
    files = {"common.yaml": """
        - KEY:
            NAME: a
            CHECK: "v['value'] > 0"
        """}
    (tmp_path / FOLDER).mkdir()
    (tmp_path / FOLDER / "common.yaml").write_text(textwrap.dedent(files["common.yaml"]))
    rs = Ruleset.load("test", tmp_path, FOLDER)
    calls = []
    real_compile = compile
    monkeypatch.setattr("builtins.compile", lambda *a, **k: calls.append(a) or
                        real_compile(*a, **k))
    log = tmp_path / "result_0.txt"
    log.write_text("\n".join(line("a", i) for i in range(1, 50)) + "\n")
    assert check_file("result_0.txt", log, rs).verdict == "pass"
    assert calls == []
