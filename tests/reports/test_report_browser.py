"""index.html in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

Sorts a column, filters by benchmark and by text, opens a system's description, and checks the
rows shown against results.json; the page must fetch nothing. On a blueprint's page, sorts the
method-comparison table by a metric and filters it. Skips with the reason when no
Chromium or no Playwright can be had (`make test` installs both where it can; Playwright's own
browser download is never used).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _browser_or_skip():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed (pip install playwright==1.56.0)")
    from playwright.sync_api import sync_playwright

    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser, report, tmp_path_factory, roots: list[str]):
    """The report's page, written alone away from its PNG files (everything it shows must be
    inside it), open in a new page; returns (page, results.json rows, URLs it requested)."""
    from reports.cli import write_report

    out = tmp_path_factory.mktemp("report")
    write_report(report, out, roots, "SciPerf results")
    alone = tmp_path_factory.mktemp("alone") / "index.html"
    shutil.copy(out / "index.html", alone)
    rows = json.loads((out / "results.json").read_text())
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(alone.as_uri())
    page.wait_for_load_state("load")
    return page, rows, requests


@pytest.fixture(scope="module")
def page_and_rows(browser, ungated_report, tmp_path_factory):
    page, rows, requests = _open(browser, ungated_report, tmp_path_factory, ["mlperf-hpc-v2.0"])
    yield page, rows, requests
    page.close()


@pytest.fixture(scope="module")
def blueprint_page(browser, tmp_path_factory):
    """The page of a tree of two methods on two datasets (tests/reports/test_report_blueprint.py)."""
    from reports.aggregate import build_report
    from tests.reports.test_report_blueprint import blueprint_tree

    org = blueprint_tree(tmp_path_factory.mktemp("round"))
    page, rows, requests = _open(browser, build_report([org], gate=False), tmp_path_factory,
                                 [str(org)])
    yield page, rows, requests
    page.close()


def _visible(page, table: str) -> list[dict]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr",
        """rows => rows.filter(r => !r.hidden).map(r => ({
            benchmark: r.getAttribute('data-benchmark'),
            submitter: r.cells[0].textContent.trim(),
            system: r.cells[1].getAttribute('data-value'),
            score: r.cells[4].getAttribute('data-value')}))""")


def test_page_fetches_nothing_and_shows_every_result(page_and_rows):
    page, rows, requests = page_and_rows
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert len(_visible(page, "strong")) == sum(r["scaling"] == "strong" for r in rows)
    assert len(_visible(page, "weak")) == sum(r["scaling"] == "weak" for r in rows)
    natural = page.eval_on_selector_all(".plots img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(natural) == 3 and all(w > 0 for w in natural)  # the embedded PNGs decode


def _reset(page):
    page.fill("#text-filter", "")
    page.select_option("#benchmark-filter", "")
    page.select_option("#division-filter", "")


def test_sort_by_time_to_train(page_and_rows):
    page, rows, _ = page_and_rows
    _reset(page)
    header = page.locator("#strong thead th", has_text="Time to train")
    header.click()
    shown = [float(r["score"]) for r in _visible(page, "strong")]
    assert shown == sorted(r["time_to_train_minutes"] for r in rows if r["scaling"] == "strong")
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    shown = [float(r["score"]) for r in _visible(page, "strong")]
    assert shown == sorted(shown, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"


def test_filter_by_benchmark_then_text(page_and_rows):
    page, rows, _ = page_and_rows
    _reset(page)
    page.select_option("#benchmark-filter", "deepcam")
    for table in ("strong", "weak"):
        shown = _visible(page, table)
        want = [r for r in rows if r["scaling"] == table and r["benchmark"] == "deepcam"]
        assert shown and {r["benchmark"] for r in shown} == {"deepcam"}
        assert sorted(r["system"] for r in shown) == sorted(r["system"].lower() for r in want)
    total = sum(r["scaling"] == "strong" for r in rows)
    assert page.text_content('[data-count-for="strong"]') == f"5 of {total} row(s) shown"

    page.fill("#text-filter", "DGXA100")  # case-insensitive, over submitter, system, hardware
    shown = _visible(page, "strong")
    assert [(r["submitter"], r["system"]) for r in shown] == [("NVIDIA", "dgxa100_n256_pytorch")]
    assert [r["submitter"] for r in _visible(page, "weak")] == ["NVIDIA"]

    _reset(page)
    assert len(_visible(page, "strong")) == total


def test_system_description_expands(page_and_rows):
    page, rows, _ = page_and_rows
    _reset(page)
    first = page.locator("#strong tbody tr").first.locator("details")
    assert first.get_attribute("open") is None
    first.locator("summary").click()
    assert first.get_attribute("open") is not None
    desc = first.locator("dl.desc")
    assert desc.is_visible()
    assert "host_processor_model_name" in desc.text_content()


COMPARISON = "comparison-disentangle"


def _comparison_order(page) -> list[tuple[str, str, str]]:
    """The comparison table's results as shown, top to bottom: (dataset, method, system)."""
    return [tuple(r) for r in page.eval_on_selector_all(
        f"#{COMPARISON} tbody tr",
        "rows => rows.filter(r => !r.hidden).map(r => [0, 1, 4].map(i => r.cells[i].textContent.trim()))")]


