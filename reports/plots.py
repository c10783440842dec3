"""The report's plots as PNG bytes (matplotlib, Agg; no pyplot, so no global figure state).

* time to train: one panel per benchmark, a bar per system (strong scaling, minutes, log axis
  because systems differ by two orders of magnitude);
* strong scaling: one panel per benchmark, time to train against the accelerators a result
  used (log-log, the picture HPC readers look for; CPU-only systems at their processor count);
* throughput: one panel per benchmark, a bar per system (weak scaling, models per minute);
* a blueprint's panel per method (reports/blueprint.py);
* inference: one panel per benchmark and scenario, a bar per checked inference result
  (SingleStream p90 latency in ms, Offline samples/s), unofficial ones (shortened settings)
  hatched and named so.

Every system is named in full: a figure is as wide as its longest label needs.
"""

from __future__ import annotations

import io
import math
import multiprocessing

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from compliance.api import worker_pool
from compliance.parser import printable
from reports import blueprint
from reports.render import benchmark_label

BAR_PLOTS = {
    # file name: (scaling, value field, axis label, log axis)
    "time_to_train.png": ("strong", "time_to_train_minutes", "time to train (minutes, lower is better)", True),
    "weak_throughput.png": ("weak", "models_per_minute", "throughput (models per minute, higher is better)", False),
}
SCALING_PLOT = "strong_scaling.png"
INFERENCE_PLOT = "inference.png"
PLOTS = (*BAR_PLOTS, SCALING_PLOT)
INFERENCE_SCORES = {
    # scenario: (value field, axis label, log axis)
    "singlestream": ("p90_latency_ms", "SingleStream p90 latency (ms, lower is better)", True),
    "offline": ("samples_per_second", "Offline throughput (samples/s, higher is better)", False),
}
UNOFFICIAL = "unofficial (shortened settings)"
_DIVISION_COLOURS = {"closed": "#1f77b4", "open": "#ff7f0e"}


def _bar_label(row: dict) -> str:
    # submitters' text, drawn as text: control characters escaped, $ not taken for mathtext
    return printable(f"{row['submitter']} / {row['system']}").replace("$", r"\$")


BAR_IN = 0.3  # inches per bar
PANEL_PAD_IN = 0.95  # title above and axis label below each panel
PLOT_WIDTH_IN = 6.5  # the axes; the figure adds the labels' width on the left
CHAR_IN = 0.068  # one character of an 8-point tick label


def _plotted(rows: list[dict], scaling: str, field: str) -> list[dict]:
    return [r for r in rows if r["scaling"] == scaling and r[field] is not None]


def plot_png(rows: list[dict], scaling: str, field: str, xlabel: str, log: bool) -> bytes | None:
    fig = bar_figure(rows, scaling, field, xlabel, log)
    return None if fig is None else _png(fig)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def bar_figure(rows: list[dict], scaling: str, field: str, xlabel: str,
               log: bool) -> Figure | None:
    rows = _plotted(rows, scaling, field)
    if not rows:
        return None
    panels: dict[str, list[dict]] = {}
    for r in rows:
        panels.setdefault(benchmark_label(r), []).append(r)
    labels = {id(r): f"{_bar_label(r)} ({r['division']})" for r in rows}
    fig, _ = _bar_panels([(label, group, field, xlabel, log)
                          for label, group in sorted(panels.items())], labels,
                         _division_handles(rows))
    return fig


def _division_handles(rows: list[dict]) -> list[Patch]:
    return [Patch(color=_DIVISION_COLOURS.get(d, "#7f7f7f"), label=d)
            for d in sorted({r["division"] for r in rows})]


