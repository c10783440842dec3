"""Helpers of tests/package: small submission trees for the package checks, a valid one built
fresh for each test, which the test breaks in exactly one way."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sciperf import vocab

ORG, SYSTEM, BENCH = "acme", "box1", "cosmoflow"
RULESET = vocab.RULESET
RUNS = 3  # sciperf-1.0.0 at tiny scale (compliance/rulesets/sciperf-1.0.0/package.yaml)

SYSTEM_DESC = {
    "submitter": ORG, "division": "closed", "status": "onprem", "system_name": SYSTEM,
    "number_of_nodes": "1", "host_processors_per_node": "1",
    "host_processor_model_name": "Test CPU", "host_processor_core_count": "2",
    "host_processor_vcpu_count": "2", "host_processor_frequency": "2100 MHz",
    "host_processor_caches": "", "host_processor_interconnect": "",
    "host_memory_capacity": "24 GiB", "host_storage_type": "", "host_storage_capacity": "",
    "host_networking": "", "host_networking_topology": "", "host_memory_configuration": "",
    "accelerators_per_node": "0", "accelerator_model_name": "none",
    "accelerator_host_interconnect": "", "accelerator_frequency": "",
    "accelerator_on-chip_memories": "", "accelerator_memory_configuration": "",
    "accelerator_memory_capacity": "0", "accelerator_interconnect": "",
    "accelerator_interconnect_topology": "", "cooling": "", "hw_notes": "",
    "framework": "TensorFlow 2.15.1", "other_software_stack": {"python": "3.11"},
    "operating_system": "Linux", "sw_notes": "",
}


def mllog_line(key, value=None, event="POINT_IN_TIME", metadata=None, t=0) -> str:
    rec = {"namespace": "", "time_ms": 1_700_000_000_000 + t, "event_type": event, "key": key,
           "value": value, "metadata": {"file": "train.py", "lineno": 1, **(metadata or {})}}
    return ":::MLLOG " + json.dumps(rec)


def sciperf_log(seed: int, *, status: str = vocab.SUCCESS, division: str = "closed",
                org: str = ORG, scale: str = "tiny", lr: float = 0.01,
                skip: tuple = ()) -> str:
    """A SciPerf cosmoflow log (what the harness writes, trimmed to what the package checks
    read); `skip` drops keys."""
    lines = [
        (vocab.CACHE_CLEAR, True, "POINT_IN_TIME", None),
        (vocab.INIT_START, None, "INTERVAL_START", None),
        (vocab.SUBMISSION_BENCHMARK, BENCH, "POINT_IN_TIME", None),
        (vocab.SUBMISSION_ORG, org, "POINT_IN_TIME", None),
        (vocab.SUBMISSION_PLATFORM, SYSTEM, "POINT_IN_TIME", None),
        (vocab.SUBMISSION_DIVISION, division, "POINT_IN_TIME", None),
        (vocab.SUBMISSION_STATUS, "onprem", "POINT_IN_TIME", None),
        (vocab.SCIPERF_RULESET, RULESET, "POINT_IN_TIME", None),
        (vocab.DATA_SCALE, scale, "POINT_IN_TIME", None),
        (vocab.DATASET_CHECKSUM, "ab" * 32, "POINT_IN_TIME", None),
        (vocab.SEED, seed, "POINT_IN_TIME", None),
        (vocab.GLOBAL_BATCH_SIZE, 16, "POINT_IN_TIME", None),
        (vocab.OPT_NAME, "sgd", "POINT_IN_TIME", None),
        (vocab.OPT_BASE_LR, lr, "POINT_IN_TIME", None),
        (vocab.OPT_LR_DECAY_BOUNDARY_EPOCHS, [4, 8], "POINT_IN_TIME", None),
        (vocab.DROPOUT, 0.0, "POINT_IN_TIME", None),
        (vocab.INIT_STOP, None, "INTERVAL_END", None),
        (vocab.RUN_START, None, "INTERVAL_START", None),
        (vocab.EVAL_ERROR, 0.2, "POINT_IN_TIME", {vocab.EPOCH_NUM: 1}),
        (vocab.RUN_STOP, None, "INTERVAL_END", {vocab.STATUS: status}),
    ]
    return "\n".join(mllog_line(k, v, e, m, t=i * 1000) for i, (k, v, e, m) in enumerate(lines)
                     if k not in skip) + "\n"


@dataclass
class FakeResult:
    """What check_package reads of compliance.api.FileResult."""
    abspath: Path
    verdict: str = "pass"
    ruleset: str | None = RULESET
    diagnostics: list = field(default_factory=list)


@dataclass
class Tree:
    root: Path
    org: Path

    @property
    def bench(self) -> Path:
        return self.org / "results" / SYSTEM / "strong" / BENCH

    @property
    def system_json(self) -> Path:
        return self.org / "systems" / f"{SYSTEM}.json"

    def logs(self, fail: tuple[str, ...] = ()) -> dict:
        """Per-log results for every result file: pass, except the names in `fail`."""
        return {p: FakeResult(p, "fail" if p.name in fail else "pass")
                for p in sorted(self.org.rglob("result_*.txt"))}

    def check(self, ruleset=RULESET, bypass=None, fail=()):
        from compliance.package import check_package

        return check_package(self.org, ruleset, self.logs(fail), bypass)

    def write_desc(self, **changes):
        self.system_json.write_text(json.dumps({**SYSTEM_DESC, **changes}, indent=4) + "\n")


def build_tree(root: Path, runs: int = RUNS) -> Tree:
    org = root / ORG
    tree = Tree(root, org)
    tree.bench.mkdir(parents=True)
    for i in range(runs):
        (tree.bench / f"result_{i}.txt").write_text(sciperf_log(seed=100 + i))
    tree.system_json.parent.mkdir(parents=True)
    tree.write_desc()
    impl = org / "benchmarks" / BENCH / "implementations" / "sciperf-reference-tf"
    impl.mkdir(parents=True)
    (impl / "train.py").write_text("print('train')\n")
    return tree


def codes_of(diags, severity=None) -> list[str]:
    return sorted(d.code for d in diags if severity is None or d.severity == severity)
