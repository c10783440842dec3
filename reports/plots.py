"""The report's plots as PNG bytes (matplotlib, Agg; no pyplot, so no global figure state).

* time to train: one panel per benchmark, a bar per system (strong scaling, minutes, log axis
  because systems differ by two orders of magnitude);
* throughput: one panel per benchmark, a bar per system (weak scaling, models per minute).
"""

from __future__ import annotations

import io
import multiprocessing

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator

from reports.render import benchmark_label

PLOTS = {
    # file name: (scaling, value field, axis label, log axis)
    "time_to_train.png": ("strong", "time_to_train_minutes", "time to train (minutes, lower is better)", True),
    "weak_throughput.png": ("weak", "models_per_minute", "throughput (models per minute, higher is better)", False),
}
_DIVISION_COLOURS = {"closed": "#1f77b4", "open": "#ff7f0e"}


def _bar_label(row: dict) -> str:
    return f"{row['submitter']} / {row['system']}"


BAR_IN = 0.3  # inches per bar
PANEL_PAD_IN = 0.95  # title above and axis label below each panel
WIDTH_IN = 10.0


def _plotted(rows: list[dict], scaling: str, field: str) -> list[dict]:
    return [r for r in rows if r["scaling"] == scaling and r[field] is not None]


def plot_png(rows: list[dict], scaling: str, field: str, xlabel: str, log: bool) -> bytes | None:
    rows = _plotted(rows, scaling, field)
    if not rows:
        return None
    panels: dict[str, list[dict]] = {}
    for r in rows:
        panels.setdefault(benchmark_label(r), []).append(r)
    labels = {id(r): f"{_bar_label(r)} ({r['division']})" for r in rows}
    # Axes are placed by hand (inches -> figure fractions): matplotlib's layout engines measure
    # every tick label and cost more than the drawing itself.
    left_in = min(0.15 + 0.068 * max(len(t) for t in labels.values()), WIDTH_IN * 0.55)
    heights = [len(v) * BAR_IN + PANEL_PAD_IN for v in panels.values()]
    total_in = sum(heights) + 0.2
    fig = Figure(figsize=(WIDTH_IN, total_in), dpi=100)
    FigureCanvasAgg(fig)
    top_in = 0.1
    first = True
    for h, (label, group) in zip(heights, sorted(panels.items())):
        plot_h = h - PANEL_PAD_IN
        ax = fig.add_axes((left_in / WIDTH_IN, 1 - (top_in + 0.35 + plot_h) / total_in,
                           1 - (left_in + 0.45) / WIDTH_IN, plot_h / total_in))
        top_in += h
        group = sorted(group, key=lambda r: r[field], reverse=not log)  # best at the top
        ys = list(range(len(group)))
        values = [r[field] for r in group]
        colours = [_DIVISION_COLOURS.get(r["division"], "#7f7f7f") for r in group]
        ax.barh(ys, values, height=0.7, color=colours)
        ax.set_yticks(ys, [labels[id(r)] for r in group], fontsize=8)
        ax.set_ylim(len(group) - 0.5, -0.5)  # first bar on top
        if log:
            ax.set_xscale("log")
            ax.minorticks_off()
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
            lo, hi = min(values), max(values)
            ax.set_xlim(lo / 1.6, hi * 2.2)
        else:
            ax.set_xlim(0, max(values) * 1.18)
        ax.tick_params(axis="x", labelsize=7)
        for y, v in zip(ys, values):
            ax.text(v, y, f" {v:.3g}", va="center", fontsize=7)
        ax.set_title(label, fontsize=10, loc="left")
        ax.set_xlabel(xlabel, fontsize=8)
        if first:
            present = sorted({r["division"] for r in rows})
            ax.legend(handles=[Patch(color=_DIVISION_COLOURS.get(d, "#7f7f7f"), label=d)
                               for d in present], fontsize=7, loc="lower right",
                      bbox_to_anchor=(1.0, 1.0), ncols=len(present), frameon=False)
            first = False
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _plot(args: tuple) -> bytes | None:
    rows, name = args
    return plot_png(rows, *PLOTS[name])


def render_plots(rows: list[dict], jobs: int = 1) -> dict[str, bytes]:
    """File name -> PNG bytes, for the plots that have data. With `jobs` > 1 the plots are
    drawn at the same time, in processes forked from this one (matplotlib is imported once,
    here, and inherited)."""
    wanted = [name for name, (scaling, field, _, _) in PLOTS.items()
              if _plotted(rows, scaling, field)]
    if jobs > 1 and len(wanted) > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(min(jobs, len(wanted)) - 1) as pool:
            # the first plot here, the others in the pool meanwhile
            pending = pool.map_async(_plot, [(rows, name) for name in wanted[1:]])
            pngs = [_plot((rows, wanted[0])), *pending.get()]
    else:
        pngs = [_plot((rows, name)) for name in wanted]
    return {name: png for name, png in zip(wanted, pngs) if png is not None}
