"""mlperf-logging's YAML rule language, with the semantics of its checker
(`mlperf_logging/compliance_checker/mlp_compliance.py`), compiled once per rule file.

A rule file is a YAML list of `BEGIN` (code run before the records), `KEY` (rules for one MLLOG
key) and `END` (code and checks after the records). A `KEY` holds `NAME`, and optionally `REQ`
(`EXACTLY_ONE`, `AT_LEAST_ONE`, `AT_LEAST(n)`, `AT_LEAST_ONE_OR(a, b)`, `OPTIONAL`), `PRE` and
`POST` (statements), `CHECK` and `FIRST_CHECK` (an expression or a list of them),
`ATLEAST_ONE_CHECK` (an expression). SciPerf adds `HINT` (what to change when the key's rules
fail), which mlperf-logging ignores, and reads a trailing `# comment` of a check as the reason
shown to the user (Python ignores it).

Semantics kept from mlperf-logging, because verdicts must equal its checker's:

- Each rule file runs over all records with a fresh state: `s` (a dict) and the globals
  `enqueue_config`, `is_integer`, `math`. Snippets see `ll` (the record: `.timestamp` in ms,
  `.key`, `.value`, `.lineno`, `.full_string`, and ours, `.line`: the file's line) and `v`
  (`{"value": ..., "metadata": ...}`) as locals, in a fresh locals dict per snippet.
- `enqueue_config(name)` appends a rule file to a queue processed after the current file (first
  in, first out); a file enqueued twice runs twice.
- Keys not named by a file are skipped. For keys containing `submission_`, PRE/CHECK/POST run on
  the first occurrence only; FIRST_CHECK always runs on the first occurrence only.
- `EXACTLY_ONE` repeated with equal values is a warning, not a failure.
- A later file that names a key drops the earlier files' findings keyed on that key (REQ and
  CHECK/PRE/POST findings). ATLEAST_ONE_CHECK, AT_LEAST_ONE_OR and END findings are not keyed.
- A snippet that raises is a failure (mlperf-logging reports it, or stops with a traceback, which
  its users read as a failure).

Different on purpose: every failure is reported (not only the last per key), with the file's own
line number; enqueued names are looked up among the ruleset's own files only (a log value can
never make the checker read another file); a file enqueued but missing is a diagnostic (SP303)
naming what the ruleset knows; rule files are validated and compiled when loaded, so a broken
rule file is a RulesError (the tool cannot run), not a failure of every log.

How it is fast: snippets are compiled to code objects once per rule file, each key dispatches
to the rules that name it, and the log is read once. Every rule file runs with its own state over
the same pass: a file enqueued mid-log (normally by the submission_* records at the top) is
first brought up to date on the records already read (kept for the first PREFIX_RECORDS
records, read again beyond), then goes on with the others. A file's result depends only on the
records, so walking the enqueue chain at the end gives mlperf-logging's result in its order,
without ever holding the log in memory.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import io
import json
import math
import posixpath
import re
import tokenize
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FunctionType
from typing import NamedTuple

import yaml

from . import codes
from .diagnostics import Diagnostic
from .parser import TOKEN_TEXT, Record

REQ_FORMS = ("OPTIONAL", "EXACTLY_ONE", "AT_LEAST_ONE", "AT_LEAST(n)", "AT_LEAST_ONE_OR(...)")
KEY_FIELDS = frozenset({"NAME", "REQ", "PRE", "CHECK", "POST", "FIRST_CHECK",
                        "ATLEAST_ONE_CHECK", "HINT"})
END_FIELDS = frozenset({"PRE", "CHECK", "HINT"})
# A chain longer than this is a ruleset that enqueues itself; mlperf-logging would loop forever.
MAX_CHAIN = 200
# Records kept to bring a rule file enqueued mid-log up to date without reading the file again.
PREFIX_RECORDS = 4096
_SHOW = 80
_MAX_DISTINCT = 10

_Loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # all scalars stay strings, as mlperf's


class RulesError(Exception):
    """A rule file that cannot be used (unreadable, bad structure, a snippet that does not
    compile). The message names the file and the rule."""


_MLP_COMPLIANCE = "mlperf_logging.compliance_checker.mlp_compliance"


def _mlperf_helper(name: str):
    """A helper function rule snippets call (`is_integer`), taken from mlperf-logging's own
    checker source and compiled alone: importing that module costs more than checking a
    hundred logs (it imports its parser and every ruleset's), for a two-line function."""
    spec = importlib.util.find_spec(_MLP_COMPLIANCE)
    source = Path(spec.origin).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            namespace = {"__builtins__": builtins}
            exec(compile(ast.Module([node], []), spec.origin, "exec"), namespace)
            return namespace[name]
    raise RulesError(f"{spec.origin}: has no function {name}() (an mlperf-logging version this "
                     "checker was not written against)")


is_integer = _mlperf_helper("is_integer")


class LogLine(NamedTuple):
    """The record as rule snippets see it (`ll`): mlperf-logging's LogLine, and the file's own
    line number."""
    record: Record  # the parser's record (`full_string` is made from it only when asked for)
    timestamp: float  # time_ms
    key: str
    value: dict  # {"value": ..., "metadata": ...}, the same object as `v`
    lineno: int  # as mlperf-logging counts: 0-based, among the lines holding the marker
    line: int  # the file's own 1-based line number (what findings report)

    @property
    def full_string(self) -> str:
        """":::MLLOG {json}", as mlperf-logging's LogLine holds it."""
        return TOKEN_TEXT + self.record.text


_new_logline = tuple.__new__  # LogLine's own __new__ is a Python function


@dataclass(frozen=True, eq=False)  # hashed by identity: a run's functions by snippet
class Snippet:
    rule: str  # "<file>:<KEY>:<part>", e.g. "common.yaml:init_stop:CHECK[2]"
    source: str  # as written, stripped
    expr: str  # without its trailing comment
    why: str  # the trailing comment's text ("" if none)
    code: CodeType
    # The same code as the body of a function of (ll, v), where that means the same as eval or
    # exec with {"ll": ll, "v": v} as locals (no nested scope, no name bound): a call is a third
    # of the cost of an eval. None where it might not mean the same.
    body: CodeType | None = None
    mode: str = "eval"  # how mlperf-logging runs it: "eval" (checks) or "exec" (PRE, POST, ...)


@dataclass(frozen=True)
class KeyRule:
    name: str
    rule: str  # "<file>:<KEY>"
    req: str | None  # one of REQ_FORMS' heads, or None
    req_n: int
    alternatives: frozenset
    pre: Snippet | None
    checks: tuple
    post: Snippet | None
    first_checks: tuple
    atleast: Snippet | None
    hint: str
    once: bool  # PRE/CHECK/POST on the first occurrence only (keys with "submission_")

    @property
    def per_record(self) -> bool:
        return bool(self.pre or self.checks or self.post or self.first_checks or self.atleast)


@dataclass(frozen=True)
class RuleFile:
    name: str  # as enqueue_config names it: "<folder>/<file>.yaml"
    short: str  # "<file>.yaml"
    begin: Snippet | None
    keys: dict
    end_pre: Snippet | None
    end_checks: tuple
    end_hint: str
    active: dict = field(default_factory=dict)  # the keys' rules with per-record work

    def __post_init__(self):
        self.active.update((k, r) for k, r in self.keys.items() if r.per_record)

    def rule_ids(self) -> list[str]:
        """The id of every rule a log can break here, as findings name them in extra["rule"]:
        `<file>:<KEY>:REQ` (alternatives: `<file>:<a>|<b>:REQ`), `<file>:<KEY>:CHECK[i]`,
        `...:FIRST_CHECK[i]`, `...:ATLEAST_ONE_CHECK`, `<file>:END:CHECK[i]`."""
        out: list[str] = []
        for r in self.keys.values():
            if r.req in ("EXACTLY_ONE", "AT_LEAST_ONE", "AT_LEAST"):
                out.append(f"{r.rule}:REQ")
            elif r.req == "AT_LEAST_ONE_OR":
                group = f"{self.short}:{'|'.join(sorted(r.alternatives))}:REQ"
                if group not in out:
                    out.append(group)
            out += [c.rule for c in (*r.checks, *r.first_checks)]
            if r.atleast is not None:
                out.append(r.atleast.rule)
        return out + [c.rule for c in self.end_checks]


def _split_comment(source: str) -> tuple[str, str]:
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                lines = source.splitlines()
                row, col = tok.start
                expr = "\n".join(lines[:row - 1] + [lines[row - 1][:col]]).strip()
                return expr, tok.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return source, ""


def _snippet(text, mode: str, rule: str, path: Path) -> Snippet:
    if not isinstance(text, str):
        raise RulesError(f"{path}: {rule}: expected code as a string, found {text!r}")
    source = text.strip()
    try:
        code = compile(source, f"<{rule}>", mode)
    except SyntaxError as e:
        raise RulesError(f"{path}: {rule}: the code does not compile ({e.msg}): {source}") \
            from None
    expr, why = _split_comment(source)
    return Snippet(rule, source, expr, why, code, _function_body(source, mode), mode)


# Names whose meaning inside a function differs from their meaning in eval/exec with a locals
# dict (they look at the locals).
_LOCALS_NAMES = frozenset({"locals", "vars", "dir", "eval", "exec", "globals", "__builtins__"})
_SCOPES = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Global, ast.Nonlocal,
           ast.NamedExpr, ast.alias, ast.ExceptHandler, ast.arg)


