"""`check-compliance PATH... [--ruleset NAME] [--format text|json|github] [--jobs N] [--werror]
[--quiet] [--package | --no-package] [--bypass FILE]`: the reviewers' checker.

Exit status: 0 every log (and submission package) is compliant; 1 something is not; 2 the tool
could not run (bad arguments, a PATH that does not exist, unreadable rules, no log found, or no
log that could be checked at all, e.g. MLPerf logs without --ruleset).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import registry
from .api import FAIL, PASS, FileResult, PathError
from .diagnostics import ERROR, WARNING, Diagnostic
from .package import PackageConfigError
from .parser import printable
from .pipeline import PackageRequestError, PackageResult, check_paths
from .rules import RulesError
from .waivers import BypassError, load_bypass

EXIT_OK, EXIT_FAIL, EXIT_TOOL = 0, 1, 2
PROG = "check-compliance"


class ToolError(Exception):
    """The tool cannot run; the message says why (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Check MLLOG result files (and whole submission trees) against a SciPerf or "
                    "MLPerf HPC ruleset. Exit status: 0 compliant, 1 not compliant, 2 the tool "
                    "could not run.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a log file, or a directory searched recursively for result_*.txt")
    p.add_argument("--ruleset", metavar="NAME",
                   help="the ruleset to check against (default: the one each log names in its "
                        f"sciperf_ruleset record); one of: {', '.join(registry.available())}")
    p.add_argument("--format", choices=("text", "json", "github"), default="text",
                   help="text (a linter's lines and a summary), json (one object), github "
                        "(workflow annotations)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="check N logs at once (0: one per core; default 1)")
    p.add_argument("--werror", action="store_true", help="treat warnings as errors")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="do not show warnings (ignored with --werror)")
    pkg = p.add_mutually_exclusive_group()
    pkg.add_argument("--package", action="store_true",
                     help="run the submission package checks on each PATH (they run by "
                          "themselves when a PATH holds a submission tree)")
    pkg.add_argument("--no-package", action="store_true",
                     help="check the logs only, even in a submission tree")
    p.add_argument("--bypass", metavar="FILE",
                   help="waive package checks as a review agreed (a YAML file, see "
                        "docs/submitting.md); waived findings stay in the output as warnings")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse's own exit (2 for bad arguments, 0 for --help)
        return int(e.code or 0) if isinstance(e.code, int) or e.code is None else EXIT_TOOL
    if args.jobs < 0:
        return _tool_error("--jobs must be 0 (one per core) or more")
    if args.ruleset is not None and args.ruleset not in registry.available():
        return _tool_error(f"unknown ruleset {args.ruleset!r}; known: "
                           f"{', '.join(registry.available())}")
    try:
        bypass = load_bypass(args.bypass) if args.bypass else None
        checked = check_paths(args.paths, ruleset=args.ruleset, jobs=args.jobs,
                              werror=args.werror, bypass=bypass,
                              package_checks=False if args.no_package else
                              (True if args.package else None))
        results, packages = checked.logs, checked.packages
        if not results and not packages:
            raise ToolError("no result_*.txt found under " + ", ".join(args.paths))
    except (PathError, RulesError, registry.UnknownRuleset, ToolError, PackageConfigError,
            PackageRequestError, BypassError) as e:
        return _tool_error(str(e))
    except KeyboardInterrupt:
        return _tool_error("interrupted")
    status = _exit_status(results, packages)
    show_warnings = args.werror or not args.quiet
    out = sys.stdout
    try:
        if args.format == "json":
            json.dump(_json_report(args, results, packages, status, show_warnings), out,
                      indent=2)
            out.write("\n")
        elif args.format == "github":
            _github_report(results, packages, status, show_warnings, out)
        else:
            _text_report(results, packages, status, show_warnings, out)
        out.flush()
    except BrokenPipeError:  # e.g. piped into head: the exit status still tells the verdict
        sys.stderr.close()
    return status


def _tool_error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_TOOL


