"""Diagnostic codes: every code the checker and the report emit is in the one registry
(compliance/codes.py), with a title and a hint; the docs' tables are generated from it."""

from __future__ import annotations

import re

from compliance import codes
from tests.compliance.compliance_logs import REPO

SOURCES = [*sorted((REPO / "compliance").glob("*.py")), *sorted((REPO / "reports").glob("*.py"))]


def test_every_emitted_code_is_in_the_table():
    used = set()
    for path in SOURCES:
        used |= set(re.findall(r'"((?:SP|RP)\d{3})"', path.read_text()))
    assert {"SP001", "SP409", "RP001"} <= used <= set(codes.CODES), sorted(used - set(codes.CODES))


def test_the_table():
    for code, c in codes.CODES.items():
        assert re.fullmatch(r"SP[0-5]\d\d|RP\d{3}", code) and c.code == code
        assert c.severity in ("error", "warning") and c.title and c.hint.endswith((".", ")"))
    ours = [c for c in codes.CODES if c.startswith("SP") and c < "SP400"]
    assert ours == sorted(ours)


def test_make_fills_severity_and_hint():
    d = codes.make("SP103", "x", key="k", rule="common.yaml:k:REQ")
    assert (d.severity, d.hint, d.extra) == ("warning", codes.CODES["SP103"].hint,
                                             {"rule": "common.yaml:k:REQ"})
    assert codes.make("SP101", "x", hint="do this").hint == "do this"


def test_the_docs_tables_are_the_generated_ones():
    assert codes.markdown_table("SP") in (REPO / "docs" / "check-compliance.md").read_text()
    assert codes.markdown_table("RP") in (REPO / "docs" / "report.md").read_text()
