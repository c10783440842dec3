"""System descriptions (ORG/systems/SYSTEM.json): read once, checked against the MLPerf HPC
field set (compliance/schemas/system_description.json); the package checks report the problems
(SP407) and the report tabulates the parsed document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "system_description.json"


@dataclass
class SystemDoc:
    """One description as read: the JSON object (None when it is not one) and every problem
    found in it, as (message, line, key, hint)."""
    path: Path
    doc: dict | None
    problems: list[tuple] = field(default_factory=list)
    text: str = field(default="", repr=False)


def read_system(path: Path) -> SystemDoc:
    """Read and validate one description; never raises on its content."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        return SystemDoc(path, None, [(f"cannot read the system description: "
                                       f"{e.strerror or e}", None, None, None)])
    except UnicodeDecodeError as e:
        return SystemDoc(path, None, [(f"not UTF-8 text ({e.reason} at byte {e.start + 1})",
                                       None, None, None)])
    dupes: list[str] = []

    def no_dupes(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                dupes.append(k)
            seen.add(k)
        return dict(pairs)

    try:
        doc = json.loads(text, object_pairs_hook=no_dupes)
    except json.JSONDecodeError as e:
        return SystemDoc(path, None, [(f"not valid JSON: {e.msg} (column {e.colno})", e.lineno,
                                       None, None)])
    except RecursionError:
        return SystemDoc(path, None, [("nested too deeply to be a system description (a "
                                       "description is one object of text fields)", None,
                                       None, None)])
    problems = [(f"field {k!r} appears more than once (JSON keeps the last)",
                 field_line(text, k, last=True), k, None) for k in dupes]
    if not isinstance(doc, dict):
        problems.append((f"holds a JSON {_json_type(doc)}, not an object of fields", None, None,
                         None))
        return SystemDoc(path, None, problems, text)
    for message, key, hint in schema_errors(doc):
        problems.append((message, field_line(text, key) if key else None, key, hint))
    return SystemDoc(path, doc, problems, text)


@lru_cache(maxsize=1)
def system_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def system_fields() -> list[str]:
    """The MLPerf HPC field set, in the order descriptions are written."""
    return list(system_schema()["properties"])


def schema_errors(doc: dict) -> list[tuple[str, str | None, str]]:
    """(message, field, hint) for every way doc breaks the schema, in field order."""
    import jsonschema  # imported when a description is checked, not at every start

    schema = system_schema()
    validator = jsonschema.Draft202012Validator(schema)
    order = {k: i for i, k in enumerate(schema["properties"])}
    out = []
    for e in validator.iter_errors(doc):
        if e.validator == "required" and not e.path:
            missing = [f for f in schema["required"] if f not in doc]
            for f in missing:
                out.append((f"missing field {f}", f,
                            'add it ("" when unknown): the MLPerf HPC field set requires every '
                            "field"))
            continue
        key = str(e.path[0]) if e.path else None
        out.append((*_describe(e, key, doc.get(key) if key else doc), ))
    unique = list(dict.fromkeys(out))
    return sorted(unique, key=lambda t: order.get(t[1], len(order)))


def _describe(e, key: str | None, value) -> tuple[str, str | None,
                                                                               str]:
    spec = system_schema()["properties"].get(key, {})
    if "$ref" in spec:
        spec = {**system_schema()["$defs"][spec["$ref"].rsplit("/", 1)[1]], **spec}
    want = spec.get("description", "")
    if key is None:
        return (f"the description is not a JSON object: {e.message}", None, "")
    if e.validator == "type" or (key == "other_software_stack" and e.validator == "oneOf"):
        if key == "other_software_stack":
            return (f"{key} must be a string or an object of strings, not {_json_type(value)}",
                    key, 'e.g. "python 3.11, horovod 0.28.1" or {"python": "3.11"}')
        return (f"{key} is a JSON {_json_type(value)}, not a string", key,
                f'write it as a string, e.g. "{value}": MLPerf system descriptions hold text, '
                "and mlperf-logging's system_desc_checker fails on numbers")
    if e.validator == "enum":
        return (f"{key} is {value!r}, not one of {', '.join(map(repr, e.validator_value))}",
                key, "")
    if e.validator in ("pattern", "minLength"):
        if isinstance(value, str) and not value.strip():
            return (f"{key} is empty", key, f"fill it in{': ' + want if want else ''}")
        return (f"{key} is {value!r}, not {want or 'of the expected form'}", key, "")
    return (f"{key}: {e.message}", key, "")


def _json_type(v) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
            dict: "object", type(None): "null"}.get(type(v), type(v).__name__)


def field_line(text: str, key: str, last: bool = False) -> int | None:
    """The line of a field in a description's text (the first, or the last, that names it)."""
    pat = re.compile(r'"' + re.escape(key) + r'"\s*:')
    hits = [i for i, line in enumerate(text.splitlines(), 1) if pat.search(line)]
    return (hits[-1] if last else hits[0]) if hits else None


