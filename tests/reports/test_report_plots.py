"""The plots name every system in full (the figure widens for a long name instead of cutting
it), and the strong-scaling plot puts each result at its accelerators, log-log."""

from __future__ import annotations

import pytest

from reports.plots import BAR_PLOTS, bar_figure, render_plots, scale_of, scaling_figure
from tests.reports.test_report_sciperf_tree import _org
from reports.aggregate import build_report

LONG = "A system name of well over a hundred characters: 512 nodes, 4 accelerators each, " \
       "liquid cooled, in a basement"


@pytest.fixture
def rows(tmp_path):
    rows = build_report([_org(tmp_path, weak_runs=3)], gate=False).results
    rows[0] = dict(rows[0], system=LONG, accelerators_count=8)
    rows.append(dict(rows[0], system="small", accelerators_count=0, host_processors_count=2,
                     time_to_train_minutes=5.0))
    return rows


def _texts_inside(fig, texts):
    fig.canvas.draw()
    width = fig.bbox.width
    for t in texts:
        box = t.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= width, (t.get_text(), box, width)


def test_bar_plots_show_every_name_in_full(rows):
    fig = bar_figure(rows, *BAR_PLOTS["time_to_train.png"])
    labels = [t for ax in fig.axes for t in ax.get_yticklabels()]
    assert any(LONG in t.get_text() for t in labels)
    _texts_inside(fig, labels)


def test_the_strong_scaling_plot_is_log_log_at_the_accelerators(rows):
    fig = scaling_figure(rows)
    (ax,) = fig.axes
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    (points,) = ax.collections
    xs = sorted(x for x, _ in points.get_offsets())
    assert xs == [2, 8]  # the CPU-only result at its host processors
    names = [t for t in ax.texts]
    assert {t.get_text().split(" / ")[1] for t in names} == {LONG, "small"}
    _texts_inside(fig, names)


def test_no_scale_no_point():
    assert scale_of({"accelerators_count": 0, "host_processors_count": 0}) is None
    assert scale_of({"accelerators_count": 4}) == 4


def test_every_plot_is_drawn(rows):
    assert set(render_plots(rows)) == {"time_to_train.png", "weak_throughput.png",
                                       "strong_scaling.png"}
