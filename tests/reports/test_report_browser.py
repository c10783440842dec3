"""index.html in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

Sorts a column, filters by benchmark and by text, opens a system's description, and checks the
rows shown against results.json; the page must fetch nothing. Skips with the reason when no
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
def page_and_rows(ungated_report, tmp_path_factory):
    sync_playwright = _browser_or_skip()
    from reports.cli import write_report

    out = tmp_path_factory.mktemp("report")
    write_report(ungated_report, out, ["mlperf-hpc-v2.0"], "SciPerf results")
    # The page alone, away from the PNG files: everything it shows must be inside it.
    alone = tmp_path_factory.mktemp("alone") / "index.html"
    shutil.copy(out / "index.html", alone)
    rows = json.loads((out / "results.json").read_text())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(alone.as_uri())
            page.wait_for_load_state("load")
            yield page, rows, requests
        finally:
            browser.close()


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