def _bar_panels(panels: list[tuple], labels: dict,
                handles: list[Patch]) -> tuple[Figure, list[tuple]]:
    """Panels of horizontal bars stacked top to bottom, each (title, rows, value field, axis
    label, log axis): a bar per row named labels[id(row)] (colour: division), the best at the
    top, its value beside it; the legend's `handles` above the first panel. Returns the figure
    and each panel's (axes, rows as drawn, bars)."""
    # Axes are placed by hand (inches -> figure fractions): matplotlib's layout engines measure
    # every tick label and cost more than the drawing itself. The labels get the width they
    # need, so no name is cut.
    left_in = 0.15 + CHAR_IN * max(len(t) for t in labels.values())
    width_in = left_in + PLOT_WIDTH_IN + 0.45
    heights = [len(group) * BAR_IN + PANEL_PAD_IN for _, group, *_ in panels]
    total_in = sum(heights) + 0.2
    fig = Figure(figsize=(width_in, total_in), dpi=100)
    FigureCanvasAgg(fig)
    top_in = 0.1
    drawn = []
    for h, (title, group, field, xlabel, log) in zip(heights, panels):
        plot_h = h - PANEL_PAD_IN
        ax = fig.add_axes((left_in / width_in, 1 - (top_in + 0.35 + plot_h) / total_in,
                           PLOT_WIDTH_IN / width_in, plot_h / total_in))
        top_in += h
        group = sorted(group, key=lambda r: r[field], reverse=not log)  # best at the top
        ys = list(range(len(group)))
        values = [r[field] for r in group]
        colours = [_DIVISION_COLOURS.get(r["division"], "#7f7f7f") for r in group]
        bars = ax.barh(ys, values, height=0.7, color=colours)
        ax.set_yticks(ys, [labels[id(r)] for r in group], fontsize=8)
        ax.set_ylim(len(group) - 0.5, -0.5)  # first bar on top
        if log:
            ax.set_xscale("log")
            lo, hi = min(values) / 1.6, max(values) * 2.2
            _fixed_log_ticks(ax.xaxis, lo, hi)
            ax.set_xlim(lo, hi)
        else:
            ax.set_xlim(0, max(values) * 1.18)
        ax.tick_params(axis="x", labelsize=7)
        for y, v in zip(ys, values):
            ax.text(v, y, f" {v:.3g}", va="center", fontsize=7)
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_xlabel(xlabel, fontsize=8)
        drawn.append((ax, group, bars))
    drawn[0][0].legend(handles=handles, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                       ncols=len(handles), frameon=False)
    return fig, drawn


def inference_png(rows: list[dict]) -> bytes | None:
    fig = inference_figure(rows)
    return None if fig is None else _png(fig)


def inference_figure(rows: list[dict]) -> Figure | None:
    """The checked inference results (reports/inference.py rows): a panel per benchmark (and
    data scale) and scenario, a bar per result named in full (colour: division; hatched and
    marked in its name: unofficial)."""
    panels: dict[tuple, list[dict]] = {}
    for r in rows:
        score = INFERENCE_SCORES.get(r["scenario"])
        if score is not None and isinstance(r.get(score[0]), (int, float)) and r[score[0]] > 0:
            panels.setdefault((benchmark_label(r), r["scenario"]), []).append(r)
    if not panels:
        return None
    shown = [r for group in panels.values() for r in group]
    labels = {id(r): f"{_bar_label(r)} ({r['division']}"
                     + (", unofficial)" if r["unofficial"] else ")") for r in shown}
    handles = _division_handles(shown)
    if any(r["unofficial"] for r in shown):
        handles.append(Patch(facecolor="#7f7f7f", edgecolor="white", hatch="//",
                             label=UNOFFICIAL))
    fig, drawn = _bar_panels([(f"{label}, {scenario}", group, *INFERENCE_SCORES[scenario])
                              for (label, scenario), group in sorted(panels.items())], labels,
                             handles)
    for _, group, bars in drawn:
        for bar, r in zip(bars, group):
            if r["unofficial"]:
                bar.set(hatch="//", edgecolor="white")
    return fig


def scale_of(row: dict) -> int | None:
    """What the strong-scaling plot puts a result at: its accelerators, or, on a CPU-only
    system, its host processors."""
    n = row.get("accelerators_count") or row.get("host_processors_count")
    return n if isinstance(n, int) and n > 0 else None


def scaling_png(rows: list[dict]) -> bytes | None:
    fig = scaling_figure(rows)
    return None if fig is None else _png(fig)


