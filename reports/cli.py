"""`sciperf report ROOT... --out DIR [--ruleset NAME] [--jobs N]`

Scores every submission tree under the ROOTs after running the compliance and package checks,
and writes DIR/results.csv, results.json, rejected.json, results.md, index.html and the plots
(time_to_train.png, weak_throughput.png).

Exit status: 0 the report was written (results kept out of the tables are part of the report,
listed in rejected.json); 2 the report could not be made (bad arguments, no submission found,
the checker unavailable, DIR not writable).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from sciperf import vocab

OUTPUTS = ("results.csv", "results.json", "rejected.json", "results.md", "index.html")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sciperf report",
        description="Score compliant submissions and publish the tables (CSV, JSON, Markdown, "
                    "HTML) and plots. Results that fail the compliance or package checks are "
                    "listed in rejected.json with the reasons, not scored.")
    p.add_argument("roots", nargs="+", metavar="ROOT",
                   help="a submission (ORG/ with results/ and systems/) or a folder of them")
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the report")
    p.add_argument("--ruleset", choices=(vocab.RULESET, *vocab.RULESETS_HPC),
                   help="check and score against this ruleset (default: detected from the logs)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="processes for the compliance checks (default: the CPU count)")
    p.add_argument("--bypass", metavar="FILE",
                   help="waive package checks as a review agreed (YAML, as check-compliance "
                        "--bypass reads it); waived findings do not keep a result out")
    p.add_argument("--title", default="SciPerf results", help="the page and document title")
    return p


def load_renderers() -> None:
    """Import matplotlib and compile the page template: half a second of the report's own time,
    spent while the compliance checks run in their worker processes."""
    import importlib

    from reports import render

    importlib.import_module("reports.plots")  # the import (matplotlib's) is the work
    render.page_template()


def write_report(report, out: Path, roots: list[str], title: str, jobs: int = 1
                 ) -> dict[str, Path]:
    """Write every output of `report` into `out` (the plots drawn in `jobs` processes);
    returns name -> path."""
    from reports import render
    from reports.plots import render_plots

    out.mkdir(parents=True, exist_ok=True)
    plots = render_plots(report.results, jobs)
    written = {}

    def put(name: str, content: str | bytes) -> None:
        path = out / name
        tmp = path.with_name(path.name + ".tmp")
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
        written[name] = path

    for name, png in plots.items():
        put(name, png)
    for stale in {"time_to_train.png", "weak_throughput.png"} - set(plots):
        (out / stale).unlink(missing_ok=True)  # an earlier report's plot must not linger
    put("results.csv", render.results_csv(report.results))
    put("results.json", render.to_json(report.results))
    put("rejected.json", render.to_json(report.rejected))
    put("results.md", render.results_md(report.results, report.rejected, title))
    put("index.html", render.results_html(report.results, report.rejected, report.systems,
                                          plots, roots, title, gated=report.gated))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage error
        return 0 if e.code == 0 else 2
    if args.jobs < 1:
        print("sciperf report: error: --jobs must be at least 1", file=sys.stderr)
        return 2

    # A short-lived batch job: parsing ~200,000 log records makes and drops millions of small
    # objects that reference counting frees on its own; the cycle collector only rescans them
    # (about 20 % of the report's wall time on the v2.0 corpus). The check workers fork from
    # here and inherit the setting.
    gc.disable()
    from reports.aggregate import ReportError, build_report

    try:
        # The checkers' own "cannot run" errors: a missing PATH, an unknown ruleset, unreadable
        # rules or package rules, a bad bypass file. Imported here so a missing module is
        # reported like them rather than as a traceback.
        from compliance.api import PathError
        from compliance.package import PackageConfigError, load_bypass
        from compliance.registry import UnknownRuleset
        from compliance.rules import RulesError
    except ImportError as e:
        print(f"sciperf report: error: the compliance checker is not available ({e})",
              file=sys.stderr)
        return 2
    try:
        bypass = load_bypass(args.bypass) if args.bypass else None
        report = build_report(args.roots, ruleset=args.ruleset, jobs=args.jobs, gate=True,
                              bypass=bypass, while_checking=load_renderers)
    except (ReportError, PathError, PackageConfigError, UnknownRuleset, RulesError) as e:
        print(f"sciperf report: error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        written = write_report(report, out, args.roots, args.title, args.jobs)
    except OSError as e:
        print(f"sciperf report: error: cannot write {e.filename or out}: {e.strerror or e}",
              file=sys.stderr)
        return 2
    strong = sum(r["scaling"] == "strong" for r in report.results)
    weak = len(report.results) - strong
    print(f"sciperf report: {len(report.results)} result(s) scored ({strong} strong, {weak} weak) "
          f"from {len(report.orgs)} submission(s); {len(report.rejected)} kept out "
          f"(see {written['rejected.json']})")
    for r in report.rejected:
        first = r["diagnostics"][0] if r["diagnostics"] else {"code": "", "message": ""}
        more = len(r["diagnostics"]) - 1
        print(f"  kept out: {r['submitter']} {r['system']} {r['benchmark']} ({r['scaling']}): "
              f"{first['code']} {first['message']}" + (f" (+{more} more)" if more > 0 else ""))
    print(f"sciperf report: wrote {out}/: " + ", ".join(sorted(written)))
    print(f"sciperf report: open {written['index.html'].resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
