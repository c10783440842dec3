"""Shared by the report tests (a plain module, imported by name): where the MLPerf HPC v2.0
corpus and the summarizer's outputs lie, a reader of the summarizer's CSVs, and writers of
small synthetic logs and system descriptions."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
V20 = CORPUS / "mlperf-hpc-v2.0"
EXPECTED = CORPUS / "expected" / "mlperf-hpc-v2.0"
ORGS = ("Dell", "Fujitsu+RIKEN", "HelmholtzAI", "NVIDIA", "tacc")


def summarizer_sections(path: Path) -> list[tuple[list[str], list[dict]]]:
    """(header, rows) of each table in a summarizer CSV: it appends its strong and weak tables
    to one file, each with its own header."""
    sections, current = [], None
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("division,"):
            current = [line]
            sections.append(current)
        elif current is not None:
            current.append(line)
    out = []
    for s in sections:
        reader = csv.DictReader(io.StringIO("".join(s)))
        rows = list(reader)
        out.append((reader.fieldnames, rows))
    return out


# A complete system description (the fields the tables are made from).
SYSTEM_FIELDS = {"submitter": "Org", "division": "closed", "status": "onprem", "system_name": "box",
                 "number_of_nodes": "2", "host_processors_per_node": "2",
                 "host_processor_model_name": "CPU", "host_processor_core_count": "8",
                 "accelerators_per_node": "4", "accelerator_model_name": "GPU",
                 "framework": "TensorFlow 2.15 commit hash = abc", "hw_notes": "", "sw_notes": "sw"}


def rec(key, value=None, t=0, **meta) -> str:
    """One :::MLLOG line."""
    return ":::MLLOG " + json.dumps({"namespace": "", "time_ms": t, "event_type": "POINT_IN_TIME",
                                     "key": key, "value": value, "metadata": meta})
