"""`sciperf report ROOT... --out DIR [--ruleset NAME] [--jobs N] [--bypass FILE] [--title T]`

Scores every submission tree under the ROOTs after running the compliance and package checks,
and writes DIR/results.csv, results.json, rejected.json, results.md, index.html and the plots
(time_to_train.png, strong_scaling.png, weak_throughput.png, blueprint_panel.png,
inference.png), all at once: DIR holds either the previous report or this one, never a mix.

Exit status: 0 the report was written (results kept out of the tables are part of the report,
listed in rejected.json); 2 the report could not be made (bad arguments, no submission found,
DIR inside a reported tree or not writable, interrupted).
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from compliance.parser import printable
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
                   help="waive package checks as a review agreed (YAML, the file "
                        "check-compliance --bypass reads); waived findings do not keep a "
                        "result out")
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
    """Write every output of `report` into `out` (the plots drawn in `jobs` processes) whole or
    not at all: into a new folder beside it, put in its place at the end (the previous report
    stays whole if this one is interrupted or fails). Returns name -> path."""
    from reports import blueprint, render
    from reports.plots import render_plots

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise OSError(errno.ENOTDIR, "not a folder", str(out))
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        plots = render_plots(report.results, jobs, report.inference)
        files: dict[str, str | bytes] = dict(plots)
        results = blueprint.placed(report.results)  # each result's place in its comparison
        files["results.csv"] = render.results_csv(results)
        files["results.json"] = render.to_json(results)
        files["rejected.json"] = render.to_json(report.rejected)
        files["results.md"] = render.results_md(report.results, report.rejected, title,
                                                report.inference)
        files["inference.json"] = render.to_json(report.inference)
        files["inference.csv"] = render.inference_csv(report.inference)
        files["index.html"] = render.results_html(report.results, report.rejected,
                                                  report.systems, plots, roots, title,
                                                  gated=report.gated,
                                                  inference=report.inference)
        for name, content in files.items():
            if isinstance(content, bytes):
                (staging / name).write_bytes(content)
            else:
                (staging / name).write_text(content, encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide a published page
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: out / name for name in files}


def _swap_in(staging: Path, out: Path) -> None:
    """Put the staged folder where `out` is, with Ctrl-C and SIGTERM held off for the two
    renames, so that `out` is always one whole report (the old one, then the new one)."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
        os.rename(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _inside(path: Path, roots: list[str]) -> str | None:
    """The ROOT that `path` lies in (or is), if any."""
    here = os.path.realpath(path)
    for root in roots:
        r = os.path.realpath(root)
        if here == r or here.startswith(r.rstrip(os.sep) + os.sep):
            return root
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage error
        return 0 if e.code == 0 else 2
    if args.jobs < 1:
        print("sciperf report: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    inside = _inside(Path(args.out), args.roots)
    if inside is not None:
        print(f"sciperf report: error: --out {printable(args.out)} lies inside {printable(inside)}, "
              "a tree being reported: the report would be written into a submission; give a "
              "folder outside it", file=sys.stderr)
        return 2

    # A short-lived batch job: parsing ~200,000 log records makes and drops millions of small
    # objects that reference counting frees on its own; the cycle collector only rescans them
    # (about 20 % of the report's wall time on the v2.0 corpus). The check workers fork from
    # here and inherit the setting.
    gc.disable()
    from compliance.api import PathError
    from compliance.package import PackageConfigError
    from compliance.registry import UnknownRuleset
    from compliance.rules import RulesError
    from compliance.waivers import BypassError, load_bypass
    from reports.aggregate import ReportError, build_report

    out = Path(args.out)
    try:
        bypass = load_bypass(args.bypass) if args.bypass else None
        report = build_report(args.roots, ruleset=args.ruleset, jobs=args.jobs, gate=True,
                              bypass=bypass, while_checking=load_renderers)
        written = write_report(report, out, args.roots, args.title, args.jobs)
    except (ReportError, PathError, PackageConfigError, UnknownRuleset, RulesError,
            BypassError) as e:
        print(f"sciperf report: error: {printable(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"sciperf report: error: cannot write {printable(str(e.filename or out))}: "
              f"{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sciperf report: error: interrupted; {printable(str(out))} is as it was",
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
        print(printable(f"  kept out: {r['submitter']} {r['system']} {r['benchmark']} "
                        f"({r['scaling']}): {first['code']} {first['message']}")
              + (f" (+{more} more)" if more > 0 else ""))
    print(f"sciperf report: wrote {out}/: " + ", ".join(sorted(written)))
    print(f"sciperf report: open {written['index.html'].resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
