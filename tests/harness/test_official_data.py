"""The ruleset, the configs and the generator agree: each benchmark's target per scale in its
config is the one sciperf-1.0.0 enforces, and `sciperf data generate` at tiny scale writes the
dataset whose checksum the ruleset records (so a fresh machine's demo data is official)."""

from __future__ import annotations

import pytest

from reference_implementations.common.config import load_config
from sciperf.vocab import SCALES
from tests.compliance.compliance_logs import benchmarks_with_rules, shipped_table
from tests.support import sciperf

# Benchmarks whose rule files record targets and checksums (dsprites and shapes3d get theirs
# with their model and calibration; their generators' determinism is tested in their folders).
RULED = benchmarks_with_rules()


@pytest.mark.parametrize("benchmark", RULED)
@pytest.mark.parametrize("scale", SCALES)
def test_config_target_is_the_ruleset_target(benchmark, scale):
    assert load_config(benchmark, scale).train["target"] == \
        shipped_table(benchmark)[0][scale]


# glibc's libm picks its FMA or plain code for exp, log, sin, arcsin... by the CPU, and the two
# differ in the last bit: a generator must write the same bytes either way (rotation's
# declinations did not, and its checksum differed between two machines).
WITHOUT_FMA = {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX,-FMA4"}


def generated_checksum(benchmark, out, extra_env=None) -> str:
    r = sciperf("data", "generate", benchmark, "--scale", "tiny", "--out", out, "--workers", 2,
                extra_env=extra_env)
    assert r.returncode == 0, r.stderr
    return r.stdout.rsplit("dataset checksum ", 1)[1].strip()


@pytest.mark.parametrize("benchmark", RULED)
def test_generated_tiny_data_is_the_official_dataset(benchmark, tmp_path):
    assert generated_checksum(benchmark, tmp_path / "d") == shipped_table(benchmark)[1]["tiny"]


@pytest.mark.slow
@pytest.mark.parametrize("benchmark", RULED)
def test_generated_tiny_data_does_not_depend_on_the_cpus_libm_path(benchmark, tmp_path):
    assert generated_checksum(benchmark, tmp_path / "d", WITHOUT_FMA) == \
        shipped_table(benchmark)[1]["tiny"]
