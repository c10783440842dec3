"""Renderers: results.csv, results.json, rejected.json, results.md and index.html.

All of them read the same rows (reports/schema.py names the fields); the HTML page is one
self-contained file: inline CSS and vanilla JS, plots as data: URIs, nothing fetched.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from compliance.parser import printable
from reports import blueprint
from reports.schema import LIST_FIELDS, RESULT_FIELD_NAMES

DIVISION_ORDER = ("closed", "open")
MAX_DIAGNOSTICS_SHOWN = 10  # per kept-out result in the page and the Markdown; the JSON has all
STRONG_COLUMNS = [  # (header, field, format)
    ("Time to train (min)", "time_to_train_minutes", "{:.2f}"),
]
WEAK_COLUMNS = [
    ("Models", "number_of_models", "{}"),
    ("Instance scale", "instance_scale", "{}"),
    ("Time to train all (min)", "time_to_train_all_minutes", "{:.2f}"),
    ("Models / min", "models_per_minute", "{:.3f}"),
]


def benchmark_label(row: dict) -> str:
    """A benchmark as tables and plots name it; SciPerf results carry their data scale, since
    times at different scales are not comparable."""
    scale = row.get("data_scale")
    return f"{row['benchmark']} ({scale})" if scale else row["benchmark"]


def _division_key(d: str) -> tuple:
    return (DIVISION_ORDER.index(d) if d in DIVISION_ORDER else len(DIVISION_ORDER), d)


def fmt(value, spec: str = "{}") -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return spec.format(value)


# -- CSV / JSON ---------------------------------------------------------------------------------

def results_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RESULT_FIELD_NAMES)
    for r in rows:
        # Floats are written as repr (the shortest string that reads back to the same float).
        w.writerow([";".join(map(str, r[k])) if k in LIST_FIELDS and r[k] is not None
                    else "" if r[k] is None
                    else json.dumps(r[k], sort_keys=True) if isinstance(r[k], dict)
                    else r[k] for k in RESULT_FIELD_NAMES])
    return buf.getvalue()


def to_json(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- Markdown -----------------------------------------------------------------------------------

# Markdown is read by renderers that pass HTML through and make links: every character that
# could open markup is escaped with a backslash (CommonMark escapes any ASCII punctuation).
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]<>|&!~"})


def md_text(value) -> str:
    """Text a submitter controls, as Markdown shows it literally: on one line, control
    characters escaped, markup characters backslash-escaped."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    return printable(text).translate(_MD_SPECIAL)


def _md_cell(value) -> str:
    return md_text(value)


def _md_table(headers: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _system_cells(r: dict) -> list:
    return [r["submitter"], r["system"], r["availability"], r["host_processor_model_name"],
            r["host_processors_count"], r["accelerator_model_name"], r["accelerators_count"],
            r["framework"]]


SYSTEM_HEADERS = ["Submitter", "System", "Availability", "Processor", "#", "Accelerator", "#",
                  "Software"]


def _groups(rows: list[dict]):
    """(division, benchmark label) -> rows, in table order."""
    groups: dict[tuple, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (_division_key(r["division"]), benchmark_label(r),
                                         r["submitter"].lower(), r["system"].lower())):
        groups.setdefault((r["division"], benchmark_label(r)), []).append(r)
    return groups


def results_md(rows: list[dict], rejected: list[dict], title: str = "SciPerf results",
               inference: list[dict] | None = None) -> str:
    out = [f"# {md_text(title)}", "",
           f"{len(rows)} result(s) in the tables, {len(rejected)} kept out (see the end).",
           "Strong scaling: time to train in minutes, olympic mean of the runs (lower is better). "
           "Weak scaling: models trained concurrently, accelerators per model, minutes to train "
           "them all, and models per minute (higher is better).", ""]
    by_division: dict[str, dict] = {}
    for (division, label), group in _groups(rows).items():
        by_division.setdefault(division, {})[label] = group
    for division, benches in by_division.items():
        out += [f"## {md_text(division.capitalize())} division", ""]
        for label, group in benches.items():
            out += [f"### {md_text(label)}", ""]
            strong = [r for r in group if r["scaling"] == "strong"]
            weak = [r for r in group if r["scaling"] == "weak"]
            if strong:
                out += ["Strong scaling", ""]
                out += _md_table(SYSTEM_HEADERS + ["Nodes"] + [h for h, _, _ in STRONG_COLUMNS],
                                 [_system_cells(r) + [r["number_of_nodes"]]
                                  + [fmt(r[f], s) for _, f, s in STRONG_COLUMNS] for r in strong])
                out.append("")
            if weak:
                out += ["Weak scaling", ""]
                out += _md_table(SYSTEM_HEADERS + ["Nodes"] + [h for h, _, _ in WEAK_COLUMNS],
                                 [_system_cells(r) + [r["number_of_nodes"]]
                                  + [fmt(r[f], s) for _, f, s in WEAK_COLUMNS] for r in weak])
                out.append("")
    out += blueprint.comparison_md(rows)  # a blueprint's method-comparison table
    if inference:
        out += inference_md(inference)
    if rejected:
        out += ["## Kept out of the tables", ""]
        out += _md_table(["Submitter", "System", "Benchmark", "Scaling", "Why"],
                         [[r["submitter"], r["system"], r["benchmark"],
                           r["scaling"] + (f" {r['scenario']}" if r.get("scenario") else ""),
                           _diags_md(r["diagnostics"])] for r in rejected])
        out.append("")
    return "\n".join(out)


INFERENCE_SYSTEM_HEADERS = ["Submitter", "System", "Processor", "Accelerator", "#"]
INFERENCE_SCORES = {  # scenario -> (header, field, format) of the score and its companions
    "singlestream": [("p90 latency (ms)", "p90_latency_ms", "{:.3f}"),
                     ("p50 (ms)", "p50_latency_ms", "{:.3f}"),
                     ("p99 (ms)", "p99_latency_ms", "{:.3f}"),
                     ("mean (ms)", "mean_latency_ms", "{:.3f}")],
    "offline": [("Samples/s", "samples_per_second", "{:.1f}")],
}


def inference_md(rows: list[dict]) -> list[str]:
    """The inference tables: per benchmark (and data scale) and scenario, the checked results,
    unofficial ones (shortened settings) marked."""
    out = ["## Inference (MLPerf LoadGen)", "",
           "SingleStream: 90th-percentile latency of one sample per query (lower is better). "
           "Offline: samples per second (higher is better). Accuracy: the benchmark's metric "
           "over every validation sample. *unofficial*: shortened settings, not comparable.", ""]
    for (label, scenario), group in sorted(_inference_groups(rows).items()):
        cols = INFERENCE_SCORES.get(scenario, [])
        out += [f"### {md_text(label)}, {md_text(scenario)}", ""]
        out += _md_table(INFERENCE_SYSTEM_HEADERS + [h for h, _, _ in cols]
                         + ["Accuracy", "Metric", "Settings"],
                         [[r["submitter"], r["system"], r["host_processor_model_name"],
                           r["accelerator_model_name"], r["accelerators_count"]]
                          + [fmt(r[f], spec) for _, f, spec in cols]
                          + [fmt(r["accuracy"], "{:.4f}"), r["metric"],
                             "unofficial" if r["unofficial"] else "official"] for r in group])
        out.append("")
    return out


def inference_csv(rows: list[dict]) -> str:
    from reports.schema import INFERENCE_FIELD_NAMES

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INFERENCE_FIELD_NAMES)
    for r in rows:
        w.writerow(["" if r[k] is None else r[k] for k in INFERENCE_FIELD_NAMES])
    return buf.getvalue()


