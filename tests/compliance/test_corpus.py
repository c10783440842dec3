"""The real MLPerf HPC v2.0 logs: our verdicts equal mlperf-logging 4.1.68's, as recorded in
../shared/corpus/expected/mlperf-hpc-v2.0/compliance-verdicts.tsv."""

from __future__ import annotations

import pytest

from compliance import registry
from compliance.api import check_file, check_logs
from tests.compliance.compliance_logs import EXPECTED, assert_agrees


def expected_verdicts() -> dict[str, str]:
    path = EXPECTED / "compliance-verdicts.tsv"
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    return {rel: verdict.lower() for rel, verdict in rows}


def test_verdicts_equal_mlperf_loggings_on_every_v2_log(corpus):
    expected = expected_verdicts()
    assert len(expected) == 1347
    results = check_logs([corpus], ruleset="hpc-2.0.0", jobs=2)
    got = {r.path: r.verdict for r in results}
    assert got == expected
    assert sum(v == "fail" for v in got.values()) == 7
    for r in results:
        assert r.ruleset == "hpc-2.0.0" and r.benchmark in ("cosmoflow", "deepcam", "oc20")
        if r.verdict == "fail":
            # each failure says which rule, and (where there is one) which line
            assert r.diagnostics and all(d.extra.get("rule") and d.key for d in r.diagnostics)
            assert {d.code for d in r.diagnostics} <= {"SP101", "SP203"}
        else:
            assert [d for d in r.diagnostics if d.severity == "error"] == []


def test_mlperf_logs_name_no_ruleset(corpus):
    (log,) = [p for p in sorted(corpus.rglob("result_0.txt"))][:1]
    r = check_file("result_0.txt", log)
    assert r.verdict == "fail" and [d.code for d in r.diagnostics] == ["SP301"]
    assert not r.checked and "--ruleset hpc-2.0.0" in r.diagnostics[0].message


@pytest.mark.parametrize("ruleset", ["hpc-1.0.0", "hpc-3.0.0"])
def test_other_hpc_rulesets_agree_with_mlperf_logging_on_a_sample(corpus, ruleset):
    folder = registry.location(ruleset)[1]
    for log in sorted(corpus.rglob("result_*.txt"))[::40]:
        ours = check_file(log.name, log, ruleset)
        assert_agrees(ours, log, f"{folder}/common.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("ruleset", ["hpc-1.0.0", "hpc-3.0.0"])
def test_other_hpc_rulesets_agree_with_mlperf_logging_on_every_log(corpus, ruleset):
    folder = registry.location(ruleset)[1]
    for log in sorted(corpus.rglob("result_*.txt")):
        ours = check_file(log.name, log, ruleset)
        assert_agrees(ours, log, f"{folder}/common.yaml")


def test_the_rulesets_are_mlperf_loggings_own_files():
    for name in ("hpc-1.0.0", "hpc-2.0.0", "hpc-3.0.0"):
        root, folder = registry.location(name)
        assert root == registry.MLPERF_RULES and "site-packages" in str(root)
        assert registry.load(name).name == name
    assert registry.location("sciperf-1.0.0")[0] == registry.SCIPERF_RULES
