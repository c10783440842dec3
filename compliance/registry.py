"""Where each ruleset's rule files are, by name.

- `hpc-X.Y.Z`: mlperf-logging's own `compliance_checker/hpc_X.Y.Z/` in the installed package (read
  there, never copied, so the verdicts follow the pinned mlperf-logging).
- `sciperf-X.Y.Z`: this suite's `compliance/rulesets/sciperf-X.Y.Z/`.

Which rulesets exist, and each loaded ruleset, are cached per process (rule files do not change
under a running checker; a compiled ruleset is immutable).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import mlperf_logging.compliance_checker as _mlperf_checker

from .rules import Ruleset

MLPERF_RULES = Path(_mlperf_checker.__file__).resolve().parent
SCIPERF_RULES = Path(__file__).resolve().parent / "rulesets"
_VERSION = re.compile(r"\d+\.\d+\.\d+")


class UnknownRuleset(Exception):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"unknown ruleset {name!r}; known: {', '.join(available())}")


@lru_cache(maxsize=1)
def _locations() -> dict[str, tuple[Path, str]]:
    found = {}
    if MLPERF_RULES.is_dir():
        for d in MLPERF_RULES.iterdir():
            head, _, version = d.name.partition("_")
            if head == "hpc" and _VERSION.fullmatch(version) and (d / "common.yaml").is_file():
                found[f"hpc-{version}"] = (MLPERF_RULES, d.name)
    if SCIPERF_RULES.is_dir():
        for d in SCIPERF_RULES.iterdir():
            head, _, version = d.name.partition("-")
            if head == "sciperf" and _VERSION.fullmatch(version) and (d / "common.yaml").is_file():
                found[d.name] = (SCIPERF_RULES, d.name)
    return found


def available() -> list[str]:
    """The ruleset names this installation knows, sorted."""
    def order(name: str):
        family, version = name.split("-", 1)
        return family, tuple(map(int, version.split(".")))
    return sorted(_locations(), key=order)


def location(name: str) -> tuple[Path, str]:
    """(root, folder) of a ruleset: its rule files are `root/folder/*.yaml`."""
    try:
        return _locations()[name]
    except KeyError:
        raise UnknownRuleset(name) from None


@lru_cache(maxsize=None)
def load(name: str) -> Ruleset:
    """The compiled ruleset (cached); raises UnknownRuleset or rules.RulesError."""
    root, folder = location(name)
    return Ruleset.load(name, root, folder)
