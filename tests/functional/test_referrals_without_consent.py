"""A dissatisfied victim who does not agree to be contacted: the district hears of it, for
information, without learning who the victim is.

Referrals come from calls played through the real webhooks by the Twilio simulator; staff
sign in through ``/login``. The app runs on a clock the test moves, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.app import create_app
from ivr.referrals import workflow
from ivr.referrals.workflow import WorkflowError
from ivr.store.models import Case, Referral, User
from ivr.telephony.respondents import Scripted, press, record
from tests.conftest import SURVEY_NUMBER, add_case, make_settings, simulator
from tests.functional.campaign_world import MONDAY_11, Clock, RaisingQueue
from tests.functional.staff_web import sign_in
from tests.functional.test_referral_queue import (
    DISSATISFIED,
    add_staff,
    case_refs,
    events,
    post,
    smtp_sink,  # noqa: F401 - a fixture, used by name
)

#: The victim who will not be contacted, and the one who agrees.
UNNAMED = {"case_ref": "CR/0001/26", "phone": "+441134960001", "first_name": "Alex"}
NAMED = {"case_ref": "CR/0002/26", "phone": "+441134960002", "first_name": "Robin"}
#: The questions the three dissatisfied answers (6, 7 and 5) were given to.
PROMPTS = (
    "how easy it was to contact someone who could help you",
    "how well you were kept informed",
    "from the time you first contacted the police until now",
)


def make_app(database_url: str, **settings: Any) -> Flask:
    """The app on a clock at Monday 23 November 2026, 11:00, running jobs at once and
    letting their errors reach the test."""
    return create_app(
        make_settings(database_url, **settings), queue=RaisingQueue(), clock=Clock(MONDAY_11)
    )


@pytest.fixture
def app(any_db: str) -> Iterator[Flask]:
    app = make_app(any_db)
    yield app
    app.extensions["ivr"].db.dispose()


@pytest.fixture
def mailing_app(any_db: str, smtp_sink: Any) -> Iterator[Flask]:  # noqa: F811
    app = make_app(
        any_db,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.server_address[1],
        smtp_from="queue@police.test",
    )
    yield app
    app.extensions["ivr"].db.dispose()


def dissatisfied_call(app: Flask, victim: dict[str, str], *, consents: bool) -> int:
    """A dissatisfied victim records why, answers the consent question and wants no
    further police contact; the id of the referral raised."""
    add_case(app, **victim)
    call = simulator(app).call(
        from_=victim["phone"],
        to=SURVEY_NUMBER,
        respondent=Scripted(
            *(press(d) for d in DISSATISFIED),
            record(6, text="They never rang back"),
            press("1" if consents else "2"),
            press("2"),
        ),
    )
    assert call.errors == []
    with app.extensions["ivr"].db.transaction() as session:
        return session.scalars(
            select(Referral.id)
            .join(Case, Case.id == Referral.case_id)
            .where(Referral.kind == "service_recovery", Case.phone == victim["phone"])
        ).one()


def officer(app: Flask) -> Any:
    add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    return sign_in(app, "hart@police.test")


def text_of(client: Any, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def listed_as(page: str) -> list[str]:
    """What each row of the queue calls its referral (the link's words)."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", link).split())
        for link in re.findall(
            r'<th scope="row"><a href="/queue/referrals/\d+">(.*?)</a>', page, re.S
        )
    ]


def close_choices(page: str) -> list[str]:
    found = re.search(r'<select id="close-outcome"[^>]*>(.*?)</select>', page, re.S)
    assert found, "the page has the close form"
    return re.findall(r'<option value="([^"]+)"', found.group(1))


def test_a_dissatisfied_victim_without_consent_raises_one_referral_for_information(
    app: Flask,
) -> None:
    referral_id = dissatisfied_call(app, UNNAMED, consents=False)
    with app.extensions["ivr"].db.transaction() as session:
        referrals = list(session.scalars(select(Referral)))
        assert [(r.id, r.kind, r.district, r.status, r.consented, r.due_at) for r in referrals] == [
            (referral_id, "service_recovery", "Hartlepool", "new", False, None)
        ]
        assert [reason["question"] for reason in referrals[0].reasons] == [
            "ease_of_contact",
            "kept_informed",
            "whole_experience",
        ]


