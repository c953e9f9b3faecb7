"""Supervisors and district officers work referrals in a real browser (headless Chromium).

Referrals come from dissatisfied victims' calls played through the real webhooks. Each
test keeps screenshots under build/screenshots for people to look at.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ivr.supervision.accounts import add_user
from ivr.telephony.respondents import Scripted, press, record
from tests.browser.conftest import LiveApp, screenshot
from tests.conftest import SURVEY_NUMBER, add_case, simulator

PASSWORD = "correct horse battery staple"
#: Identity, consent, five dissatisfied answers, consent to contact, recording, no alert.
DISSATISFIED = ("1", "1", "6", "6", "7", "6", "7", "1")


def referral_for(live: LiveApp, case_ref: str, phone: str, district: str) -> None:
    add_case(live.app, case_ref=case_ref, phone=phone, district=district)
    simulator(live.app).call(from_=phone, to=SURVEY_NUMBER, respondent=Scripted(
        *(press(k) for k in DISSATISFIED), record(6), press("2")))


def staff(live: LiveApp, email: str, role: str, districts: tuple[str, ...] = ()) -> str:
    with live.app.extensions["ivr"].db.transaction() as session:
        add_user(session, email, role=role, password=PASSWORD, districts=districts)
    return email


def sign_in(page: Any, live: LiveApp, email: str) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    # By keyboard: Enter submits the form.
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r".*/queue.*"))


@pytest.fixture
def referrals(live: LiveApp) -> LiveApp:
    referral_for(live, "CLE/26/100001", "+441134960401", "Hartlepool")
    referral_for(live, "CLE/26/100002", "+441134960402", "Stockton")
    return live


def test_a_district_officer_works_a_referral_from_new_to_closed(referrals: LiveApp,
                                                                page: Any) -> None:
    live = referrals
    officer = staff(live, "officer.hartlepool@cleveland.example", "district_officer",
                    ("Hartlepool",))
    sign_in(page, live, officer)
    # Only their district's referral is in the queue.
    queue_text = page.locator("main").inner_text()
    assert "CLE/26/100001" in queue_text and "CLE/26/100002" not in queue_text
    screenshot(page, "queue-district-officer")
    page.get_by_role("link", name="CLE/26/100001").click()
    page.wait_for_url(re.compile(r".*/queue/referrals/\d+$"))
    detail = page.locator("main").inner_text()
    assert "Hartlepool" in detail and "+441134960401" in detail
    assert page.locator("audio").count() == 1
    page.get_by_label("Assign to").select_option(label=f"Me ({officer})")
    page.get_by_role("button", name="Assign").click()
    page.get_by_label("How did it go?").select_option("contacted_resolved")
    page.get_by_label(re.compile(r"^Note \(optional")).first.fill(
        "Spoke to the victim; apologised for the delay and updated them.")
    page.get_by_role("button", name="Record attempt").click()
    page.get_by_label("Outcome").select_option("contacted_resolved")
    page.get_by_role("button", name="Close referral").click()
    timeline = page.locator("main").inner_text()
    for words in ("assigned", "contact", "closed"):
        assert words in timeline.lower()
    assert re.search(r"closed", page.locator("h1, .status, main").first.inner_text(),
                     re.IGNORECASE) or "Closed" in timeline
    screenshot(page, "referral-closed")


def test_a_supervisor_sees_every_district_and_the_dashboard(referrals: LiveApp,
                                                            page: Any) -> None:
    live = referrals
    sign_in(page, live, staff(live, "supervisor@cleveland.example", "supervisor"))
    text = page.locator("main").inner_text()
    assert "CLE/26/100001" in text and "CLE/26/100002" in text
    page.get_by_role("link", name="Dashboard").click()
    dashboard = page.locator("main").inner_text()
    assert "Hartlepool" in dashboard and "Stockton" in dashboard
    screenshot(page, "dashboard-supervisor")


def test_another_districts_referral_is_not_found_by_url(referrals: LiveApp,
                                                        page: Any) -> None:
    live = referrals
    sign_in(page, live, staff(live, "officer.stockton@cleveland.example", "district_officer",
                              ("Stockton",)))
    with live.app.extensions["ivr"].db.transaction() as session:
        from sqlalchemy import select

        from ivr.store.models import Referral
        hartlepool = session.scalars(select(Referral.id).where(
            Referral.district == "Hartlepool")).one()
    response = page.goto(f"{live.url}/queue/referrals/{hartlepool}")
    assert response is not None and response.status == 404
    screenshot(page, "other-district-404")


def test_a_form_without_its_csrf_token_is_refused(referrals: LiveApp, page: Any) -> None:
    live = referrals
    sign_in(page, live, staff(live, "supervisor2@cleveland.example", "supervisor"))
    page.get_by_role("link", name="CLE/26/100001").click()
    page.evaluate("""() => document.querySelectorAll('input[name=csrf_token]')
                            .forEach(input => input.remove())""")
    with page.expect_response(lambda r: "/queue/referrals/" in r.url
                              and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Assign").click()
    assert posted.value.status == 400
    screenshot(page, "csrf-refused")


def test_pages_have_labels_and_reflow_at_200_percent_zoom(referrals: LiveApp,
                                                          browser: Any) -> None:
    live = referrals
    email = staff(live, "zoom@cleveland.example", "supervisor")
    # A 1280 px window at 200% zoom lays out like a 640 px one at twice the pixel density.
    context = browser.new_context(viewport={"width": 640, "height": 900},
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        sign_in(page, live, email)
        for path in ("/queue", "/dashboard"):
            page.goto(f"{live.url}{path}")
            _check_page(page)
        page.goto(f"{live.url}/queue")
        page.get_by_role("link", name="CLE/26/100001").click()
        _check_page(page)
        screenshot(page, "referral-200-percent")
    finally:
        context.close()


def _check_page(page: Any) -> None:
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]), select, textarea')]
        .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map(el => el.name || el.id)""")
    assert unlabelled == []
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px"
    # Every control can be reached with the keyboard: nothing focusable is hidden from Tab.
    negative = page.evaluate(
        "() => document.querySelectorAll('a[tabindex=\"-1\"], button[tabindex=\"-1\"]').length")
    assert negative == 0