def _exit_status(results: list[FileResult], packages: list[PackageResult]) -> int:
    if results and not any(r.checked for r in results) and not packages:
        return EXIT_TOOL
    if any(r.verdict == FAIL for r in results) or any(p.verdict == FAIL for p in packages):
        return EXIT_FAIL
    return EXIT_OK


# -- output -----------------------------------------------------------------------------------

def _visible(diags: list[Diagnostic], show_warnings: bool) -> list[Diagnostic]:
    return [d for d in diags if show_warnings or d.severity != WARNING]


def _counts(results, packages) -> dict:
    diags = [d for r in [*results, *packages] for d in r.diagnostics]
    return {
        "files": len(results),
        "pass": sum(r.verdict == PASS for r in results),
        "fail": sum(r.verdict == FAIL for r in results),
        "unchecked": sum(not r.checked for r in results),
        "packages": len(packages),
        "packages_fail": sum(p.verdict == FAIL for p in packages),
        "errors": sum(d.severity == ERROR for d in diags),
        "warnings": sum(d.severity == WARNING for d in diags),
    }


def _summary_line(results, packages, status) -> str:
    c = _counts(results, packages)
    rulesets = sorted({r.ruleset for r in results if r.ruleset})
    text = (f"{c['files']} log{'s' * (c['files'] != 1)} checked"
            + (f" ({', '.join(rulesets)})" if rulesets else "")
            + f": {c['pass']} compliant, {c['fail']} not compliant")
    if c["unchecked"]:
        text += f" ({c['unchecked']} could not be checked)"
    if packages:
        text += (f"; {c['packages']} submission package{'s' * (c['packages'] != 1)}: "
                 f"{c['packages'] - c['packages_fail']} compliant, {c['packages_fail']} not")
    text += f"; {c['errors']} error{'s' * (c['errors'] != 1)}, {c['warnings']} warning" \
            f"{'s' * (c['warnings'] != 1)}"
    verdict = {EXIT_OK: "PASS", EXIT_FAIL: "FAIL", EXIT_TOOL: "NOT CHECKED"}[status]
    return f"{verdict}: {text}"


def format_text(path: str, d: Diagnostic) -> str:
    """`path:line: CODE message (rule)` and, on the next line, the hint."""
    where = f"{path}:{d.line}:" if d.line is not None else f"{path}:"
    sev = " warning:" if d.severity == WARNING else ""
    rule = d.extra.get("rule")
    text = printable(f"{where} {d.code}{sev} {d.message}" + (f" (rule {rule})" if rule else ""))
    if d.hint:
        text += f"\n    hint: {printable(d.hint)}"
    return text


def _text_report(results, packages, status, show_warnings, out) -> None:
    for r in [*results, *packages]:
        for d in _visible(r.diagnostics, show_warnings):
            out.write(format_text(d.path if isinstance(r, PackageResult) and d.path else r.path,
                                  d) + "\n")
    out.write(_summary_line(results, packages, status) + "\n")


def _json_report(args, results, packages, status, show_warnings) -> dict:
    def entry(r):
        j = r.to_json()
        j["diagnostics"] = [d.to_json() for d in _visible(r.diagnostics, show_warnings)]
        return j
    return {
        "tool": PROG,
        "ruleset": args.ruleset,
        "files": [entry(r) for r in results],
        "packages": [entry(p) for p in packages],
        "summary": {**_counts(results, packages), "exit_status": status},
    }


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github_report(results, packages, status, show_warnings, out) -> None:
    cwd = os.getcwd()
    for r in [*results, *packages]:
        for d in _visible(r.diagnostics, show_warnings):
            level = "warning" if d.severity == WARNING else "error"
            props = [f"file={_gh_escape(printable(os.path.relpath(r.abspath, cwd)), True)}"]
            if d.line is not None:
                props.append(f"line={d.line}")
            title = printable(d.code + (" " + d.key if d.key else ""))
            props.append(f"title={_gh_escape(title, True)}")
            body = printable(d.message) + (f"\n{printable(d.hint)}" if d.hint else "")
            out.write(f"::{level} {','.join(props)}::{_gh_escape(body)}\n")
    out.write(_summary_line(results, packages, status) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