def test_the_queue_lists_it_by_number_without_the_case_reference(app: Flask) -> None:
    unnamed = dissatisfied_call(app, UNNAMED, consents=False)
    dissatisfied_call(app, NAMED, consents=True)
    page = text_of(officer(app), "/queue")
    assert sorted(listed_as(page)) == sorted(
        [f"Referral #{unnamed} (no consent to contact)", NAMED["case_ref"]]
    )
    row = re.search(
        rf'<tr>\s*<th scope="row"><a href="/queue/referrals/{unnamed}">.*?</tr>', page, re.S
    )
    assert row is not None
    assert "(no consent to contact)" in row.group(0)
    assert "No contact to make" in row.group(0)
    assert "Overdue" not in row.group(0)
    for detail in (UNNAMED["case_ref"], UNNAMED["phone"], UNNAMED["first_name"]):
        assert detail not in page


@pytest.mark.parametrize("role", ["district_officer", "supervisor", "admin"])
def test_the_referral_page_shows_the_answers_but_not_who_the_victim_is(
    app: Flask, role: str
) -> None:
    referral_id = dissatisfied_call(app, UNNAMED, consents=False)
    add_staff(
        app, f"{role}@police.test", role, *(("Hartlepool",) if role == "district_officer" else ())
    )
    client = sign_in(app, f"{role}@police.test")
    page = text_of(client, f"/queue/referrals/{referral_id}")
    for prompt in PROMPTS:
        assert prompt in page, prompt
    for said in ("very dissatisfied", "completely dissatisfied", "fairly dissatisfied"):
        assert said in page, said
    assert "The victim did not agree to be contacted" in page
    for detail in (
        UNNAMED["first_name"],
        UNNAMED["phone"],
        UNNAMED["case_ref"],
        "They never rang back",
        "api.twilio.com",
    ):
        assert detail not in page, detail
    assert "<audio" not in page and f"/queue/referrals/{referral_id}/recording" not in page
    assert "First contact due" not in page


@pytest.mark.parametrize("role", ["district_officer", "supervisor", "admin"])
def test_its_recording_is_not_found_even_for_those_who_may_hear_recordings(
    app: Flask, role: str
) -> None:
    unnamed = dissatisfied_call(app, UNNAMED, consents=False)
    named = dissatisfied_call(app, NAMED, consents=True)
    add_staff(
        app, f"{role}@police.test", role, *(("Hartlepool",) if role == "district_officer" else ())
    )
    client = sign_in(app, f"{role}@police.test")
    assert client.get(f"/queue/referrals/{unnamed}/recording").status_code == 404
    # The same role hears a consenting victim's words.
    played = client.get(f"/queue/referrals/{named}/recording")
    assert played.status_code == 302
    assert played.headers["Location"].startswith("https://api.twilio.com/")


def test_no_contact_can_be_recorded_for_it(app: Flask) -> None:
    referral_id = dissatisfied_call(app, UNNAMED, consents=False)
    client = officer(app)
    page = text_of(client, f"/queue/referrals/{referral_id}")
    assert 'name="contact_outcome"' not in page and "Record a contact attempt" not in page
    before = events(app, referral_id)
    response = post(
        client,
        referral_id,
        "contact",
        contact_outcome="contacted_resolved",
        contact_note="spoke to them",
    )
    assert response.status_code == 400
    assert "did not agree to be contacted" in response.get_data(as_text=True)
    assert events(app, referral_id) == before
    with app.extensions["ivr"].db.transaction() as session:
        referral = session.get(Referral, referral_id)
        user = session.scalars(select(User).where(User.email == "hart@police.test")).one()
        assert referral is not None
        for outcome in ("contacted_resolved", "no_contact", "declined"):
            with pytest.raises(WorkflowError, match="did not agree to be contacted"):
                workflow.record_contact(referral, outcome, user, now=MONDAY_11)
        assert (referral.status, referral.first_contact_at) == ("new", None)