def _diags_md(diags: list[dict]) -> str:
    shown = "; ".join(_diag_text(d) for d in diags[:MAX_DIAGNOSTICS_SHOWN])
    more = len(diags) - MAX_DIAGNOSTICS_SHOWN
    return shown + (f"; and {more} more (see rejected.json)" if more > 0 else "")


def _diag_text(d: dict) -> str:
    where = d.get("path") or ""
    if d.get("line"):
        where += f":{d['line']}"
    return f"{d['code']} {d['message']}" + (f" ({where})" if where else "")


# -- HTML ---------------------------------------------------------------------------------------

def _description_items(desc: dict) -> list[tuple[str, str]]:
    items = []
    for k, v in desc.items():
        if isinstance(v, dict):  # e.g. other_software_stack: {"CUDA": "11.7", ...}
            v = "; ".join(f"{sk}: {sv}" for sk, sv in v.items())
        elif isinstance(v, list):
            v = json.dumps(v, ensure_ascii=False)
        items.append((k, "" if v is None else str(v)))
    return items


@lru_cache(maxsize=1)
def page_template():
    """The compiled page template (compiled once; the CLI does it while the checks run)."""
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                      autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    return env.get_template("index.html.j2")


def results_html(rows: list[dict], rejected: list[dict], systems: dict, plots: dict[str, bytes],
                 roots: list[str], title: str = "SciPerf results", gated: bool = True,
                 inference: list[dict] | None = None) -> str:
    descriptions = {}
    for (org, system_id), info in systems.items():
        if not isinstance(info, Exception):
            descriptions[(org, system_id)] = _description_items(info.description)
    view_rows = []
    for r in rows:
        v = dict(r)
        v["label"] = benchmark_label(r)
        v["description"] = descriptions.get((r["org"], r["system_id"]), [])
        v["search"] = " ".join(str(r[k]) for k in (
            "submitter", "org", "system", "system_id", "division", "availability", "benchmark",
            "method", "host_processor_model_name", "accelerator_model_name", "framework")
            if r[k]).lower()
        view_rows.append(v)
    labels = sorted({v["label"] for v in view_rows})
    divisions = sorted({r["division"] for r in rows}, key=_division_key)
    images = [(name, "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
              for name, png in plots.items()]
    # The panel per method is shown beside the comparison tables, not among the other plots.
    panel_plot = next((img for img in images if img[0] == blueprint.PANEL_PLOT), None)
    return page_template().render(
        title=title,
        gated=gated,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        roots=roots,
        strong=[v for v in view_rows if v["scaling"] == "strong"],
        weak=[v for v in view_rows if v["scaling"] == "weak"],
        rejected=rejected,
        labels=labels,
        divisions=divisions,
        images=[img for img in images if img is not panel_plot],
        strong_columns=STRONG_COLUMNS,
        comparison=blueprint.comparison(view_rows),
        comparison_format=blueprint.CELL_FORMAT,
        best_text=blueprint.best_text,
        panel_plot=panel_plot,
        weak_columns=WEAK_COLUMNS,
        max_shown=MAX_DIAGNOSTICS_SHOWN,
        inference=sorted(_inference_groups(inference or []).items()),
        inference_scores=INFERENCE_SCORES,
    )


def _inference_groups(rows: list[dict]) -> dict[tuple, list[dict]]:
    """(benchmark label, scenario) -> rows, as the Markdown and the page show them."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((benchmark_label(r), r["scenario"]), []).append(r)
    return groups
