"""The queue as a team runs it: search by case reference, pages, the CSV download, kinds
told apart, surveys by title, UK phone numbers, services that are not districts, the
dashboard's first-contact target, error pages and outcomes that must be chosen."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from ivr.referrals.workflow import PAGE_SIZE
from ivr.store.models import AuditEntry, Referral, ReferralEvent, utcnow
from ivr.web.phones import uk_phone
from tests.functional.staff_web import csrf, sign_in
from tests.functional.test_referral_queue import add_referral, add_staff, post


def _supervisor(app: Flask) -> object:
    add_staff(app, "sup@cleveland.example", "supervisor")
    return sign_in(app, "sup@cleveland.example")


def _listed(page: str) -> list[str]:
    """The case references in the queue's table, in order."""
    return re.findall(r'/queue/referrals/\d+">([^<]+)</a>', page)


def test_search_finds_a_case_by_whole_reference_or_its_start_in_any_case(app_any_db: Flask) -> None:
    app = app_any_db
    for ref in ("CLE/26/000101", "CLE/26/000102", "CLE/26/000201", "cle/27/5%_1"):
        add_referral(app, case_ref=ref)
    client = _supervisor(app)
    whole = client.get("/queue?case_ref=cle/26/000101").get_data(as_text=True)
    assert _listed(whole) == ["CLE/26/000101"]
    start = client.get("/queue?case_ref=Cle/26/0001").get_data(as_text=True)
    assert sorted(_listed(start)) == ["CLE/26/000101", "CLE/26/000102"]
    # LIKE's wildcards typed in a reference are only characters.
    assert _listed(client.get("/queue?case_ref=CLE/27/5%25_").get_data(as_text=True)) == [
        "cle/27/5%_1"
    ]
    assert _listed(client.get("/queue?case_ref=CLE/26/0%25").get_data(as_text=True)) == []
    nothing = client.get("/queue?case_ref=XYZ")
    assert nothing.status_code == 200
    assert "No referrals match these filters" in nothing.get_data(as_text=True)


def test_a_too_long_reference_or_bad_page_says_so_and_keeps_the_other_filters(app: Flask) -> None:
    add_referral(app, case_ref="CLE/26/000301", district="Hartlepool")
    add_referral(app, case_ref="CLE/26/000302", district="Stockton")
    client = _supervisor(app)
    response = client.get("/queue?case_ref=" + "A" * 65 + "&district=Stockton")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "a case reference is at most 64 characters" in page
    assert _listed(page) == ["CLE/26/000302"]
    bad = client.get("/queue?page=two&district=Stockton")
    assert bad.status_code == 400 and "is not a page number" in bad.get_data(as_text=True)
    assert _listed(bad.get_data(as_text=True)) == ["CLE/26/000302"]
    assert client.get("/queue?kind=complaint").status_code == 400


def test_pages_of_fifty_with_links_that_keep_the_filters(app_any_db: Flask) -> None:
    app = app_any_db
    total = PAGE_SIZE * 2 + 3
    for n in range(total):
        add_referral(app, case_ref=f"CLE/26/{n:06d}", due_in=timedelta(hours=n + 1))
    add_referral(app, case_ref="CLE/26/OTHER", district="Stockton")
    client = _supervisor(app)
    first = client.get("/queue?district=Hartlepool").get_data(as_text=True)
    assert _listed(first) == [f"CLE/26/{n:06d}" for n in range(PAGE_SIZE)]
    assert "Page 1 of 3" in first and "Previous page" not in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_link
    href = next_link.group(1).replace("&amp;", "&")
    assert "district=Hartlepool" in href and "page=2" in href
    second = client.get(href).get_data(as_text=True)
    assert _listed(second) == [f"CLE/26/{n:06d}" for n in range(PAGE_SIZE, 2 * PAGE_SIZE)]
    assert "Page 2 of 3" in second and 'rel="prev"' in second
    last = client.get("/queue?district=Hartlepool&page=3").get_data(as_text=True)
    assert _listed(last) == [f"CLE/26/{n:06d}" for n in range(2 * PAGE_SIZE, total)]
    assert 'rel="next"' not in last
    # A page past the last shows the last.
    assert _listed(client.get("/queue?district=Hartlepool&page=99").get_data(as_text=True)) == (
        _listed(last)
    )