def _function_body(source: str, mode: str) -> CodeType | None:
    """`def _(ll, v): return (<expr>)` (mode eval) or `def _(ll, v): <statements>` (exec),
    compiled, when the snippet binds no name and opens no scope, so that every name it reads
    resolves as eval/exec resolves it (ll and v first, then the rule file's globals); else
    None."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, _SCOPES) or (isinstance(node, ast.Name) and (
                not isinstance(node.ctx, ast.Load) or node.id in _LOCALS_NAMES)):
            return None
    body = [ast.Return(tree.body)] if mode == "eval" else tree.body or [ast.Pass()]
    fn = ast.FunctionDef(name="_snippet", args=ast.arguments(
        posonlyargs=[], args=[ast.arg("ll"), ast.arg("v")], kwonlyargs=[], kw_defaults=[],
        defaults=[]), body=body, decorator_list=[], returns=None, type_params=[])
    module = ast.fix_missing_locations(ast.Module(body=[fn], type_ignores=[]))
    code = compile(module, "<snippet>", "exec")
    return next(c for c in code.co_consts if isinstance(c, CodeType))


def _snippets(value, rule: str, path: Path) -> tuple:
    items = value if isinstance(value, list) else [value]
    return tuple(_snippet(t, "eval", f"{rule}[{i}]", path) for i, t in enumerate(items, 1))


def _parse_req(req, rule: str, path: Path) -> tuple[str | None, int, frozenset]:
    if req is None:
        return None, 0, frozenset()
    if not isinstance(req, str):
        raise RulesError(f"{path}: {rule}: REQ must be a string, found {req!r}")
    if req in ("OPTIONAL", "EXACTLY_ONE", "AT_LEAST_ONE"):
        return req, 0, frozenset()
    if req.startswith("AT_LEAST_ONE_OR(") and req.endswith(")"):
        alts = [a.strip() for a in req[len("AT_LEAST_ONE_OR("):-1].split(",")]
        return "AT_LEAST_ONE_OR", 0, frozenset(a for a in alts if a)
    if req.startswith("AT_LEAST(") and req.endswith(")"):
        try:
            return "AT_LEAST", int(req[len("AT_LEAST("):-1]), frozenset()
        except ValueError:
            pass
    raise RulesError(f"{path}: {rule}: unknown REQ {req!r}; the language has "
                     + ", ".join(REQ_FORMS))


def load_rule_file(path: Path, name: str) -> RuleFile | None:
    """Load and compile one rule file; None if the YAML is a mapping (not a rule file, e.g. the
    package rules beside them)."""
    try:
        with open(path, encoding="utf-8") as f:
            items = yaml.load(f, Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise RulesError(f"{path}: cannot read the rule file: {e}") from None
    short = posixpath.basename(name)
    if isinstance(items, dict):
        return None
    if items is None:
        items = []
    if not isinstance(items, list):
        raise RulesError(f"{path}: a rule file is a YAML list of BEGIN, KEY and END items")
    begin = end_pre = None
    end_checks: tuple = ()
    end_hint = ""
    keys: dict[str, KeyRule] = {}
    seen_begin = seen_end = False
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or len(item) != 1:
            raise RulesError(f"{path}: item {n} is not one of BEGIN, KEY, END")
        (kind, body), = item.items()
        if not isinstance(body, dict):
            raise RulesError(f"{path}: item {n} ({kind}) has no fields")
        if kind == "BEGIN":
            if seen_begin:
                raise RulesError(f"{path}: more than one BEGIN block")
            seen_begin = True
            if set(body) - {"CODE"}:
                raise RulesError(f"{path}: BEGIN has fields other than CODE: {sorted(body)}")
            if "CODE" in body:
                begin = _snippet(body["CODE"], "exec", f"{short}:BEGIN", path)
        elif kind == "END":
            if seen_end:
                raise RulesError(f"{path}: more than one END block")
            seen_end = True
            unknown = set(body) - END_FIELDS
            if unknown:
                raise RulesError(f"{path}: END has unknown fields {sorted(unknown)}")
            if "PRE" in body:
                end_pre = _snippet(body["PRE"], "exec", f"{short}:END:PRE", path)
            if "CHECK" in body:
                end_checks = _snippets(body["CHECK"], f"{short}:END:CHECK", path)
            end_hint = body.get("HINT", "")
        elif kind == "KEY":
            name_ = body.get("NAME")
            if not isinstance(name_, str) or not name_:
                raise RulesError(f"{path}: item {n} (KEY) has no NAME")
            unknown = set(body) - KEY_FIELDS
            if unknown:
                raise RulesError(f"{path}: KEY {name_} has unknown fields {sorted(unknown)}")
            base = f"{short}:{name_}"
            req, req_n, alts = _parse_req(body.get("REQ"), f"{base}:REQ", path)
            keys[name_] = KeyRule(  # a later KEY of the same name replaces it, as in mlperf
                name=name_, rule=base, req=req, req_n=req_n,
                alternatives=alts | {name_} if req == "AT_LEAST_ONE_OR" else alts,
                pre=_snippet(body["PRE"], "exec", f"{base}:PRE", path) if "PRE" in body else None,
                checks=_snippets(body["CHECK"], f"{base}:CHECK", path) if "CHECK" in body else (),
                post=(_snippet(body["POST"], "exec", f"{base}:POST", path)
                      if "POST" in body else None),
                first_checks=(_snippets(body["FIRST_CHECK"], f"{base}:FIRST_CHECK", path)
                              if "FIRST_CHECK" in body else ()),
                atleast=(_snippet(body["ATLEAST_ONE_CHECK"], "eval",
                                  f"{base}:ATLEAST_ONE_CHECK", path)
                         if "ATLEAST_ONE_CHECK" in body else None),
                hint=body.get("HINT", "") if isinstance(body.get("HINT", ""), str) else "",
                once="submission_" in name_,
            )
        else:
            raise RulesError(f"{path}: item {n} is {kind!r}, not one of BEGIN, KEY, END")
    for rule in keys.values():
        # mlperf-logging looks the alternatives up among the file's own keys (KeyError if not)
        undefined = sorted(rule.alternatives - set(keys))
        if undefined:
            raise RulesError(f"{path}: {rule.rule}:REQ: the alternatives {', '.join(undefined)} "
                             "are not KEYs of this file")
    return RuleFile(name, short, begin, keys, end_pre, end_checks, end_hint)


@dataclass
class CheckOutcome:
    diagnostics: list[Diagnostic]
    chain: list[str]  # the rule files applied, in order
    records: int



@dataclass
class Ruleset:
    """A named set of rule files in one folder, entered at `<folder>/common.yaml`."""
    name: str  # e.g. "hpc-2.0.0"
    folder: str  # e.g. "hpc_2.0.0"
    root: Path  # the folder's parent: enqueue_config names are relative to it
    files: list[RuleFile]
    entry: str = ""
    index: dict = field(init=False)
    exact_keys: frozenset = field(init=False)

    def __post_init__(self):
        self.entry = self.entry or f"{self.folder}/common.yaml"
        self.index = {rf.name: i for i, rf in enumerate(self.files)}
        if self.entry not in self.index:
            raise RulesError(f"{self.root / self.entry}: the ruleset {self.name} has no entry "
                             "rule file")
        self.exact_keys = frozenset(k for rf in self.files for k, r in rf.keys.items()
                                    if r.req == "EXACTLY_ONE")

    @classmethod
    def load(cls, name: str, root: Path, folder: str) -> Ruleset:
        d = Path(root) / folder
        if not (d / "common.yaml").is_file():
            raise RulesError(f"{d}: no common.yaml, so not a ruleset folder")
        files = []
        for p in sorted(d.glob("*.yaml")):
            rf = load_rule_file(p, f"{folder}/{p.name}")
            if rf is not None:
                files.append(rf)
        return cls(name, folder, Path(root), files)

    def file_names(self) -> list[str]:
        return [rf.short for rf in self.files]

    def check(self, records: Iterable[Record], path: str = "",
              observe: Callable[[str], Callable[[Record], None] | None] | None = None,
              reopen: Callable[[], Iterable[Record]] | None = None) -> CheckOutcome:
        """Run the ruleset over records (parser.iter_records) in one pass.

        `observe(key)` gives a function to call with every record of that key, or None (the
        run summary's Summarizer.handler: asked once per key). `reopen` gives the records
        again from the start; it is called only when a rule file is enqueued after the first
        PREFIX_RECORDS records (rule files are normally enqueued by the submission_* records at
        the top of a log) or by an END block."""
        pass_ = _Pass(self, path, reopen)
        pass_.activate(-1)
        # One lookup per record: a key's slot holds its count, the summary's function for it
        # and the started rule files' rules for it (activate updates those).
        slots = pass_.slots
        slots_get = slots.get
        exact = pass_.exact
        prefix = pass_.prefix
        notify = pass_.notify
        new_slot = pass_.new_slot
        new_logline = _new_logline
        pos = -1
        for pos, rec in enumerate(records):
            if pos < PREFIX_RECORDS:
                prefix.append(rec)
            key = rec.key
            slot = slots_get(key)
            if slot is None:
                slot = new_slot(key, observe)
            c = slot[0] = slot[0] + 1
            if slot[3]:
                _track_exact(exact, key, rec.value, rec.line, c)
            seen = slot[1]
            if seen is not None:
                seen(rec)
            handlers = slot[2]
            if handlers is None:
                continue
            v = {"value": rec.value, "metadata": rec.metadata}
            ll = new_logline(LogLine, (rec, rec.time_ms, key, v, rec.index, rec.line))
            for run, rule in handlers:
                run.on_record(rule, ll, v)
            if notify:
                pass_.activate(pos)
        pass_.last = pos
        diagnostics, chain = pass_.assemble()
        pass_.release()
        return CheckOutcome(diagnostics, chain, pos + 1)

    def lookup(self, name) -> int | None:
        """The index of the rule file `enqueue_config(name)` names, if it is one of ours."""
        if not isinstance(name, str):
            return None
        i = self.index.get(name)
        return i if i is not None else self.index.get(posixpath.normpath(name))

    def missing(self, name, origin, path) -> Diagnostic:
        """SP303 for a rule file enqueued but not in this ruleset, saying what it has."""
        wanted = posixpath.basename(str(name))
        prefix = wanted.split("_", 1)[0] + "_" if "_" in wanted else ""
        known = sorted(f[len(prefix):-len(".yaml")] for f in self.file_names()
                       if prefix and f.startswith(prefix) and f != f"{prefix}common.yaml")
        has = (f"its {prefix.rstrip('_')} rules are for: {', '.join(known)}" if known
               else f"its rule files are: {', '.join(self.file_names())}")
        line = key = None
        asked = "a BEGIN or END block"
        if origin is not None:
            line, key, value = origin
            asked = f"{key} = {_show(value)}"
        return codes.make(
            "SP303", f"the ruleset {self.name} has no rule file {wanted} (asked for by "
                     f"{asked}), so that value is not one it knows; {has}",
            path=path, line=line, key=key)


class _Pass:
    """One log going through a ruleset: the rule files started so far (each with its own
    state) and what they share (occurrence counts, the first records)."""

    def __init__(self, ruleset: Ruleset, path: str, reopen):
        self.ruleset = ruleset
        self.path = path
        self.reopen = reopen
        self.runs: dict[int, _Run] = {}
        self.live: dict[str, tuple] = {}  # key -> ((run, rule), ...) of the started files
        # key -> [occurrences, observer or None, live[key] or None, EXACTLY_ONE somewhere]
        self.slots: dict[str, list] = {}
        self.exact: dict[str, list] = {}
        self.prefix: list[tuple] = []
        self.notify: list = [ruleset.entry]  # names enqueued and not yet looked at
        self.last = -1

    def activate(self, pos: int) -> None:
        """Start every rule file enqueued so far that is not running yet, bringing it up to
        record `pos` (inclusive) so that it has seen exactly what the others have."""
        live = self.live
        while self.notify:
            i = self.ruleset.lookup(self.notify.pop(0))
            if i is None or i in self.runs:
                continue
            run = _Run(self.ruleset.files[i], self.path, self.notify)
            self.runs[i] = run
            run.begin()
            if pos >= 0:
                self._replay(run, pos)
            slots = self.slots
            for key, rule in run.rf.active.items():
                handlers = live[key] = live.get(key, ()) + ((run, rule),)
                slot = slots.get(key)
                if slot is not None:
                    slot[2] = handlers

    def new_slot(self, key: str, observe) -> list:
        slot = self.slots[key] = [0, None if observe is None else observe(key),
                                  self.live.get(key), key in self.ruleset.exact_keys]
        return slot

    @property
    def counts(self) -> dict[str, int]:
        return {key: slot[0] for key, slot in self.slots.items()}

    def _replay(self, run: _Run, pos: int) -> None:
        if pos < len(self.prefix):
            records = self.prefix
        elif self.reopen is not None:
            records = self.reopen()
        else:
            raise RuntimeError("a rule file was enqueued late in a long log and the records "
                               "cannot be read again (no reopen given)")
        active = run.rf.active
        for n, rec in enumerate(records):
            if n > pos:
                break
            rule = active.get(rec.key)
            if rule is not None:
                v = {"value": rec.value, "metadata": rec.metadata}
                run.on_record(rule, LogLine(rec, rec.time_ms, rec.key, v, rec.index, rec.line), v)

    def release(self) -> None:
        """Break the runs' reference cycles (a run's globals hold its enqueue_config, its
        functions hold its globals): the report turns the cycle collector off for speed, and
        its check workers would otherwise keep every log's rule state to the end."""
        for run in self.runs.values():
            run.g.clear()
            run.fns.clear()
            run.current = None
        self.runs.clear()
        self.live.clear()
        self.slots.clear()
        self.prefix.clear()

    def assemble(self) -> tuple[list[Diagnostic], list[str]]:
        """Walk the enqueue chain from the entry file, as mlperf-logging's queue does, letting
        each file drop the earlier files' findings keyed on the keys it names."""
        rs = self.ruleset
        found: list[tuple[str | None, Diagnostic]] = []
        chain: list[str] = []
        queue = deque([(rs.entry, None)])
        counts = self.counts
        while queue:
            name, origin = queue.popleft()
            if len(chain) >= MAX_CHAIN:
                found.append((None, codes.make(
                    "SP304", f"the rule files of {rs.name} enqueued more than {MAX_CHAIN} "
                             f"files (last: {name}); the chain was cut there", path=self.path)))
                break
            i = rs.lookup(name)
            if i is None:
                found.append((None, rs.missing(name, origin, self.path)))
                continue
            if i not in self.runs:  # enqueued by an END block: it still sees every record
                self.notify.append(name)
                self.activate(self.last)
            run = self.runs[i]
            run.finish(counts, self.exact)
            chain.append(run.rf.short)
            keys = run.rf.keys
            found = [(k, d) for k, d in found if k is None or k not in keys]
            found.extend(run.found)
            queue.extend(run.enqueued)
        diagnostics, seen = [], set()
        for _, d in found:  # a file run twice repeats its unkeyed findings; show them once
            ident = (d.code, d.line, d.key, d.message)
            if ident not in seen:
                seen.add(ident)
                diagnostics.append(d)
        return diagnostics, chain