def test_it_is_closed_only_as_noted_and_a_consented_one_never_is(app: Flask) -> None:
    unnamed = dissatisfied_call(app, UNNAMED, consents=False)
    named = dissatisfied_call(app, NAMED, consents=True)
    client = officer(app)
    assert close_choices(text_of(client, f"/queue/referrals/{unnamed}")) == ["noted"]
    assert "noted" not in close_choices(text_of(client, f"/queue/referrals/{named}"))
    for outcome in ("contacted_resolved", "contacted_escalated", "declined", "not_contactable"):
        assert post(client, unnamed, "close", close_outcome=outcome).status_code == 400, outcome
    assert post(client, named, "close", close_outcome="noted").status_code == 400
    response = post(
        client, unnamed, "close", close_outcome="noted", close_note="seen by the inspector"
    )
    assert response.status_code == 302
    with app.extensions["ivr"].db.transaction() as session:
        closed = session.get(Referral, unnamed)
        still_open = session.get(Referral, named)
        assert closed is not None and still_open is not None
        assert (closed.status, closed.outcome, closed.first_contact_at) == ("closed", "noted", None)
        assert (still_open.status, still_open.outcome) == ("new", None)
        user = session.scalars(select(User).where(User.email == "hart@police.test")).one()
        with pytest.raises(WorkflowError, match="noted"):
            workflow.close(still_open, "noted", user, now=MONDAY_11)
    assert [kind for kind, _ in events(app, unnamed)][-1] == "closed"


def test_it_is_never_overdue(app: Flask) -> None:
    unnamed = dissatisfied_call(app, UNNAMED, consents=False)
    named = dissatisfied_call(app, NAMED, consents=True)
    clock = app.extensions["ivr"].clock
    clock.advance(days=90)
    client = officer(app)
    overdue = text_of(client, "/queue?overdue=1")
    assert listed_as(overdue) == [NAMED["case_ref"]]
    assert re.search(r"Overdue</a>:\s*<strong>1</strong>", overdue)
    assert (
        "Overdue"
        not in text_of(client, f"/queue/referrals/{unnamed}").split("<h2>Why it was raised</h2>")[0]
    )
    with app.extensions["ivr"].db.transaction() as session:
        assert [r.id for r in workflow.overdue(session, clock())] == [named]
        referral = session.get(Referral, unnamed)
        assert referral is not None
        assert not workflow.is_overdue(referral, clock() + timedelta(days=3650))


def test_the_new_referral_notification_says_it_is_for_information(
    mailing_app: Flask,
    smtp_sink: Any,  # noqa: F811 - the fixture imported above, by name
) -> None:
    add_staff(mailing_app, "hart@police.test", "district_officer", "Hartlepool")
    referral_id = dissatisfied_call(mailing_app, UNNAMED, consents=False)
    [(to, message)] = smtp_sink.messages
    assert to == ["hart@police.test"]
    assert f"Subject: New service recovery referral #{referral_id} for Hartlepool" in message
    assert "The victim did not agree to be contacted: it is for information." in message
    assert "First contact is due" not in message
    for detail in (*UNNAMED.values(), "burglary", "They never rang back"):
        assert detail not in message
    assert events(mailing_app, referral_id)[0][1]["via"] == "email"


def test_a_consenting_victims_notification_gives_the_due_date(
    mailing_app: Flask,
    smtp_sink: Any,  # noqa: F811 - the fixture imported above, by name
) -> None:
    add_staff(mailing_app, "hart@police.test", "district_officer", "Hartlepool")
    dissatisfied_call(mailing_app, NAMED, consents=True)
    [(_, message)] = smtp_sink.messages
    assert "First contact is due by" in message
    assert "for information" not in message


def test_a_consenting_victims_referral_still_shows_who_they_are_and_their_words(app: Flask) -> None:
    referral_id = dissatisfied_call(app, NAMED, consents=True)
    with app.extensions["ivr"].db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        assert referral.consented is True and referral.due_at is not None
    client = officer(app)
    listed = text_of(client, "/queue")
    assert listed_as(listed) == case_refs(listed) == [NAMED["case_ref"]]
    page = text_of(client, f"/queue/referrals/{referral_id}")
    for detail in (NAMED["first_name"], NAMED["phone"], NAMED["case_ref"]):
        assert detail in page, detail
    assert f'<audio controls preload="none" src="/queue/referrals/{referral_id}/recording">' in page
    assert 'name="contact_outcome"' in page
    assert "did not agree to be contacted" not in page
    response = post(client, referral_id, "contact", contact_outcome="contacted_resolved")
    assert response.status_code == 302
