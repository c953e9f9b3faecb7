"""The queue and the error pages by keyboard in a real browser (headless Chromium):
search by case reference, the next page, the kind filter, a long unbroken note that
wraps on the referral page and in the console, and a 404 page whose way back is reached with Tab."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from ivr.referrals.workflow import PAGE_SIZE
from tests.browser import test_console_browser as console_browser
from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_console_browser import sign_in as console_sign_in
from tests.browser.test_console_browser import take_next_case
from tests.browser.test_referral_queue_browser import sign_in, staff
from tests.functional.test_referral_queue import add_referral

#: The console served with one victim due (the console's own browser tests' fixture).
console_ready = console_browser.console_live


def _press_on(page: Any, locator: Any) -> None:
    """Focus a control and press Enter on it, as a keyboard user does."""
    locator.focus()
    page.keyboard.press("Enter")


def _fits(page: Any) -> bool:
    return bool(page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"))


def test_search_page_and_filter_the_queue_by_keyboard(live: LiveApp, page: Any) -> None:
    for n in range(PAGE_SIZE + 2):
        add_referral(live.app, case_ref=f"CLE/26/{n:06d}", due_in=timedelta(hours=n + 1))
    add_referral(
        live.app, case_ref="CLE/26/ALERT01", kind="action_alert", due_in=timedelta(days=30)
    )
    sign_in(page, live, staff(live, "sup@cleveland.example", "supervisor"))
    assert "Page 1 of 2" in page.locator("main").inner_text()
    # The next page, by keyboard.
    _press_on(page, page.get_by_role("link", name="Next page"))
    page.wait_for_url(re.compile(r".*page=2.*"))
    second = page.locator("main").inner_text()
    assert "Page 2 of 2" in second and "CLE/26/ALERT01" in second
    assert "CLE/26/000000" not in second
    screenshot(page, "queue-page-2")
    # Search by the start of a reference, in lower case: Enter submits the form.
    search = page.get_by_label("Case reference")
    search.fill("cle/26/00005")
    search.press("Enter")
    page.wait_for_url(re.compile(r".*case_ref=.*"))
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2
    assert "CLE/26/000050" in rows.nth(0).inner_text()
    # Only action alerts: labelled in words, not by colour alone.
    page.get_by_label("Case reference").fill("")
    page.get_by_label("Kind").select_option(label="Action alert")
    _press_on(page, page.get_by_role("button", name="Search"))
    page.wait_for_url(re.compile(r".*kind=action_alert.*"))
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 1 and "Action alert" in rows.nth(0).inner_text()
    screenshot(page, "queue-action-alerts")


def test_a_long_unbroken_note_wraps_within_the_page(live: LiveApp, page: Any) -> None:
    referral = add_referral(live.app, case_ref="CLE/26/LONG01")
    sign_in(page, live, staff(live, "sup@cleveland.example", "supervisor"))
    page.goto(f"{live.url}/queue/referrals/{referral}")
    note = page.get_by_label("Note (up to 2,000 characters)")
    note.fill("x" * 2000)
    _press_on(page, page.get_by_role("button", name="Add note"))
    page.wait_for_selector("text=Your note is added.")
    assert page.locator(".timeline q").first.inner_text() == "x" * 2000
    assert _fits(page)
    # And on a narrow screen too.
    page.set_viewport_size({"width": 375, "height": 800})
    assert _fits(page)
    screenshot(page, "referral-long-note")


def test_the_404_page_has_a_way_back_reached_by_tab(live: LiveApp, page: Any) -> None:
    sign_in(page, live, staff(live, "sup@cleveland.example", "supervisor"))
    response = page.goto(f"{live.url}/queue/referrals/424242")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "way-back":
            break
    else:
        raise AssertionError("the way back is never reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/queue$"))
    screenshot(page, "back-from-404")


def test_signed_out_the_404_page_offers_to_sign_in(live: LiveApp, page: Any) -> None:
    response = page.goto(f"{live.url}/nowhere")
    assert response is not None and response.status == 404
    link = page.get_by_role("link", name="Sign in")
    assert link.get_attribute("href") == "/login"
    _press_on(page, link)
    page.wait_for_url(re.compile(r".*/login$"))


def test_a_long_unbroken_console_note_wraps_within_the_page(
    console_ready: LiveApp, page: Any
) -> None:
    console_sign_in(page, console_ready)
    take_next_case(page)
    note = page.get_by_label("Note, in the victim's words where you can")
    note.fill("y" * 2000)
    _press_on(page, page.get_by_role("button", name="Keep note"))
    page.wait_for_selector("text=Note kept.")
    assert "y" * 2000 in page.locator(".timeline").inner_text()
    assert _fits(page)
    page.set_viewport_size({"width": 375, "height": 800})
    assert _fits(page)
    # The outcome is chosen, never assumed.
    assert page.get_by_label("How the call ended").input_value() == ""
    screenshot(page, "console-long-note")
