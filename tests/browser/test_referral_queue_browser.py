"""Supervisors and district officers work referrals in a real browser (headless Chromium).

Referrals come from dissatisfied victims' calls played through the real webhooks. Each
test keeps screenshots under build/screenshots for people to look at.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ivr.accounts.staff import add_user
from ivr.telephony.respondents import Scripted, press, record
from tests.browser.conftest import LiveApp, screenshot
from tests.conftest import SURVEY_NUMBER, add_case, simulator

PASSWORD = "correct horse battery staple"
#: Identity, consent, five dissatisfied answers; then the recorded reason, consent to
#: contact and no further police contact.
DISSATISFIED = ("1", "1", "6", "6", "7", "6", "7")


def referral_for(live: LiveApp, case_ref: str, phone: str, district: str) -> None:
    add_case(live.app, case_ref=case_ref, phone=phone, district=district)
    simulator(live.app).call(
        from_=phone,
        to=SURVEY_NUMBER,
        respondent=Scripted(*(press(k) for k in DISSATISFIED), record(6), press("1"), press("2")),
    )


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


def test_a_district_officer_works_a_referral_from_new_to_closed(
    referrals: LiveApp, page: Any
) -> None:
    live = referrals
    officer = staff(
        live, "officer.hartlepool@cleveland.example", "district_officer", ("Hartlepool",)
    )
    sign_in(page, live, officer)
    # Only their district's referral is in the queue.
    queue_text = page.locator("main").inner_text()
    assert "CLE/26/100001" in queue_text and "CLE/26/100002" not in queue_text
    screenshot(page, "queue-district-officer")
    page.get_by_role("link", name="CLE/26/100001").click()
    page.wait_for_url(re.compile(r".*/queue/referrals/\d+$"))
    detail = page.locator("main").inner_text()
    assert "Hartlepool" in detail and "0113 496 0401" in detail
    assert page.locator("audio").count() == 1
    page.get_by_label("Assign to").select_option(label=f"Me ({officer})")
    with page.expect_navigation():
        page.get_by_role("button", name="Assign").click()
    page.get_by_label("How did it go?").select_option("contacted_resolved")
    page.get_by_label(re.compile(r"^Note \(optional")).first.fill(
        "Spoke to the victim; apologised for the delay and updated them."
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Record attempt").click()
    page.get_by_label("Outcome").select_option("contacted_resolved")
    with page.expect_navigation():
        page.get_by_role("button", name="Close referral").click()
    timeline = page.locator("main").inner_text()
    for words in ("assigned", "contact", "closed"):
        assert words in timeline.lower()
    assert (
        re.search(r"closed", page.locator("h1, .status, main").first.inner_text(), re.IGNORECASE)
        or "Closed" in timeline
    )
    screenshot(page, "referral-closed")


def test_a_supervisor_sees_every_district_and_the_dashboard(referrals: LiveApp, page: Any) -> None:
    live = referrals
    sign_in(page, live, staff(live, "supervisor@cleveland.example", "supervisor"))
    text = page.locator("main").inner_text()
    assert "CLE/26/100001" in text and "CLE/26/100002" in text
    with page.expect_navigation():
        page.get_by_role("link", name="Dashboard").click()
    dashboard = page.locator("main").inner_text()
    assert "Hartlepool" in dashboard and "Stockton" in dashboard
    screenshot(page, "dashboard-supervisor")


def test_another_districts_referral_is_not_found_by_url(referrals: LiveApp, page: Any) -> None:
    live = referrals
    sign_in(
        page,
        live,
        staff(live, "officer.stockton@cleveland.example", "district_officer", ("Stockton",)),
    )
    with live.app.extensions["ivr"].db.transaction() as session:
        from sqlalchemy import select

        from ivr.store.models import Referral

        hartlepool = session.scalars(
            select(Referral.id).where(Referral.district == "Hartlepool")
        ).one()
    response = page.goto(f"{live.url}/queue/referrals/{hartlepool}")
    assert response is not None and response.status == 404
    screenshot(page, "other-district-404")


def test_a_form_without_its_csrf_token_is_refused(referrals: LiveApp, page: Any) -> None:
    live = referrals
    sign_in(page, live, staff(live, "supervisor2@cleveland.example", "supervisor"))
    with page.expect_navigation():
        page.get_by_role("link", name="CLE/26/100001").click()
    page.evaluate("""() => document.querySelectorAll('input[name=csrf_token]')
                            .forEach(input => input.remove())""")
    with page.expect_response(
        lambda r: "/queue/referrals/" in r.url and r.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name="Assign").click()
    assert posted.value.status == 400
    screenshot(page, "csrf-refused")


def test_pages_have_labels_and_reflow_at_200_percent_zoom(referrals: LiveApp, browser: Any) -> None:
    live = referrals
    email = staff(live, "zoom@cleveland.example", "supervisor")
    # A 1280 px window at 200% zoom lays out like a 640 px one at twice the pixel density.
    context = browser.new_context(viewport={"width": 640, "height": 900}, device_scale_factor=2)
    page = context.new_page()
    try:
        sign_in(page, live, email)
        for path in ("/queue", "/dashboard"):
            page.goto(f"{live.url}{path}")
            _check_page(page)
        page.goto(f"{live.url}/queue")
        with page.expect_navigation():
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
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px"
    # Every control can be reached with the keyboard: nothing focusable is hidden from Tab.
    negative = page.evaluate(
        '() => document.querySelectorAll(\'a[tabindex="-1"], button[tabindex="-1"]\').length'
    )
    assert negative == 0


def vcas_referral(live: LiveApp) -> None:
    """A VCAS exit survey with low satisfaction and consent: a service referral."""
    from datetime import date

    from ivr.store.models import Case

    with live.app.extensions["ivr"].db.transaction() as session:
        session.add(
            Case(
                survey="vcas_exit",
                case_ref="VCAS-9001",
                phone="+441134960409",
                first_name="Sam",
                fields={"closed_on": "2026-11-01", "consent": "yes"},
                reported_on=date(2026, 10, 1),
            )
        )
    # Identity, safety, a good time, consent; five core answers; the reason, consent to
    # contact, and nothing more to add.
    simulator(live.app).call(
        from_="+441134960409",
        to=SURVEY_NUMBER,
        respondent=Scripted(
            press("1"),
            press("1"),
            press("1"),
            press("1"),
            press("5"),
            press("3"),
            press("3"),
            press("3"),
            press("2"),
            record(6),
            press("1"),
            press("#"),
        ),
    )


@pytest.mark.parametrize(
    ("role", "sees", "hidden"),
    [
        ("admin", ["CLE/26/100001", "CLE/26/100002"], []),
        ("service_manager", ["VCAS-9001"], ["CLE/26/100001", "CLE/26/100002"]),
    ],
)
def test_each_role_sees_its_own_queue(
    referrals: LiveApp, page: Any, role: str, sees: list[str], hidden: list[str]
) -> None:
    live = referrals
    vcas_referral(live)
    sign_in(page, live, staff(live, f"{role}@cleveland.example", role))
    text = page.locator("main").inner_text()
    for ref in sees:
        assert ref in text
    for ref in hidden:
        assert ref not in text
    screenshot(page, f"queue-{role}")


def test_an_interviewer_has_no_queue(referrals: LiveApp, page: Any) -> None:
    live = referrals
    email = staff(live, "interviewer@cleveland.example", "interviewer")
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "CLE/26/" not in page.locator("body").inner_text()
    response = page.goto(f"{live.url}/queue")
    assert response is not None and response.status == 403
    screenshot(page, "interviewer-no-queue")


def test_a_note_can_be_added_by_keyboard_alone(referrals: LiveApp, page: Any) -> None:
    live = referrals
    sign_in(page, live, staff(live, "keys@cleveland.example", "supervisor"))
    page.get_by_role("link", name="CLE/26/100001").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/queue/referrals/\d+$"))
    # Tab through the page to the note box, type, then Tab to its button and press Enter.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "note-text":
            break
    else:
        pytest.fail("the note box cannot be reached with Tab")
    page.keyboard.type("Left a voicemail asking them to call back.")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Add note"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Left a voicemail asking them to call back." in page.locator("main").inner_text()
