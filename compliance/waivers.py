"""Waivers of package checks: the bypass files a submission carries and the one a reviewer
gives on the command line.

- In the tree: mlperf-logging's `package_checker_params`, one check name per line, in the org
  folder (every result of the org), a system's results folder or a result folder. mlperf-logging
  reads it only in system and result folders and only as `rcp-bypass` and
  `seed-checker-bypass`; submitters also write it in the org folder and as `rcp_bypass` (as
  mlperf-logging's own RCP message spells it) or `seed_checker_bypass`: every such spelling
  and place is honoured, since the review granted what they ask for.
- On the command line (`--bypass FILE`): a YAML file, see load_bypass.

A waived finding stays in the output as a warning saying which file (and line) waived it.
Layout, descriptions and escapes cannot be waived: without them the tree cannot be read,
scored or trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sciperf import layout, safeyaml

from . import codes
from .diagnostics import WARNING, Diagnostic


@dataclass(frozen=True)
class PackageCheck:
    code: str  # its title, default severity and hint live in compliance/codes.py
    name: str  # what a bypass file calls it
    waivable: bool

    @property
    def title(self) -> str:
        return codes.CODES[self.code].title


CHECKS: tuple[PackageCheck, ...] = (
    PackageCheck("SP401", "layout", False),
    PackageCheck("SP402", "result-count", True),
    PackageCheck("SP403", "missed-target", True),
    PackageCheck("SP404", "seeds", True),
    PackageCheck("SP405", "hyperparameters", True),
    PackageCheck("SP406", "system-description", False),
    PackageCheck("SP407", "system-schema", False),
    PackageCheck("SP408", "escape", False),
    PackageCheck("SP409", "stray", True),
    PackageCheck("SP410", "implementation", True),
    PackageCheck("SP411", "bypass", False),
    PackageCheck("SP412", "system-consistency", True),
    PackageCheck("SP413", "rcp", True),
    PackageCheck("SP414", "scaling-file", False),
)
CHECKS_BY_CODE = {c.code: c for c in CHECKS}
CHECKS_BY_NAME = {c.name: c for c in CHECKS}
# mlperf-logging's own names in package_checker_params, mapped to ours.
MLPERF_BYPASS_NAMES = {"seed-checker-bypass": "seeds", "rcp-bypass": "rcp"}
WAIVABLE = ", ".join(c.name for c in CHECKS if c.waivable)


class BypassError(ValueError):
    """A --bypass file that cannot be used: the tool cannot run (exit 2)."""


def check_named(word: str) -> PackageCheck | None:
    """The check a bypass file's word names, in any spelling: ours or mlperf-logging's, with
    hyphens or underscores (`rcp_bypass`, `seed-checker-bypass`, `missed_target`, ...)."""
    name = word.strip().lower().replace("_", "-")
    return CHECKS_BY_NAME.get(MLPERF_BYPASS_NAMES.get(name, name))


@dataclass(frozen=True)
class Waiver:
    check: str  # a PackageCheck name
    source: str  # the file (and line) that grants it, as shown
    system: str | None = None
    scaling: str | None = None
    benchmark: str | None = None
    reason: str = ""

    def covers(self, d: Diagnostic) -> bool:
        check = CHECKS_BY_CODE.get(d.code)
        if check is None or check.name != self.check or not check.waivable:
            return False
        scope = d.scope
        got = (scope.system, scope.scaling, scope.benchmark) if scope else (None, None, None)
        return all(want is None or want == have for want, have in
                   zip((self.system, self.scaling, self.benchmark), got))


def load_bypass(path: str | Path) -> list[Waiver]:
    """The waivers of a --bypass YAML file:

        waive:
          - check: seeds               # a check name (see CHECKS) or mlperf-logging's
            system: dgxa100_n64        #   seed-checker-bypass / rcp-bypass; optional scope:
            benchmark: cosmoflow       #   system, scaling (strong|weak), benchmark
            reason: why a reviewer agreed

    Raises BypassError naming the file and the entry on anything malformed (not UTF-8, not
    YAML, aliases, an unknown check)."""
    path = Path(path)
    try:
        raw = safeyaml.load_file(path)
    except safeyaml.YamlError as e:
        raise BypassError(f"cannot read the bypass file: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("waive"), list):
        raise BypassError(f"{path}: expected a mapping with a `waive:` list")
    waivers = []
    for i, item in enumerate(raw["waive"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("check"), str):
            raise BypassError(f"{path}: waive entry {i}: expected a mapping with `check:`")
        extra = set(item) - {"check", "system", "scaling", "benchmark", "reason"}
        if extra:
            raise BypassError(f"{path}: waive entry {i}: unknown key(s) "
                              f"{', '.join(sorted(map(str, extra)))}")
        check = check_named(item["check"])
        if check is None or not check.waivable:
            raise BypassError(f"{path}: waive entry {i}: {item['check']!r} is not a check that "
                              f"can be waived; waivable: {WAIVABLE}")
        if item.get("scaling") not in (None, *layout.SCALINGS):
            raise BypassError(f"{path}: waive entry {i}: scaling must be strong or weak")
        for key in ("system", "benchmark"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise BypassError(f"{path}: waive entry {i}: {key} must be a name")
        waivers.append(Waiver(check.name, str(path), item.get("system"), item.get("scaling"),
                              item.get("benchmark"), str(item.get("reason", ""))))
    return waivers


def read_params_file(path: Path, shown: str, scope: dict) -> tuple[list[Waiver], list[tuple]]:
    """The waivers of one package_checker_params file in the tree, and its problems as
    (message, line, key, hint) for SP411 warnings. `scope`: system / scaling / benchmark of the
    folder it is in. `shown`: the file as findings print it."""
    if path.is_dir():
        return [], [("package_checker_params is a folder, not a bypass file: nothing is "
                     "waived", None, None, "make it a text file with one check name per line")]
    try:
        data = path.read_bytes()
    except OSError as e:
        return [], [(f"cannot read the bypass file: {e.strerror or e}", None, None, None)]
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark must not hide the first line
    except UnicodeDecodeError as e:
        return [], [(f"not UTF-8 text (byte {e.start + 1}); nothing is waived", None, None,
                     None)]
    waivers, problems = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        word = raw.split("#", 1)[0].strip()
        if not word:
            continue
        check = check_named(word)
        if check is None:
            problems.append((f"unknown check {word!r}: nothing is waived", n, word,
                             f"waivable checks: {WAIVABLE} (or mlperf-logging's rcp-bypass, "
                             "seed-checker-bypass)"))
        elif not check.waivable:
            problems.append((f"check {word!r} ({check.code}) cannot be waived", n, word, None))
        else:
            waivers.append(Waiver(check.name, f"{shown}:{n}", **scope))
    return waivers, problems


def apply(findings: list[Diagnostic], waivers: list[Waiver]) -> list[Diagnostic]:
    """The findings with those a waiver covers turned into warnings that name it."""
    out = []
    for d in findings:
        w = next((w for w in waivers if w.covers(d)), None)
        if w is not None:
            extra = {**d.extra, "waived": True, "waived_by": w.source,
                     "waived_severity": d.severity}
            if w.reason:
                extra["waiver_reason"] = w.reason
            d = replace(d, severity=WARNING, message=f"waived by {w.source}: {d.message}",
                        extra=extra)
        out.append(d)
    return out