def scaling_figure(rows: list[dict]) -> Figure | None:
    """Time to train against accelerators, log-log, a panel per benchmark, each result a point
    named in full beside it (colour: division)."""
    rows = [r for r in rows if r["scaling"] == "strong" and r["time_to_train_minutes"]
            and scale_of(r)]
    if not rows:
        return None
    panels: dict[str, list[dict]] = {}
    for r in rows:
        panels.setdefault(benchmark_label(r), []).append(r)
    longest = max(len(f"{_bar_label(r)}") for r in rows)
    width_in = PLOT_WIDTH_IN + 0.9 + CHAR_IN * 0.9 * longest  # room for the point labels
    panel_in = 3.2
    total_in = len(panels) * (panel_in + 0.9) + 0.3
    fig = Figure(figsize=(width_in, total_in), dpi=100)
    FigureCanvasAgg(fig)
    top_in = 0.3
    for label, group in sorted(panels.items()):
        ax = fig.add_axes((0.75 / width_in, 1 - (top_in + panel_in) / total_in,
                           PLOT_WIDTH_IN / width_in, panel_in / total_in))
        top_in += panel_in + 0.9
        xs = [scale_of(r) for r in group]
        ys = [r["time_to_train_minutes"] for r in group]
        colours = [_DIVISION_COLOURS.get(r["division"], "#7f7f7f") for r in group]
        ax.scatter(xs, ys, c=colours, s=22, zorder=3)
        for x, y, r in zip(xs, ys, group):
            ax.annotate(_bar_label(r), (x, y), xytext=(5, 2), textcoords="offset points",
                        fontsize=7, annotation_clip=False)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis, limits, setter in ((ax.xaxis, _decade_at_least(min(xs) / 1.6, max(xs) * 1.6),
                                      ax.set_xlim),
                                     (ax.yaxis, _decade_at_least(min(ys) / 1.6, max(ys) * 1.6),
                                      ax.set_ylim)):
            _fixed_log_ticks(axis, *limits)
            setter(*limits)
        ax.grid(True, which="major", color="#e3e7ee", zorder=0)
        ax.tick_params(labelsize=7)
        ax.set_title(label, fontsize=10, loc="left")
        ax.set_xlabel("accelerators (CPU-only systems: host processors)", fontsize=8)
        ax.set_ylabel("time to train (minutes)", fontsize=8)
    present = sorted({r["division"] for r in rows})
    fig.legend(handles=[Patch(color=_DIVISION_COLOURS.get(d, "#7f7f7f"), label=d)
                        for d in present], fontsize=7, loc="upper right", ncols=len(present),
               frameon=False)
    return fig


def _fixed_log_ticks(axis, lo: float, hi: float) -> None:
    """Ticks at 1, 2, 5 x 10^k within [lo, hi], labelled plainly, set as fixed values: the
    automatic log locators and formatters cost more than drawing the rest of a panel."""
    ticks = [m * 10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
             for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
    axis.set_ticks(ticks, [f"{t:g}" for t in ticks])
    axis.set_minor_locator(NullLocator())


def _decade_at_least(lo: float, hi: float) -> tuple[float, float]:
    """Log-axis limits spanning at least a factor of ten around [lo, hi]."""
    if hi / lo >= 10:
        return lo, hi
    widen = (10 / (hi / lo)) ** 0.5
    return lo / widen, hi * widen


def _plot(args: tuple) -> bytes | None:
    rows, name = args
    if name == SCALING_PLOT:
        return scaling_png(rows)
    if name == blueprint.PANEL_PLOT:
        return blueprint.panel_png(rows)
    return plot_png(rows, *BAR_PLOTS[name])


def _wanted(rows: list[dict]) -> list[str]:
    wanted = [name for name, (scaling, field, _, _) in BAR_PLOTS.items()
              if _plotted(rows, scaling, field)]
    if any(r["scaling"] == "strong" and r["time_to_train_minutes"] and scale_of(r)
           for r in rows):
        wanted.append(SCALING_PLOT)
    if blueprint.comparison(rows):  # a blueprint's panel per method
        wanted.append(blueprint.PANEL_PLOT)
    return wanted


def render_plots(rows: list[dict], jobs: int = 1,
                 inference: list[dict] | None = None) -> dict[str, bytes]:
    """File name -> PNG bytes, for the plots that have data (`inference`: the checked
    inference rows, drawn here after the others). With `jobs` > 1 the plots are
    drawn at the same time, in processes forked from this one (matplotlib is imported once,
    here, and inherited)."""
    wanted = _wanted(rows)
    if jobs > 1 and len(wanted) > 1 and "fork" in multiprocessing.get_all_start_methods():
        with worker_pool(min(jobs, len(wanted) - 1)) as pool:
            # the first plot here, the others in the pool meanwhile
            pending = pool.map_async(_plot, [(rows, name) for name in wanted[1:]])
            pngs = [_plot((rows, wanted[0])), *pending.get()]
    else:
        pngs = [_plot((rows, name)) for name in wanted]
    if inference:
        wanted.append(INFERENCE_PLOT)
        pngs.append(inference_png(inference))
    return {name: png for name, png in zip(wanted, pngs) if png is not None}
