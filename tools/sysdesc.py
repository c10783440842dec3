"""System description capture: the MLPerf HPC field set of `<org>/systems/<system>.json`, read
from this machine and completed from an overrides file.

What the machine tells (per node, the node this runs on): the CPU (lscpu, else /proc/cpuinfo),
its memory (/proc/meminfo), the accelerators (`nvidia-smi`, when present; else "none" and "0"),
the operating system (/etc/os-release) and the framework versions (installed packages, read
without importing them). What it cannot tell (storage, networking, cooling, how many nodes a run
used) comes from the overrides file or, for the counts, from the logs (`sciperf package`). Nothing
names the host: two identical nodes give identical descriptions.

    python -m tools.sysdesc [--org ORG] [--system NAME] [--overrides FILE.yaml] [-o FILE]

Every value is a string, as in every published MLPerf system description (the schema,
compliance/schemas/system_description.json, says why); the result is validated against the
schema before it is written.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata as md
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from compliance.sysdesc import schema_errors, system_fields
from sciperf import safeyaml

NO_ACCELERATOR = "none"
NVIDIA_QUERY = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
# (package names tried in order, how the description names it)
FRAMEWORKS = ((("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-gpu"),
               "TensorFlow"), (("horovod",), "Horovod"))
OTHER_SOFTWARE = ("mlperf-logging", "numpy", "h5py")


class SysdescError(Exception):
    """A description that cannot be written; the message names the file and field."""


# -- reading the machine ------------------------------------------------------------------------


def _run(cmd: list[str], timeout: float = 20) -> str | None:
    """A command's stdout, or None when it is missing, fails or hangs."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def lscpu_fields() -> dict[str, str]:
    """lscpu's fields ("Model name" -> "...") from its JSON output; {} without lscpu."""
    text = _run(["lscpu", "-J"])
    if not text:
        return {}
    try:
        items = json.loads(text).get("lscpu", [])
    except ValueError:
        return {}
    out: dict[str, str] = {}

    def walk(entries):
        for e in entries:  # newer util-linux nests fields under "children"
            name = str(e.get("field", "")).rstrip(":")
            if name and name not in out and e.get("data") not in (None, "-"):
                out[name] = str(e["data"])
            walk(e.get("children", []))

    walk(items)
    return out


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo, plus counts over all processors."""
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    first: dict[str, str] = {}
    packages = set()
    for i, block in enumerate(blocks):
        fields = {}
        for line in block.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip()] = v.strip()
        if i == 0:
            first = fields
        packages.add(fields.get("physical id", "0"))
    return {**first, "processors": str(len(blocks)), "packages": str(len(packages) or 1)}


def cpu_description(lscpu: dict[str, str], cpuinfo: dict[str, str]) -> dict[str, str]:
    model = lscpu.get("Model name") or cpuinfo.get("model name") or cpuinfo.get("Processor") \
        or platform.processor() or "unknown"
    sockets = _digits(lscpu.get("Socket(s)")) or _digits(cpuinfo.get("packages")) or "1"
    cores = _digits(lscpu.get("Core(s) per socket")) or _digits(lscpu.get("Core(s) per cluster")) \
        or _digits(cpuinfo.get("cpu cores")) or _digits(lscpu.get("CPU(s)")) \
        or _digits(cpuinfo.get("processors")) or str(os.cpu_count() or 1)
    vcpus = _digits(lscpu.get("CPU(s)")) or _digits(cpuinfo.get("processors")) \
        or str(os.cpu_count() or "")
    mhz = lscpu.get("CPU max MHz") or cpuinfo.get("cpu MHz") or ""
    freq = f"{float(mhz):.0f} MHz" if _is_number(mhz) else ""
    caches = ", ".join(f"{name.replace(' cache', '')}: {lscpu[name]}"
                       for name in ("L1d cache", "L1i cache", "L2 cache", "L3 cache")
                       if lscpu.get(name))
    return {
        "host_processors_per_node": sockets,
        "host_processor_model_name": re.sub(r"\s+", " ", model).strip(),
        "host_processor_core_count": cores,
        "host_processor_vcpu_count": vcpus,
        "host_processor_frequency": freq,
        "host_processor_caches": caches,
    }


def memory_description(meminfo: str) -> dict[str, str]:
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", meminfo, re.M)
    if not m:
        return {"host_memory_capacity": "unknown"}
    return {"host_memory_capacity": f"{int(m.group(1)) / 2**20:.1f} GiB"}


def nvidia_smi() -> str | None:
    """nvidia-smi's CSV answer, or None where there is no nvidia-smi (or it fails)."""
    exe = shutil.which("nvidia-smi")
    return _run([exe, *NVIDIA_QUERY]) if exe else None