def _track_exact(exact: dict, key: str, value, line: int, count: int) -> None:
    """What an EXACTLY_ONE rule needs of a key, in constant memory: the first value, whether all
    values equal it (mlperf-logging's all_same), up to _MAX_DISTINCT distinct values, the
    second line and the first line whose value differs."""
    t = exact.get(key)
    if t is None:
        exact[key] = [value, True, [value], line, None, None]
        return
    if count == 2:
        t[4] = line
    try:
        if t[1] and not (value is t[0] or value == t[0]):
            t[1] = False
            t[5] = line
        if not t[1] and len(t[2]) < _MAX_DISTINCT and value not in t[2]:
            t[2].append(value)
    except RecursionError:  # values nested too deep to compare: count them as different
        if t[1]:
            t[1], t[5] = False, line


def _show(value) -> str:
    try:
        s = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        s = repr(value)
    return s if len(s) <= _SHOW else s[:_SHOW] + "..."


class _Run:
    """One rule file applied to one log: its own state `s`, findings and enqueued files."""

    __slots__ = ("rf", "path", "s", "g", "done", "first_seen", "atleast", "found", "enqueued",
                 "notify", "current", "finished", "fns")

    def __init__(self, rf: RuleFile, path: str, notify: list):
        self.rf = rf
        self.path = path
        self.s: dict = {}
        self.g = {"enqueue_config": self._enqueue, "s": self.s, "is_integer": is_integer,
                  "math": math, "__builtins__": builtins}
        self.fns: dict = {}  # Snippet -> its function over self.g (_function)
        self.done: set = set()
        self.first_seen: set = set()
        self.atleast: dict = {}  # key -> [passed, checked, last LogLine]
        self.found: list[tuple[str | None, Diagnostic]] = []
        self.enqueued: list = []
        self.notify = notify
        self.current: LogLine | None = None
        self.finished = False

    def _enqueue(self, config) -> None:
        ll = self.current
        origin = (ll.line, ll.key, ll.value.get("value") if isinstance(ll.value, dict)
                  else None) if ll is not None else None
        self.enqueued.append((config, origin))
        self.notify.append(config)

    def _add(self, keyed: str | None, code: str, message: str, *, line=None, key=None,
             hint=None, rule: str = "") -> None:
        extra = {"rule": rule} if rule else {}
        self.found.append((keyed, codes.make(code, message, path=self.path, line=line, key=key,
                                             hint=hint, **extra)))

    def begin(self) -> None:
        b = self.rf.begin
        if b is not None:
            try:
                exec(b.code, self.g, {"s": self.s})
            except Exception as e:
                self._add(None, "SP205", f"the BEGIN code of {self.rf.short} raised "
                                         f"{type(e).__name__}: {e}", rule=b.rule)

    def on_record(self, rule: KeyRule, ll: LogLine, v: dict) -> None:
        self.current = ll
        key = rule.name
        fns = self.fns
        if key not in self.done:
            if rule.pre is not None:
                self._exec(rule.pre, ll, v, rule)
            for c in rule.checks:
                f = fns.get(c) or self._function(c)
                try:
                    ok = bool(f(ll, v))
                except Exception as e:
                    self._raised(c, e, ll, rule)
                else:
                    if not ok:
                        self._failed("SP201", c, ll, rule)
            if rule.post is not None:
                self._exec(rule.post, ll, v, rule)
            if rule.once:
                self.done.add(key)
        if rule.first_checks and key not in self.first_seen:
            self.first_seen.add(key)
            for c in rule.first_checks:
                f = fns.get(c) or self._function(c)
                try:
                    ok = bool(f(ll, v))
                except Exception as e:
                    self._raised(c, e, ll, rule)
                else:
                    if not ok:
                        self._failed("SP202", c, ll, rule)
        a = rule.atleast
        if a is not None:
            tally = self.atleast.get(key)
            if tally is None:
                tally = self.atleast[key] = [0, 0, ll]
            tally[1] += 1
            tally[2] = ll
            f = fns.get(a) or self._function(a)
            try:
                ok = bool(f(ll, v))
            except Exception as e:
                # mlperf-logging does not catch this one: its checker stops with a traceback
                self._raised(a, e, ll, rule, keyed=False)
            else:
                if ok:
                    tally[0] += 1

    def _function(self, snip: Snippet):
        """The snippet as a function of (ll, v) over this run's globals (made once per run):
        its compiled body where it has one, else eval/exec with {"ll": ll, "v": v} as locals,
        as mlperf-logging runs every snippet."""
        g = self.g
        if snip.body is not None:
            f = FunctionType(snip.body, g)
        else:
            f = _evaluator(snip.code, g, eval if snip.mode == "eval" else exec)
        self.fns[snip] = f
        return f

    def _exec(self, snip: Snippet, ll: LogLine, v: dict, rule: KeyRule) -> None:
        f = self.fns.get(snip) or self._function(snip)
        try:
            f(ll, v)
        except Exception as e:
            self._raised(snip, e, ll, rule)

    def _raised(self, snip: Snippet, e: Exception, ll: LogLine, rule: KeyRule,
                keyed: bool = True) -> None:
        part = snip.rule.split(":", 2)[2]
        self._add(rule.name if keyed else None, "SP205",
                  f"{rule.name} = {_show(_value(ll))}: the rule's {part} code raised "
                  f"{type(e).__name__}: {e} (code: {snip.source})",
                  line=ll.line, key=rule.name, hint=rule.hint or None,
                  rule=snip.rule)

    def _failed(self, code: str, c: Snippet, ll: LogLine, rule: KeyRule) -> None:
        shown = f"{rule.name} = {_show(_value(ll))}"
        if "metadata" in c.expr:
            shown += f" (metadata {_show_metadata(ll)})"
        kind = "FIRST_CHECK" if code == "SP202" else "CHECK"
        msg = (f"{shown}: {c.why} [{kind}: {c.expr}]" if c.why
               else f"{shown} fails the {kind} {c.expr}") + _state_note(c.expr, self.s)
        hint = rule.hint or f"Change what is logged as {rule.name} so that `{c.expr}` holds."
        self._add(rule.name, code, msg, line=ll.line, key=rule.name, hint=hint, rule=c.rule)

    def finish(self, counts: dict, exact: dict) -> None:
        """ATLEAST_ONE_CHECK tallies, REQ counts and the END block (once per run)."""
        if self.finished:
            return
        self.finished = True
        self.current = None  # what END code enqueues has no record behind it
        keys = self.rf.keys
        for key, (passed, checked, last) in self.atleast.items():
            if passed:
                continue
            rule = keys[key]
            a = rule.atleast
            shown = _show(_value(last))
            if "metadata" in a.expr:
                shown += f" with metadata {_show_metadata(last)}"
            self._add(None, "SP203",
                      (f"{a.why}: " if a.why else "") + f"no {key} record satisfies "
                      f"{a.expr} ({checked} checked; the last, line {last.line}, is "
                      f"{shown}){_state_note(a.expr, self.s)}",
                      line=last.line, key=key, hint=rule.hint or None, rule=a.rule)
        alternatives = set()
        for key, rule in keys.items():
            req = rule.req
            if req is None or req == "OPTIONAL":
                continue
            n = counts.get(key, 0)
            where = f"{rule.rule}:REQ"
            if req == "EXACTLY_ONE" and n != 1:
                t = exact.get(key)
                if n and t[1]:
                    self._add(key, "SP103", f"{key} is required exactly once but occurs {n} "
                                            f"times, all {_show(t[0])}", line=t[4], key=key,
                              hint=rule.hint or None, rule=where)
                elif n:
                    shown = ", ".join(map(_show, t[2]))
                    shown += ", ..." if len(t[2]) >= _MAX_DISTINCT else ""
                    self._add(key, "SP102", f"{key} is required exactly once but occurs {n} "
                                            f"times with different values: {shown}",
                              line=t[5], key=key, hint=rule.hint or None, rule=where)
                else:
                    self._add(key, "SP101", f"{key} is required exactly once but is missing",
                              key=key, hint=rule.hint or None, rule=where)
            elif req == "AT_LEAST_ONE" and n < 1:
                self._add(key, "SP104", f"{key} is required at least once but is missing",
                          key=key, hint=rule.hint or None, rule=where)
            elif req == "AT_LEAST" and n < rule.req_n:
                self._add(key, "SP105", f"{key} is required at least {rule.req_n} times but "
                                        f"occurs {n} times", key=key, hint=rule.hint or None,
                          rule=where)
            elif req == "AT_LEAST_ONE_OR":
                alternatives.add((rule.alternatives, key))
        done_alts = set()
        for alts, key in sorted(alternatives, key=lambda a: a[1]):
            if alts in done_alts:
                continue
            done_alts.add(alts)
            if not any(counts.get(k) for k in alts):
                names = " or ".join(sorted(alts))
                self._add(None, "SP106", f"at least one of {names} is required but none occurs",
                          key=key, hint=keys[key].hint or None,
                          rule=f"{self.rf.short}:{'|'.join(sorted(alts))}:REQ")
        if self.rf.end_pre is not None:
            try:
                exec(self.rf.end_pre.code, self.g)
            except Exception as e:
                self._add(None, "SP205", f"the END code of {self.rf.short} raised "
                                         f"{type(e).__name__}: {e}", rule=self.rf.end_pre.rule)
        for c in self.rf.end_checks:
            try:
                ok = bool(eval(c.code, self.g))
            except Exception as e:
                self._add(None, "SP205", f"the END check {c.source} of {self.rf.short} raised "
                                         f"{type(e).__name__}: {e}",
                          hint=self.rf.end_hint or None, rule=c.rule)
            else:
                if not ok:
                    msg = (f"{c.why} [END CHECK: {c.expr}]" if c.why
                           else f"the end-of-log check {c.expr} fails") + _state_note(c.expr,
                                                                                     self.s)
                    self._add(None, "SP204", msg, hint=self.rf.end_hint or None,
                              rule=c.rule)


def _evaluator(code: CodeType, g: dict, run):
    """A snippet without a function body, run as mlperf-logging runs it."""
    def evaluate(ll, v):
        return run(code, g, {"ll": ll, "v": v})
    return evaluate


_STATE_REF = re.compile(r"""\bs\[\s*(['"])(\w+)\1\s*\]""")


def _state_note(expr: str, s: dict) -> str:
    """The current values of the state entries an expression reads (`s['x']`), for messages."""
    names = dict.fromkeys(m.group(2) for m in _STATE_REF.finditer(expr))
    shown = [f"s['{n}'] = {_show(s[n])}" for n in names if n in s]
    return f" (with {', '.join(shown)})" if shown else ""


def _show_metadata(ll: LogLine) -> str:
    """The record's metadata without the emitter's own `file` and `lineno`."""
    md = ll.value.get("metadata") if isinstance(ll.value, dict) else None
    if isinstance(md, dict):
        md = {k: v for k, v in md.items() if k not in ("file", "lineno")}
    return _show(md)


def _value(ll: LogLine):
    return ll.value.get("value") if isinstance(ll.value, dict) else ll.value