def test_the_download_has_every_page_of_the_filter_safe_cells_and_is_audited(
    app_any_db: Flask,
) -> None:
    app = app_any_db
    for n in range(PAGE_SIZE + 5):
        add_referral(app, case_ref=f"CLE/26/{n:06d}")
    add_referral(app, case_ref="=HYPERLINK(1)", kind="action_alert")
    add_referral(app, case_ref="CLE/26/STOCKTON", district="Stockton")
    client = _supervisor(app)
    response = client.get("/queue.csv?district=Hartlepool")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == PAGE_SIZE + 6
    refs = {row["case_ref"] for row in rows}
    assert "CLE/26/STOCKTON" not in refs and "'=HYPERLINK(1)" in refs
    alert = next(row for row in rows if row["case_ref"] == "'=HYPERLINK(1)")
    assert alert["kind"] == "Action alert"
    assert {row["survey"] for row in rows} == {
        "Victim satisfaction survey (Home Office core questions)"
    }
    # Interviews with no language stored were held in the questionnaire's own.
    assert {row["language"] for row in rows} == {"English"}
    # No phone numbers or names: the queue's page shows none either.
    text = response.get_data(as_text=True)
    assert "+44113" not in text and "Sam" not in text
    with app.extensions["ivr"].db.transaction() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "download_queue")
        ).one()
        assert entry.details == {"referrals": PAGE_SIZE + 6, "filters": {"district": "Hartlepool"}}
    assert client.get("/queue.csv?status=nonsense").status_code == 400


def test_action_alerts_and_service_recovery_are_labelled_and_filtered(app: Flask) -> None:
    add_referral(app, case_ref="CLE/26/ALERT", kind="action_alert")
    add_referral(app, case_ref="CLE/26/RECOVERY", kind="service_recovery")
    client = _supervisor(app)
    page = client.get("/queue").get_data(as_text=True)
    assert '<span class="tag kind kind-action-alert">Action alert</span>' in page
    assert '<span class="tag kind kind-service-recovery">Service recovery</span>' in page
    alerts = client.get("/queue?kind=action_alert").get_data(as_text=True)
    assert _listed(alerts) == ["CLE/26/ALERT"]
    # Both kinds can be chosen even when only one is in the queue.
    assert '<option value="action_alert"' in page and '<option value="service_recovery"' in page


def test_surveys_show_by_title_and_a_service_is_not_a_district(app: Flask) -> None:
    add_referral(app, case_ref="CLE/26/USS")
    vcas = add_referral(
        app, case_ref="VCAS/26/1", survey="vcas_exit", district="VCAS service manager"
    )
    with app.extensions["ivr"].db.transaction() as session:
        # A VCAS case is in a police district; its referral goes to the service.
        stored = session.get(Referral, vcas)
        assert stored is not None
        stored.case.district = "Stockton"
    client = _supervisor(app)
    page = client.get("/queue").get_data(as_text=True)
    assert "Victim satisfaction survey (Home Office core questions)" in page
    assert "Victim Care and Advice Service exit survey" in page
    assert ">uss<" not in page and ">vcas_exit<" not in page
    # Both interviews were in the questionnaires' own language: no language is called out.
    assert 'class="tag language"' not in page
    assert "Routed to: VCAS service manager" in page
    district_filter = page.split('id="filter-district"')[1].split("</select>")[0]
    assert "Hartlepool" in district_filter and "VCAS service manager" not in district_filter
    detail = client.get(f"/queue/referrals/{vcas}").get_data(as_text=True)
    assert "<dt>Routed to</dt><dd>VCAS service manager</dd>" in detail
    assert "<dt>District</dt><dd>Stockton</dd>" in detail
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Routed to: VCAS service manager" in dashboard


def test_phone_numbers_are_shown_in_the_uk_format(app: Flask) -> None:
    assert uk_phone("+441134960002") == "0113 496 0002"
    assert uk_phone("+442079460006") == "020 7946 0006"
    assert uk_phone("12#34") == "12#34" and uk_phone(None) == ""
    referral = add_referral(app, case_ref="CLE/26/PHONE")
    client = _supervisor(app)
    page = client.get(f"/queue/referrals/{referral}").get_data(as_text=True)
    assert '<a href="tel:+441134960002">0113 496 0002</a>' in page


def _timed(app: Flask, referral_id: int, *, due: timedelta, contacted: timedelta | None) -> None:
    """Move the referral's deadline and first contact relative to now."""
    now = utcnow()
    with app.extensions["ivr"].db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        referral.created_at = now + due - timedelta(days=2)
        referral.due_at = now + due
        referral.first_contact_at = None if contacted is None else now + contacted
        if contacted is not None:
            referral.status = "in_progress"


