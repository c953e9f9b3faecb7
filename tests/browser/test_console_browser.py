"""Interviewers run telephone interviews from the console in a real browser (headless
Chromium), on a simulated Monday 11:00 so that cases are due and inside the calling window.

Each test keeps screenshots under build/screenshots for people to look at.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from ivr.accounts.staff import add_user
from ivr.app import create_app
from ivr.campaigns.samples import import_sample
from ivr.jobs import InProcessQueue
from ivr.store.models import Interview, Referral
from tests.browser.conftest import LiveApp, screenshot
from tests.conftest import make_settings
from tests.functional.campaign_world import MONDAY_11, Clock, uss_csv

PASSWORD = "correct horse battery staple"
VICTIM = "+441134960601"
INTERVIEWER = "interviewer@cleveland.example"


@pytest.fixture
def console_live(sqlite_url: str) -> Iterator[LiveApp]:
    """The app served on Monday 11:00 with one burglary victim due for the USS survey."""
    clock = Clock(MONDAY_11)
    app = create_app(make_settings(sqlite_url), queue=InProcessQueue(), clock=clock)
    svc = app.extensions["ivr"]
    q = svc.questionnaires.current("uss").questionnaire
    sample = uss_csv([("CLE/26/400001", VICTIM, "burglary", date(2026, 10, 5))])
    with svc.db.transaction() as session:
        report = import_sample(session, q, io.StringIO(sample, newline=""), today=clock().date())
        assert not report.problems, report.problems
        add_user(session, INTERVIEWER, role="interviewer", password=PASSWORD)
    with LiveApp(app) as served:
        yield served


def sign_in(page: Any, live: LiveApp, email: str = INTERVIEWER) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    # By keyboard: Enter submits the form. Interviewers land on the home page.
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")
    page.goto(f"{live.url}/console")


def take_next_case(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Next case").click()
    page.wait_for_url(re.compile(r".*/console/interviews/\d+$"))


def heading(page: Any) -> str:
    return str(page.locator("h1").inner_text()).strip()


def press(page: Any, key: str) -> str:
    """Press an answer key, as the interviewer would with the victim on the line; the
    heading of the step it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)
    return heading(page)


def tab_to(page: Any, element_id: str) -> None:
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} cannot be reached with Tab")


def test_a_whole_uss_interview_by_keyboard_alone(console_live: LiveApp, page: Any) -> None:
    live = console_live
    sign_in(page, live)
    page.get_by_role("button", name="Next case").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console/interviews/\d+$"))
    main = page.locator("main").inner_text()
    # The number to dial as people write it in the UK.
    assert "CLE/26/400001" in main and "0113 496 0601" in main and "Alex" in main
    assert heading(page) == "Identity check"
    screenshot(page, "console-identity")
    assert press(page, "y") == "Consent"
    assert press(page, "1") == "Question 1 of 8"
    # Dissatisfied with each core question: asked why, then service recovery is offered.
    for number in range(2, 7):
        assert press(page, "6") == f"Question {number} of 8"
    # The victim's reason, verbatim: Tab to the box, type, Tab to its button, Enter.
    tab_to(page, "answer-text")
    page.keyboard.type("Nobody told me the case had been closed.")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Record the words"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert heading(page) == "Question 7 of 8"
    assert press(page, "y") == "Question 8 of 8"
    screenshot(page, "console-last-question")
    assert press(page, "n").startswith("Interview ended")
    main = page.locator("main").inner_text()
    assert "Thank you for taking part" in main
    assert "Nobody told me the case had been closed." in main
    screenshot(page, "console-completed")
    # End the call (the case is given back), still by keyboard.
    tab_to(page, "finish-call")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Call ended: completed" in page.locator("main").inner_text()
    with live.app.extensions["ivr"].db.transaction() as session:
        interview = session.scalars(select(Interview)).one()
        kinds = session.scalars(select(Referral.kind)).all()
    assert interview.status == "completed" and interview.channel == "interviewer"
    assert list(kinds) == ["service_recovery"]


def test_a_call_back_is_booked(console_live: LiveApp, page: Any) -> None:
    live = console_live
    sign_in(page, live)
    take_next_case(page)
    assert press(page, "y") == "Consent"
    page.get_by_label("When to call back").select_option(label="Tomorrow evening")
    with page.expect_navigation():
        page.get_by_role("button", name="Book call-back").click()
    main = page.locator("main").inner_text()
    assert "Call-back booked for Tue 24 Nov 2026" in main
    assert "We will call back at another time" in main
    screenshot(page, "console-call-back")
    with page.expect_navigation():
        page.get_by_role("link", name="Back to the console").click()
    assert "You hold no case" in page.locator("main").inner_text()


def test_an_action_alert_is_raised_mid_interview(console_live: LiveApp, page: Any) -> None:
    live = console_live
    sign_in(page, live)
    take_next_case(page)
    press(page, "y")
    assert press(page, "1") == "Question 1 of 8"
    page.get_by_label("What do they want the police to contact them about?").fill(
        "The offender has been seen near their home again."
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Raise action alert").click()
    assert "Action alert #" in page.locator("main").inner_text()
    screenshot(page, "console-action-alert")
    # The interview goes on where it was.
    assert heading(page) == "Question 1 of 8"
    assert press(page, "2") == "Question 2 of 8"
    with live.app.extensions["ivr"].db.transaction() as session:
        alert = session.scalars(select(Referral)).one()
    assert alert.kind == "action_alert" and alert.district == "Hartlepool"
    assert "seen near their home" in alert.reasons[0]["answer"]
