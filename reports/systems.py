"""System descriptions (ORG/systems/SYSTEM.json) as the results tables show them.

The columns are those of mlperf-logging's result summarizer, computed the same way, so the
system part of a row equals the summarizer's: `system` is the description's `system_name`,
counts are per-node counts times `number_of_nodes`, `notes` joins `hw_notes` and `sw_notes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Fields the table columns are made from; a description lacking one cannot be tabulated.
REQUIRED_FIELDS = (
    "submitter", "division", "status", "system_name", "number_of_nodes",
    "host_processors_per_node", "host_processor_model_name", "host_processor_core_count",
    "accelerators_per_node", "accelerator_model_name", "framework", "hw_notes", "sw_notes",
)


class SystemDescError(Exception):
    """A system description the tables cannot use; the message names the file and the field."""


@dataclass
class SystemInfo:
    system_id: str  # the file's stem: ORG/systems/<system_id>.json, ORG/results/<system_id>/
    path: Path
    description: dict = field(repr=False)  # the JSON as submitted, for the HTML details
    submitter: str = ""
    division: str = ""
    availability: str = ""
    system: str = ""  # the description's system_name
    number_of_nodes: int = 0
    host_processor_model_name: str = ""
    host_processors_count: int = 0
    accelerator_model_name: str = ""
    accelerators_count: int = 0
    framework: str = ""
    notes: str = ""

    def columns(self) -> dict:
        return {
            "submitter": self.submitter,
            "system": self.system,
            "system_id": self.system_id,
            "division": self.division,
            "availability": self.availability,
            "number_of_nodes": self.number_of_nodes,
            "host_processor_model_name": self.host_processor_model_name,
            "host_processors_count": self.host_processors_count,
            "accelerator_model_name": self.accelerator_model_name,
            "accelerators_count": self.accelerators_count,
            "framework": self.framework,
            "notes": self.notes,
        }


def _pretty_framework(framework: str) -> str:
    # As the summarizer: TensorFlow builds drop their " commit hash = ..." suffix.
    if "TensorFlow" in framework:
        m = re.search(r" commit hash = .*", framework)
        if m:
            return framework.replace(m.group(0), "")
    return framework


def _int_field(desc: dict, name: str, path: Path) -> int:
    try:
        return int(desc[name])
    except (TypeError, ValueError, OverflowError):
        raise SystemDescError(
            f"{path}: field {name!r} must be a whole number, got {desc[name]!r}"
        ) from None


def system_info(system_id: str, path: Path, desc) -> SystemInfo:
    """The table columns of a description as the package scan read it (a SystemDoc, or None
    when the system has none). Raises SystemDescError naming the file and the field."""
    if desc is None:
        raise SystemDescError(f"{path}: missing (results/{system_id}/ has no system description)")
    doc = desc.doc
    if doc is None:
        why = desc.problems[0][0] if desc.problems else "not a JSON object"
        raise SystemDescError(f"{path}: {why}")
    missing = [k for k in REQUIRED_FIELDS if k not in doc]
    if missing:
        raise SystemDescError(f"{path}: missing field(s) {', '.join(missing)}")
    nodes = _int_field(doc, "number_of_nodes", path)
    return SystemInfo(
        system_id=system_id,
        path=path,
        description=doc,
        submitter=str(doc["submitter"]),
        division=str(doc["division"]),
        availability=str(doc["status"]),
        system=str(doc["system_name"]),
        number_of_nodes=nodes,
        host_processor_model_name=str(doc["host_processor_model_name"]),
        host_processors_count=_int_field(doc, "host_processors_per_node", path) * nodes,
        accelerator_model_name=str(doc["accelerator_model_name"]),
        accelerators_count=_int_field(doc, "accelerators_per_node", path) * nodes,
        framework=_pretty_framework(str(doc["framework"])),
        notes=";".join(str(s) for s in (doc["hw_notes"], doc["sw_notes"]) if s),
    )
