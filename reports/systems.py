"""System descriptions (ORG/systems/SYSTEM.json) as the results tables show them.

The columns are those of mlperf-logging's result summarizer, computed the same way, so the
system part of a row equals the summarizer's: `system` is the description's `system_name`,
counts are per-node counts times `number_of_nodes`, `notes` joins `hw_notes` and `sw_notes`.
"""

from __future__ import annotations

import json
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
    except (TypeError, ValueError):
        raise SystemDescError(
            f"{path}: field {name!r} must be a whole number, got {desc[name]!r}"
        ) from None


def load_system(org_dir: Path, system_id: str) -> SystemInfo:
    path = Path(org_dir) / "systems" / f"{system_id}.json"
    try:
        with open(path, encoding="utf-8") as f:
            desc = json.load(f)
    except FileNotFoundError:
        raise SystemDescError(f"{path}: missing (results/{system_id}/ has no system description)") from None
    except OSError as e:
        raise SystemDescError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SystemDescError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise SystemDescError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(desc, dict):
        raise SystemDescError(f"{path}: the description must be a JSON object")
    missing = [k for k in REQUIRED_FIELDS if k not in desc]
    if missing:
        raise SystemDescError(f"{path}: missing field(s) {', '.join(missing)}")
    nodes = _int_field(desc, "number_of_nodes", path)
    return SystemInfo(
        system_id=system_id,
        path=path,
        description=desc,
        submitter=str(desc["submitter"]),
        division=str(desc["division"]),
        availability=str(desc["status"]),
        system=str(desc["system_name"]),
        number_of_nodes=nodes,
        host_processor_model_name=str(desc["host_processor_model_name"]),
        host_processors_count=_int_field(desc, "host_processors_per_node", path) * nodes,
        accelerator_model_name=str(desc["accelerator_model_name"]),
        accelerators_count=_int_field(desc, "accelerators_per_node", path) * nodes,
        framework=_pretty_framework(str(desc["framework"])),
        notes=";".join(s for s in (desc["hw_notes"], desc["sw_notes"]) if s),
    )
