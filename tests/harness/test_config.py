import pytest

from reference_implementations.common.config import ConfigError, load_config
from sciperf.vocab import BENCHMARKS


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
@pytest.mark.parametrize("scale", ["tiny", "small", "full"])
def test_every_scale_config_loads(benchmark, scale):
    cfg = load_config(benchmark, scale)
    assert cfg.benchmark == benchmark and cfg.scale == scale
    assert cfg.train["target"] is not None and cfg.train["max_epochs"] > 0


def test_overrides_parse_values_as_yaml():
    cfg = load_config("cosmoflow", "tiny", overrides=["train.base_lr=0.5", "run.org=ACME",
                                                      "train.decay_boundary_epochs=[3, 5]"])
    assert cfg.train["base_lr"] == 0.5
    assert cfg.run["org"] == "ACME"
    assert cfg.train["decay_boundary_epochs"] == [3, 5]


@pytest.mark.parametrize("bad, says", [
    ("train.base_lrr=1", "unknown key 'train.base_lrr'"),
    ("nosection.x=1", "no section 'nosection'"),
    ("train.base_lr", "expected section.key=value"),
    ("run.division=secret", "run.division must be one of"),
])
def test_bad_overrides_are_named(bad, says):
    with pytest.raises(ConfigError, match=says.replace("(", r"\(")):
        load_config("cosmoflow", "tiny", overrides=[bad])


def test_unknown_benchmark_and_scale():
    with pytest.raises(ConfigError, match="unknown benchmark 'nope'"):
        load_config("nope", "tiny")
    with pytest.raises(ConfigError, match="unknown scale 'huge'"):
        load_config("cosmoflow", "huge")


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("benchmark: cosmoflow\ntrain: [unclosed\n")
    with pytest.raises(ConfigError, match=str(bad)):
        load_config("cosmoflow", "tiny", config_file=bad)
