"""An administrator adds an interviewer with their own phone, changes the role, disables
and enables the account, then starts, pauses and resumes a campaign and reads its status,
by keyboard alone (Tab, Enter, arrows and typing) in a real browser (headless Chromium)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from ivr.accounts.staff import add_user
from ivr.store import campaigns as store
from ivr.store.models import User
from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_admin_browser import focused, tab_to
from tests.conftest import add_case

PASSWORD = "correct horse battery staple"
ADMIN = "ada.admin@cleveland.example"
NEW = "ian.interviewer@cleveland.example"


def press(page: Any, wanted: str, url: str) -> None:
    """Tab to the control saying ``wanted``, press Enter, and wait for ``url``."""
    tab_to(page, wanted)
    # The page may be at that address already: wait for the navigation Enter starts.
    with page.expect_navigation(url=re.compile(url)):
        page.keyboard.press("Enter")


def row_of(page: Any, email: str) -> str:
    return str(page.locator("tr", has_text=email).first.inner_text())


def test_an_admin_manages_an_interviewer_and_a_campaign_by_keyboard(
    live: LiveApp, page: Any
) -> None:
    add_case(live.app)
    with live.app.extensions["ivr"].db.transaction() as session:
        add_user(session, ADMIN, role="admin", password=PASSWORD)
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r".*/queue.*"))

    press(page, "Data protection", r".*/admin$")
    press(page, "Staff accounts", r".*/admin/users$")
    press(page, "Add an account", r".*/admin/users/new$")

    tab_to(page, "Email address")
    page.keyboard.type(NEW)
    tab_to(page, "Name")
    page.keyboard.type("Ian Jones")
    tab_to(page, "Their own phone")
    page.keyboard.type("+44 (0)113 496 0001")
    tab_to(page, "I will type one")
    page.keyboard.press("ArrowUp")  # radios move by arrow keys: "Make one for me"
    assert "Make one for me" in focused(page)
    press(page, "Add the account", r".*/admin/users/new$")
    made = page.locator("#generated-password").inner_text()
    assert len(made) == 20
    screenshot(page, "admin-account-added")
    press(page, "Back to staff accounts", r".*/admin/users#account-\d+$")
    row = row_of(page, NEW)
    assert "Interviewer" in row and "0113 496 0001" in row and "+44" not in row
    with live.app.extensions["ivr"].db.transaction() as session:
        added = session.scalars(select(User).where(User.email == NEW)).one()
        assert added.phone == "+441134960001" and added.role == "interviewer"

    tab_to(page, "Change role")
    page.keyboard.press("Enter")  # opens the details
    tab_to(page, "Role")
    page.keyboard.type("Supervisor")
    press(page, "Change the role", r".*/admin/users#account-\d+$")
    assert "Supervisor" in row_of(page, NEW)

    press(page, f"Disable {NEW}", r".*/admin/users$")
    assert "The account is disabled" in page.locator("main").inner_text()
    assert "\tNo\t" in row_of(page, NEW)
    press(page, f"Enable {NEW}", r".*/admin/users$")
    assert "The account is enabled again" in page.locator("main").inner_text()
    assert "\tYes\t" in row_of(page, NEW)
    screenshot(page, "admin-staff-accounts")

    press(page, "Back to administration", r".*/admin$")
    press(page, "Campaigns", r".*/admin/campaigns$")
    press(page, "Home Office core questions", r".*/admin/campaigns/uss$")
    status = page.locator("#campaign-status")
    assert "Calling is not started" in status.inner_text()
    assert "Not planned yet" in page.locator("#next-pass").inner_text()
    press(page, "Start calling", r".*/admin/campaigns/uss$")
    assert "Calling is running" in status.inner_text()
    press(page, "Pause calling", r".*/admin/campaigns/uss$")
    assert "Calling is paused" in status.inner_text()
    assert "Calling is paused." in page.locator("main").inner_text()
    press(page, "Resume calling", r".*/admin/campaigns/uss$")
    assert "Calling is running" in status.inner_text()
    screenshot(page, "admin-campaign")
    with live.app.extensions["ivr"].db.begin() as conn:
        assert store.campaign_status(conn, "uss") == "running"