def test_the_dashboard_gives_the_share_first_contacted_within_the_target(
    app_any_db: Flask,
) -> None:
    app = app_any_db
    hour = timedelta(hours=1)
    in_time = add_referral(app, case_ref="H1")
    late = add_referral(app, case_ref="H2")
    never = add_referral(app, case_ref="H3")
    waiting = add_referral(app, case_ref="H4")
    stockton = add_referral(app, case_ref="S1", district="Stockton")
    _timed(app, in_time, due=-2 * hour, contacted=-5 * hour)
    _timed(app, late, due=-5 * hour, contacted=-2 * hour)
    _timed(app, never, due=-3 * hour, contacted=None)
    _timed(app, waiting, due=20 * hour, contacted=None)
    _timed(app, stockton, due=-1 * hour, contacted=-4 * hour)
    client = _supervisor(app)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "First contacted within the target" in page
    hartlepool = page.split(">Hartlepool</a>")[1].split("</tr>")[0]
    assert "<strong>33.3%</strong>" in hartlepool
    assert "1 of 3 referrals due in the period" in hartlepool
    assert "1 not yet due, left out" in hartlepool
    stockton_row = page.split(">Stockton</a>")[1].split("</tr>")[0]
    assert "<strong>100%</strong>" in stockton_row and "1 of 1 referral due" in stockton_row
    total = page.split("<tfoot>")[1]
    assert "<strong>50%</strong>" in total and "2 of 4 referrals due in the period" in total


def test_outcomes_must_be_chosen_and_the_note_is_kept(app: Flask) -> None:
    referral = add_referral(app, case_ref="CLE/26/CHOOSE")
    client = _supervisor(app)
    page = client.get(f"/queue/referrals/{referral}").get_data(as_text=True)
    assert '<option value="" selected>Choose an outcome</option>' in page
    response = post(client, referral, "contact", contact_outcome="", contact_note="Rang twice")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Choose how the contact attempt went" in text
    assert 'id="contact-error"' in text and ">Rang twice</textarea>" in text
    closing = post(client, referral, "close", close_outcome="", close_note="All sorted")
    assert closing.status_code == 400
    assert "Choose an outcome to close it with" in closing.get_data(as_text=True)
    assert ">All sorted</textarea>" in closing.get_data(as_text=True)
    with app.extensions["ivr"].db.transaction() as session:
        assert session.scalars(select(ReferralEvent)).all() == []
        stored = session.get(Referral, referral)
        assert stored is not None and stored.status == "new"


def test_error_pages_are_in_the_products_layout_with_a_way_back(app: Flask) -> None:
    anonymous = app.test_client()
    missing = anonymous.get("/no-such-page")
    assert missing.status_code == 404
    page = missing.get_data(as_text=True)
    assert "Page not found" in page and 'class="site-header"' in page
    assert 'href="/login"' in page and "Sign in" in page
    client = _supervisor(app)
    signed_in = client.get("/queue/referrals/999999").get_data(as_text=True)
    assert "Page not found" in signed_in and "Go to your home page" in signed_in
    wrong_method = client.delete("/queue")
    assert wrong_method.status_code == 405 and "Allow" in wrong_method.headers
    assert "That cannot be done here" in wrong_method.get_data(as_text=True)
    token = csrf(client.get("/queue").get_data(as_text=True))
    assert token
    no_token = client.post("/queue/referrals/1/note", data={"note_text": "x"})
    assert no_token.status_code == 400
    # A form without its token keeps the sign-in guard's own plain answer.
    assert "reload the page" in no_token.get_data(as_text=True)
    add_staff(app, "int@cleveland.example", "interviewer")
    interviewer = sign_in(app, "int@cleveland.example")
    forbidden = interviewer.get("/queue")
    assert forbidden.status_code == 403
    denied = forbidden.get_data(as_text=True)
    assert "You do not have access to this page" in denied
    assert "Go to your home page" in denied and 'href="/"' in denied


def test_webhooks_and_health_keep_their_own_answers(app: Flask) -> None:
    client = app.test_client()
    unsigned = client.post("/twilio/voice", data={"CallSid": "CA1"})
    assert unsigned.status_code == 403
    assert "site-header" not in unsigned.get_data(as_text=True)
    assert "site-header" not in client.get("/twilio/nowhere").get_data(as_text=True)
    health = client.get("/healthz")
    assert health.is_json


def test_a_server_error_is_a_page_with_a_way_back(app: Flask) -> None:
    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/broken-for-test", "broken_for_test", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/broken-for-test")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Sorry, something went wrong" in page and "boom" not in page
    assert 'href="/login"' in page
