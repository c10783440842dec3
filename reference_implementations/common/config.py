"""One config object per run: the benchmark's YAML file for a scale plus `section.key=value`
overrides from the command line, applied in one place."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from sciperf.vocab import BENCHMARKS, DIVISIONS, SCALES, STATUSES

ROOT = Path(__file__).resolve().parents[1]  # reference_implementations/

TRAIN_KEYS = {
    "batch_size", "max_epochs", "target", "optimizer", "momentum", "base_lr", "lr_warmup_factor",
    "warmup_epochs", "decay_boundary_epochs", "decay_factor", "weight_decay", "dropout",
}

# What a run needs beyond the benchmark's YAML; `sciperf run` sets these per run.
RUN_DEFAULTS = {
    "seed": 0,  # training seed (weights, shuffles); the data seed is the YAML's top-level `seed`
    "data_dir": None,  # default: data/<benchmark>/<scale> under the working directory
    "result_file": None,  # default: stdout only
    "org": "sciperf",
    "platform": "unknown",
    "division": "closed",
    "status": "research",
    "nodes": 1,
    "accelerators_per_node": 0,
}


class ConfigError(Exception):
    """A config file or override that cannot be used; names the file or the override."""


@dataclass
class Config:
    benchmark: str
    scale: str
    seed: int  # the data generation seed
    data: dict
    model: dict
    train: dict
    run: dict = field(default_factory=lambda: dict(RUN_DEFAULTS))
    source: str = ""

    @property
    def data_dir(self) -> Path:
        return Path(self.run["data_dir"] or Path("data") / self.benchmark / self.scale)


def config_path(benchmark: str, scale: str) -> Path:
    return ROOT / benchmark / "configs" / f"{scale}.yaml"


def load_config(benchmark: str, scale: str = "tiny", config_file: str | Path | None = None,
                overrides: list[str] | tuple[str, ...] = ()) -> Config:
    if benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
    path = Path(config_file) if config_file else config_path(benchmark, scale)
    if scale not in SCALES and not config_file:
        raise ConfigError(f"unknown scale {scale!r}; known: {', '.join(SCALES)}")
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    tree = copy.deepcopy(raw)
    tree.setdefault("run", {})
    tree["run"] = {**RUN_DEFAULTS, **tree["run"]}
    for item in overrides:
        _apply_override(tree, item)
    missing = TRAIN_KEYS - set(tree.get("train") or {})
    if missing:
        raise ConfigError(f"{path}: train section lacks {', '.join(sorted(missing))}")
    unknown = set(tree) - {"benchmark", "scale", "seed", "data", "model", "train", "run"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level keys {', '.join(sorted(unknown))}")
    if tree.get("benchmark") != benchmark:
        raise ConfigError(f"{path}: is for benchmark {tree.get('benchmark')!r}, not {benchmark!r}")
    run = tree["run"]
    if run["division"] not in DIVISIONS:
        raise ConfigError(f"run.division must be one of {', '.join(DIVISIONS)}")
    if run["status"] not in STATUSES:
        raise ConfigError(f"run.status must be one of {', '.join(STATUSES)}")
    return Config(benchmark=benchmark, scale=tree.get("scale", scale), seed=int(tree["seed"]),
                  data=tree.get("data") or {}, model=tree.get("model") or {},
                  train=tree["train"], run=run, source=str(path))


def _apply_override(tree: dict, item: str) -> None:
    """`train.base_lr=0.02` sets tree['train']['base_lr']; the value is parsed as YAML, and only
    keys the file (or RUN_DEFAULTS) already has can be set, so a typo cannot pass silently."""
    dotted, sep, text = item.partition("=")
    if not sep or not dotted:
        raise ConfigError(f"override {item!r}: expected section.key=value")
    *parents, leaf = dotted.split(".")
    node = tree
    for p in parents:
        if not isinstance(node.get(p), dict):
            raise ConfigError(f"override {item!r}: no section {p!r}")
        node = node[p]
    if leaf not in node:
        raise ConfigError(f"override {item!r}: unknown key {dotted!r}")
    try:
        node[leaf] = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"override {item!r}: value is not valid YAML") from None


def config_section(cls, raw, name: str, what: str):
    """The config section `name` (a mapping; `what` says what it holds) as dataclass `cls`:
    every field given and no other, a field typed tuple a [low, high] range of floats, one
    typed int a whole number. A ConfigError names the section and the field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: missing ({what})")
    names = {f.name for f in fields(cls)}
    missing, unknown = names - set(raw), set(raw) - names
    if missing or unknown:
        raise ConfigError(f"{name}: " + "; ".join(
            part for part in (missing and f"missing {', '.join(sorted(missing))}",
                              unknown and f"unknown {', '.join(sorted(unknown))}") if part))
    values = {}
    for f in fields(cls):
        v = raw[f.name]
        kind = str(f.type)
        if kind.startswith("tuple"):
            if not (isinstance(v, list) and len(v) == 2 and v[0] <= v[1]):
                raise ConfigError(f"{name}.{f.name}: expected [low, high], got {v!r}")
            v = (float(v[0]), float(v[1]))
        elif kind == "int":
            if not isinstance(v, int):
                raise ConfigError(f"{name}.{f.name}: expected a whole number, got {v!r}")
        values[f.name] = v
    return cls(**values)


def split_counts(cfg: dict, noun: str) -> dict[str, int]:
    """{"train": data.train_<noun>, "validation": data.validation_<noun>} of a data section."""
    try:
        return {"train": int(cfg[f"train_{noun}"]),
                "validation": int(cfg[f"validation_{noun}"])}
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"data.train_{noun} and data.validation_{noun}: missing or not "
                          "integers") from None
