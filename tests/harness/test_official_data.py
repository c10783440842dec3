"""The ruleset, the configs and the generator agree: each benchmark's target per scale in its
config is the one sciperf-1.0.0 enforces, and `sciperf data generate` at tiny scale writes the
dataset whose checksum the ruleset records (so a fresh machine's demo data is official)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reference_implementations.common.config import load_config
from sciperf.vocab import BENCHMARKS, SCALES
from tests.support import sciperf

RULESET = Path(__file__).resolve().parents[2] / "compliance" / "rulesets" / "sciperf-1.0.0"


def ruleset_table(benchmark: str) -> dict:
    """Run the BEGIN block of the benchmark's rule file (trusted code) to read its table."""
    rules = yaml.safe_load((RULESET / f"{benchmark}.yaml").read_text())
    begin = next(r["BEGIN"] for r in rules if "BEGIN" in r)
    s: dict = {}
    exec(compile(begin["CODE"], f"{benchmark}.yaml:BEGIN", "exec"), {}, {"s": s})
    return s


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
@pytest.mark.parametrize("scale", SCALES)
def test_config_target_is_the_ruleset_target(benchmark, scale):
    assert load_config(benchmark, scale).train["target"] == \
        ruleset_table(benchmark)["targets"][scale]


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
def test_generated_tiny_data_is_the_official_dataset(benchmark, tmp_path):
    r = sciperf("data", "generate", benchmark, "--scale", "tiny", "--out", tmp_path / "d",
                "--workers", 2)
    assert r.returncode == 0, r.stderr
    checksum = r.stdout.rsplit("dataset checksum ", 1)[1].strip()
    assert checksum == ruleset_table(benchmark)["checksums"]["tiny"]
