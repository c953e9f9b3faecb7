"""An analyst from the Commissioner's office reads a quarter's results in a real browser
(headless Chromium), by keyboard, and downloads the report as HTML and PDF.

The report builder is replaced by one returning a finished report built by hand
(``tests/results_reports.py``), reasons with personal details included, so that what is
tested is what the pages and downloads let through. Screenshots land in build/screenshots.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import ivr.results.web as results_web
from ivr.accounts.staff import add_user
from ivr.results.model import Period, Report
from tests.browser.conftest import LiveApp, screenshot
from tests.results_reports import CASE_REF, VICTIM_NAME, VICTIM_PHONE, make_report

PASSWORD = "correct horse battery staple"
ANALYST = "ana.analyst@pcc.example"
PERSONAL = (VICTIM_NAME, VICTIM_PHONE, CASE_REF, "Nobody rang back")


@pytest.fixture
def results_live(live: LiveApp, monkeypatch: pytest.MonkeyPatch) -> LiveApp:
    def build_report(db: Any, registry: Any, survey: str, period: Period, **options: Any) -> Report:
        # Reasons whatever the scope: the page and the files must leave them out themselves.
        return make_report(
            scope=options["scope"], weighted=options["weighted"], period=period, survey=survey
        )

    monkeypatch.setattr(results_web, "build_report", build_report)
    with live.app.extensions["ivr"].db.transaction() as session:
        add_user(session, ANALYST, role="analyst", password=PASSWORD)
    return live


def sign_in(page: Any, live: LiveApp) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(ANALYST)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")


def tab_to_link(page: Any, text: str, presses: int = 60) -> None:
    """Tab from where the focus is until it is on the link whose text is ``text``."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => document.activeElement.tagName + ' ' + document.activeElement.textContent"
        )
        if focused.strip() == f"A {text}":
            return
    pytest.fail(f"the link '{text}' cannot be reached with Tab")


class Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_an_analyst_reads_a_quarter_and_downloads_it_by_keyboard(
    results_live: LiveApp, page: Any, tmp_path: Path
) -> None:
    live = results_live
    sign_in(page, live)
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Results").count() == 1
    assert nav.get_by_role("link", name="Queue").count() == 0
    assert nav.get_by_role("link", name="Console").count() == 0
    with page.expect_navigation():
        nav.get_by_role("link", name="Results").click()
    assert page.locator("h1").inner_text() == "Results"

    # The form, by keyboard: the survey, "A quarter", the quarter, then Enter.
    page.get_by_label("Survey").select_option("uss")
    page.get_by_label("A quarter", exact=True).check()
    page.get_by_label(re.compile(r"^Quarter")).fill("2026Q3")
    with page.expect_navigation():
        page.get_by_label(re.compile(r"^Quarter")).press("Enter")
    assert page.url.endswith("/results/uss?period=quarter&quarter=2026Q3")
    assert page.locator("h1").inner_text() == (
        "Victim satisfaction survey (Home Office core questions): 2026 Q3"
    )
    main = page.locator("main").inner_text()
    assert "67.4% positive (95% interval 61.6% to 72.8%), of 267 answers" in main
    assert "fewer than 10" in main and "Yes, significant" in main
    content = page.content()
    for secret in PERSONAL:
        assert secret not in content
    assert "Why victims were dissatisfied" not in content
    # Every chart is drawn (inline SVG, no script) and named for assistive technology.
    charts = page.locator("svg[role=img]")
    assert charts.count() == 45
    assert page.locator("script").count() == 0
    first_chart = charts.first
    assert first_chart.get_attribute("aria-labelledby")
    assert first_chart.bounding_box()["width"] > 200
    screenshot(page, "results-analyst-quarter")

    # Keyboard: from the top of the page, Tab reaches the skip link first, then the
    # downloads; Enter on each link downloads it.
    page.locator("body").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    tab_to_link(page, "Whole report as PDF")
    with page.expect_download() as pdf_download:
        page.keyboard.press("Enter")
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_download.value.suggested_filename == ("uss-results-2026-07-01-to-2026-09-30.pdf")
    tab_to_link(page, "Whole report as one HTML file", presses=3)
    with page.expect_download() as html_download:
        page.keyboard.press("Enter")
    saved = tmp_path / html_download.value.suggested_filename
    html_download.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    parsed = Parsed()
    parsed.feed(html)
    parsed.close()
    assert parsed.tags[:2] == ["html", "head"] and "script" not in parsed.tags
    for secret in PERSONAL:
        assert secret not in html

    # The downloaded file opens on its own (no server, nothing fetched) with its charts.
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(saved.as_uri())
    assert page.locator("h1").inner_text().endswith("2026 Q3")
    assert page.locator("svg[role=img]").count() == 45
    assert [url for url in fetched if not url.startswith("file:")] == []
    screenshot(page, "results-downloaded-html")


def test_the_report_reflows_at_200_percent_zoom(results_live: LiveApp, page: Any) -> None:
    live = results_live
    sign_in(page, live)
    # 200% zoom of a 1280 pixel wide window: 640 CSS pixels across.
    page.set_viewport_size({"width": 640, "height": 900})
    page.goto(f"{live.url}/results/uss?period=quarter&quarter=2026Q3")
    assert page.locator("h1").is_visible()
    # Nothing but the wide tables scrolls sideways, each inside its own box.
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    chart = page.locator("svg[role=img]").first
    assert chart.bounding_box()["width"] <= 640
    screenshot(page, "results-analyst-200-percent")
