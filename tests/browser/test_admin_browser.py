"""An administrator answers a subject access request and erases the victim's data, then
finds it in the audit log, by keyboard alone in a real browser (headless Chromium)."""

from __future__ import annotations

import re
from typing import Any

from ivr.accounts.staff import add_user
from tests.browser.conftest import LiveApp, screenshot
from tests.conftest import add_case

PASSWORD = "correct horse battery staple"
ADMIN = "ada.admin@cleveland.example"
CASE_REF = "CLE/26/700001"
PHONE = "+441134960701"
#: Far more presses than any page here needs to reach a control.
MAX_TABS = 80


def focused(page: Any) -> str:
    """What the focused element says: its text, its label, or its name and value."""
    return str(
        page.evaluate(
            """() => {
              const e = document.activeElement;
              if (!e) return "";
              const label = e.labels && e.labels.length ? e.labels[0].innerText : "";
              return [e.innerText || "", label, e.getAttribute("aria-label") || "",
                      e.name || "", e.value || ""].join(" | ");
            }"""
        )
    )


def tab_to(page: Any, wanted: str) -> None:
    """Press Tab until the focused element says ``wanted``."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if wanted in focused(page):
            return
    raise AssertionError(f"no control saying {wanted!r} is reachable by Tab")


def test_an_admin_sees_erases_and_audits_a_case_by_keyboard(live: LiveApp, page: Any) -> None:
    add_case(live.app, case_ref=CASE_REF, phone=PHONE, first_name="Morgan")
    with live.app.extensions["ivr"].db.transaction() as session:
        add_user(session, ADMIN, role="admin", password=PASSWORD)
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r".*/queue.*"))

    tab_to(page, "Data protection")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin$"))
    tab_to(page, "A victim's data")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin/subjects$"))

    tab_to(page, "Survey")
    page.keyboard.type("uss")
    tab_to(page, "Case reference")
    page.keyboard.type(CASE_REF)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin/subjects\?.*case_ref=.*"))
    shown = page.locator("main").inner_text()
    assert PHONE in shown and "Morgan" in shown
    screenshot(page, "admin-subject")

    tab_to(page, "Case reference, to confirm")
    page.keyboard.type(CASE_REF)
    tab_to(page, "Keep them")
    page.keyboard.press("ArrowDown")  # radios move by arrow keys: "Remove them too"
    tab_to(page, "Erase the personal data")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin/subjects$"))
    done = page.locator("main").inner_text()
    assert "personal data was erased" in done and PHONE not in done

    page.goto(f"{live.url}/admin/audit")
    tab_to(page, "Action")
    page.keyboard.type("subject_erase")
    tab_to(page, "Search")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin/audit\?.*action=subject_erase.*"))
    log = page.locator("main").inner_text()
    assert "1 entry" in log and ADMIN in log and '"answers_removed": true' in log
    assert PHONE not in log and "Morgan" not in log
    screenshot(page, "admin-audit-log")