def test_sort_the_comparison_by_a_metric(blueprint_page):
    page, rows, requests = blueprint_page
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    placed = sorted((r for r in rows if r["comparison"]), key=lambda r: r["comparison"]["column"])
    as_shown = lambda r: (f"{r['benchmark']} ({r['data_scale']})", r["method"], r["system"])
    assert _comparison_order(page) == [as_shown(r) for r in placed]  # the table's own order

    header = page.locator(f"#{COMPARISON} thead th[data-metric='mig']")
    header.click()
    by_mig = sorted(placed, key=lambda r: r["panel"]["mig"]["mean"])
    assert [r["comparison"]["column"] for r in by_mig] != [0, 1, 2, 3]  # the order changes
    assert _comparison_order(page) == [as_shown(r) for r in by_mig]
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert _comparison_order(page) == [as_shown(r) for r in reversed(by_mig)]
    assert header.get_attribute("aria-sort") == "descending"

    # the best of the column: bold, marked in words and titled, whatever the order
    best = page.locator(f"#{COMPARISON} td.best", has=page.locator("strong"))
    titles = best.evaluate_all("cells => cells.map(c => c.title)")
    assert "best mig of the 4 result(s): the highest mean" in titles
    (top,) = [r for r in placed if "mig" in r["comparison"]["best"]]
    mig_column = page.locator(f"#{COMPARISON} thead th").evaluate_all(
        "ths => ths.findIndex(th => th.getAttribute('data-metric') === 'mig')")
    first = page.locator(f"#{COMPARISON} tbody tr").first.locator("td").nth(mig_column)
    assert "best" in first.text_content().split() and first.locator("strong").count() == 1
    assert float(first.get_attribute("data-value")) == top["panel"]["mig"]["mean"]


def test_the_comparison_filters_with_the_page(blueprint_page):
    page, rows, _ = blueprint_page
    _reset(page)
    page.select_option("#division-filter", "open")
    assert {m for _, m, _ in _comparison_order(page)} == {"dip_vae_ii"}
    assert page.text_content(f'[data-count-for="{COMPARISON}"]') == "2 of 4 row(s) shown"
    _reset(page)
    page.fill("#text-filter", "BETA_VAE")  # the method is searched too
    assert [m for _, m, _ in _comparison_order(page)] == ["beta_vae", "beta_vae"]
    _reset(page)
    assert len(_comparison_order(page)) == 4
    natural = page.eval_on_selector_all(".panel-plot img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(natural) == 1 and natural[0] > 0  # the panel per method, beside the table
