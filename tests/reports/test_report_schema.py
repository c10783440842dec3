"""docs/report.md lists the fields of results.json, rejected.json and inference.json exactly as
reports/schema.py defines them (the output of `python -m reports.schema`)."""

from __future__ import annotations

import pytest

from reports.schema import INFERENCE_FIELDS, REJECTED_FIELDS, RESULT_FIELDS, fields_markdown
from tests.reports.report_helpers import REPO


@pytest.mark.parametrize("fields", [RESULT_FIELDS, REJECTED_FIELDS, INFERENCE_FIELDS],
                         ids=["results", "rejected", "inference"])
def test_the_documented_fields_are_the_schema(fields):
    assert fields_markdown(fields) in (REPO / "docs" / "report.md").read_text()
