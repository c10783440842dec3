"""Diagnostic codes: every code the checker emits is in the table (compliance/codes.py), with a
title and a hint; the README's table is generated from it."""

from __future__ import annotations

import re

from compliance import codes
from tests.compliance.compliance_logs import REPO

SOURCES = ["parser.py", "rules.py", "api.py", "cli.py", "registry.py"]


def test_every_emitted_code_is_in_the_table():
    used = set()
    for name in SOURCES:
        used |= set(re.findall(r'"(SP\d{3})"', (REPO / "compliance" / name).read_text()))
    assert used and used <= set(codes.CODES), sorted(used - set(codes.CODES))


def test_the_table():
    for code, c in codes.CODES.items():
        assert re.fullmatch(r"SP[0-4]\d\d", code) and c.code == code
        assert c.severity in ("error", "warning") and c.title and c.hint.endswith((".", ")"))
    ours = [c for c in codes.CODES if c < "SP400"]
    assert ours == sorted(ours)


def test_make_fills_severity_and_hint():
    d = codes.make("SP103", "x", key="k", rule="common.yaml:k:REQ")
    assert (d.severity, d.hint, d.extra) == ("warning", codes.CODES["SP103"].hint,
                                             {"rule": "common.yaml:k:REQ"})
    assert codes.make("SP101", "x", hint="do this").hint == "do this"


def test_the_readme_table_is_the_generated_one():
    assert codes.markdown_table() in (REPO / "README.md").read_text()