def accelerator_description(csv_text: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(accelerator fields, other software) from nvidia-smi's CSV; none/0 without GPUs."""
    rows = [[c.strip() for c in row] for row in csv.reader((csv_text or "").splitlines())
            if row and row[0].strip()]
    if not rows:
        fields = {k: NO_ACCELERATOR for k in (
            "accelerator_model_name", "accelerator_host_interconnect", "accelerator_frequency",
            "accelerator_on-chip_memories", "accelerator_memory_configuration",
            "accelerator_interconnect", "accelerator_interconnect_topology")}
        return {**fields, "accelerators_per_node": "0", "accelerator_memory_capacity": "0"}, {}
    names: dict[str, int] = {}
    for r in rows:
        names[r[0]] = names.get(r[0], 0) + 1
    model = rows[0][0] if len(names) == 1 else " + ".join(f"{n}x {k}" for k, n in names.items())
    memory = rows[0][1] if len(rows[0]) > 1 else ""
    other = {"nvidia_driver": rows[0][2]} if len(rows[0]) > 2 and rows[0][2] else {}
    return {
        "accelerators_per_node": str(len(rows)),
        "accelerator_model_name": model,
        "accelerator_memory_capacity": memory,
        "accelerator_host_interconnect": "",
        "accelerator_frequency": "",
        "accelerator_on-chip_memories": "",
        "accelerator_memory_configuration": "",
        "accelerator_interconnect": "",
        "accelerator_interconnect_topology": "",
    }, other


def os_description(os_release: str) -> str:
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', os_release, re.M)
    return m.group(1) if m else f"{platform.system()} {platform.release()}".strip()


def _version(names) -> str | None:
    for n in names:
        try:
            return md.version(n)
        except md.PackageNotFoundError:
            continue
    return None


def software_description() -> tuple[str, dict[str, str]]:
    parts = [f"{label} {v}" for names, label in FRAMEWORKS if (v := _version(names))]
    other = {"python": platform.python_version()}
    for name in OTHER_SOFTWARE:
        if v := _version((name,)):
            other[name] = v
    other["kernel"] = platform.release()
    return (", ".join(parts) or "unknown"), other


def capture() -> dict:
    """The description of this machine as one node (fields it cannot tell left empty)."""
    accel, accel_sw = accelerator_description(nvidia_smi())
    framework, other = software_description()
    desc = {f: "" for f in system_fields()}
    desc.update({
        "submitter": "",
        "division": "closed",
        "status": "research",  # an uncurated capture is research/internal until said otherwise
        "number_of_nodes": "1",
        **cpu_description(lscpu_fields(), cpuinfo_fields(_read("/proc/cpuinfo"))),
        **memory_description(_read("/proc/meminfo")),
        **accel,
        "framework": framework,
        "other_software_stack": {**other, **accel_sw},
        "operating_system": os_description(_read("/etc/os-release")),
        "sw_notes": "captured by sciperf (tools/sysdesc.py)",
    })
    return desc


# -- overrides, validation, writing ------------------------------------------------------------


def load_overrides(path: str | Path) -> dict:
    """The overrides file: a YAML mapping of description fields. Numbers become strings (YAML
    reads `number_of_nodes: 4` as a number); booleans and lists are refused (a bare `yes` or
    `no` is YAML's boolean, not text)."""
    path = Path(path)
    try:
        raw = safeyaml.load_file(path)
    except safeyaml.YamlError as e:
        raise SysdescError(str(e)) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SysdescError(f"{path}: expected a mapping of system description fields")
    out = {}
    for key, value in raw.items():
        out[str(key)] = _override_value(path, str(key), value)
    return out


def _override_value(path: Path, key: str, value):
    if value is None:
        return ""
    if isinstance(value, bool):
        raise SysdescError(f"{path}: {key}: {value!r} is a YAML boolean; quote it to mean the "
                           "text (e.g. \"yes\")")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and key == "other_software_stack":
        return {str(k): _override_value(path, f"{key}.{k}", v) for k, v in value.items()}
    raise SysdescError(f"{path}: {key}: expected text, not a {type(value).__name__}")


def ordered(desc: dict) -> dict:
    """The MLPerf field order, then any extra fields in the order given."""
    fields = system_fields()
    return {**{f: desc[f] for f in fields if f in desc},
            **{k: v for k, v in desc.items() if k not in fields}}


def validate(desc: dict, where: str) -> None:
    """Raise SysdescError naming each field the schema rejects."""
    errors = schema_errors(desc)
    if errors:
        lines = [f"  {msg}" + (f" ({hint})" if hint else "") for msg, _, hint in errors]
        raise SysdescError(f"{where}: the system description is not valid:\n" + "\n".join(lines))


def describe(org: str = "", system: str = "", overrides: str | Path | None = None,
             from_logs: dict | None = None) -> tuple[dict, list[str]]:
    """capture() < values from the logs < the overrides file; validated. Returns the
    description and notes for the user (fields the overrides add beyond the MLPerf set)."""
    desc = capture()
    desc.update({k: v for k, v in {"submitter": org, "system_name": system}.items() if v})
    desc.update(from_logs or {})
    notes = []
    if overrides:
        extra = load_overrides(overrides)
        unknown = [k for k in extra if k not in desc]
        if unknown:
            notes.append(f"{overrides}: adds field(s) beyond the MLPerf HPC set: "
                         f"{', '.join(unknown)}")
        desc.update(extra)
    desc = ordered(desc)
    validate(desc, str(overrides) if overrides else "captured description")
    return desc, notes


def write(desc: dict, path: Path) -> None:
    """Write the description whole or not at all: into a temporary file beside it, then renamed
    over it (an interrupted or failed write leaves the previous file as it was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(desc, indent=4, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.sysdesc", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--org", default="", help="submitter")
    p.add_argument("--system", default="", help="system_name")
    p.add_argument("--overrides", help="YAML file of fields that override or complete the capture")
    p.add_argument("-o", "--output", help="write here (default: print)")
    a = p.parse_args(argv)
    try:
        desc, notes = describe(a.org, a.system, a.overrides)
    except SysdescError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    if a.output:
        write(desc, Path(a.output))
        print(f"wrote {a.output}")
    else:
        print(json.dumps(desc, indent=4, ensure_ascii=False))
    return 0


def _digits(v) -> str | None:
    m = re.match(r"\s*(\d+)", str(v)) if v is not None else None
    return str(int(m.group(1))) if m and int(m.group(1)) > 0 else None


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


if __name__ == "__main__":
    raise SystemExit(main())
