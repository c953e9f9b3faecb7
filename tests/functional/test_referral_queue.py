"""The referral queue through the web: scoping, working a referral, audit, notifications.

Referrals come from a dissatisfied call played through the simulator, or from rows
inserted directly; people sign in through ``/login`` like anyone else.
"""

from __future__ import annotations

import logging
import re
import socketserver
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.accounts.staff import add_user
from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.store.interviews import pin_version
from ivr.store.models import (
    Answer,
    AuditEntry,
    Case,
    Interview,
    Referral,
    ReferralEvent,
    utcnow,
)
from ivr.telephony.respondents import Scripted, press, record
from tests.conftest import SURVEY_NUMBER, add_case, make_settings, simulator
from tests.functional.staff_web import PASSWORD, csrf, sign_in
from workers import notifications

CALLER = "+441134960001"
#: Identity, consent, five core answers (three dissatisfied); then the recorded reason,
#: consent to be contacted and no further police contact.
DISSATISFIED = ("1", "1", "6", "2", "7", "3", "5")
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"


def add_staff(app: Flask, email: str, role: str, *districts: str, active: bool = True) -> int:
    with app.extensions["ivr"].db.transaction() as session:
        user = add_user(session, email, role=role, password=PASSWORD, districts=districts)
        user.active = active
        return user.id


def add_referral(
    app: Flask,
    *,
    case_ref: str,
    district: str = "Hartlepool",
    survey: str = "uss",
    kind: str = "service_recovery",
    crime_type: str = "burglary",
    due_in: timedelta = timedelta(days=2),
    recording: str | None = None,
) -> int:
    """Store a referral as a call would have raised it, with its answers."""
    svc = app.extensions["ivr"]
    now = utcnow()
    with svc.db.transaction() as session:
        case = Case(
            survey=survey,
            case_ref=case_ref,
            phone="+441134960002",
            first_name="Sam",
            crime_type=crime_type,
            district=district,
            reported_on=date(2026, 8, 3),
        )
        session.add(case)
        session.flush()
        interview = Interview(
            case_id=case.id,
            channel="ivr",
            status="completed",
            questionnaire_version_id=pin_version(session, svc.questionnaires.current(survey)),
        )
        session.add(interview)
        session.flush()
        session.add(
            Answer(
                interview_id=interview.id,
                question_id="whole_experience",
                code="7",
                label="completely dissatisfied",
                via="keypad",
            )
        )
        if recording:
            session.add(
                Answer(
                    interview_id=interview.id,
                    question_id="dissatisfaction_reason",
                    code="recorded",
                    via="recording",
                    recording_url=recording,
                )
            )
        referral = Referral(
            interview_id=interview.id,
            case_id=case.id,
            survey=survey,
            kind=kind,
            district=district,
            status="new",
            created_at=now,
            due_at=now + due_in,
            reasons=[
                {"question": "whole_experience", "code": "7", "answer": "completely dissatisfied"}
            ],
        )
        session.add(referral)
        session.flush()
        return referral.id


def events(app: Flask, referral_id: int) -> list[tuple[str, dict[str, Any]]]:
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (e.kind, e.details)
            for e in session.scalars(
                select(ReferralEvent)
                .where(ReferralEvent.referral_id == referral_id)
                .order_by(ReferralEvent.id)
            )
        ]


def audit_trail(app: Flask) -> list[tuple[str, int | None, str | None, int | None]]:
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (a.action, a.actor_id, a.object_type, a.object_id)
            for a in session.scalars(
                select(AuditEntry).where(AuditEntry.action != "sign_in").order_by(AuditEntry.id)
            )
        ]


def post(client: FlaskClient, referral_id: int, form: str, **data: str) -> Any:
    token = csrf(client.get("/queue").get_data(as_text=True))
    return client.post(f"/queue/referrals/{referral_id}/{form}", data={"csrf_token": token, **data})


def case_refs(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/queue/referrals/\d+">([^<]+)</a>', page)


def dissatisfied_call(app: Flask, district: str = "Hartlepool") -> int:
    add_case(app, district=district)
    call = simulator(app).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        respondent=Scripted(*(press(d) for d in DISSATISFIED), record(6), press("1"), press("2")),
    )
    assert call.errors == []
    with app.extensions["ivr"].db.transaction() as session:
        return session.scalars(select(Referral.id)).one()


def test_an_officer_gets_not_found_for_another_districts_referral_however_asked(app: Flask) -> None:
    theirs = add_referral(app, case_ref="S1", district="Stockton", recording=RECORDING)
    add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    client = sign_in(app, "hart@police.test")
    assert client.get(f"/queue/referrals/{theirs}").status_code == 404
    assert client.get(f"/queue/referrals/{theirs}/recording").status_code == 404
    me = {
        "user_id": "1",
        "note_text": "x",
        "contact_outcome": "no_contact",
        "close_outcome": "declined",
        "reopen_reason": "x",
    }
    for form in ("assign", "note", "contact", "close", "reopen"):
        assert post(client, theirs, form, **me).status_code == 404, form
    assert client.get("/queue/referrals/999999").status_code == 404
    # By the listed references: a random token in the page may hold the letters "S1".
    assert "S1" not in case_refs(client.get("/queue").get_data(as_text=True))
    assert events(app, theirs) == []
    assert audit_trail(app) == []


def test_a_service_manager_sees_only_victim_service_referrals(app: Flask) -> None:
    police = add_referral(app, case_ref="P1")
    service = add_referral(app, case_ref="V1", survey="vcas_exit", district="VCAS service manager")
    add_staff(app, "vcas@support.test", "service_manager")
    client = sign_in(app, "vcas@support.test")
    assert case_refs(client.get("/queue").get_data(as_text=True)) == ["V1"]
    assert client.get(f"/queue/referrals/{police}").status_code == 404
    assert client.get(f"/queue/referrals/{service}").status_code == 200
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "VCAS service manager" in dashboard and "Hartlepool" not in dashboard


def test_an_interviewer_may_not_use_the_queue(app: Flask) -> None:
    referral_id = add_referral(app, case_ref="H1")
    add_staff(app, "int@police.test", "interviewer")
    client = sign_in(app, "int@police.test")
    for path in (
        "/queue",
        "/dashboard",
        f"/queue/referrals/{referral_id}",
        f"/queue/referrals/{referral_id}/recording",
    ):
        assert client.get(path).status_code == 403, path
    token = csrf(client.get("/console").get_data(as_text=True))
    assert (
        client.post(
            f"/queue/referrals/{referral_id}/note", data={"csrf_token": token, "note_text": "hi"}
        ).status_code
        == 403
    )


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    response = app.test_client().get("/queue")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_list_filters_and_puts_soonest_due_first_closed_last(app: Flask) -> None:
    add_referral(app, case_ref="LATER", due_in=timedelta(days=3))
    add_referral(app, case_ref="LATE", due_in=timedelta(hours=-2))
    add_referral(app, case_ref="SOON", due_in=timedelta(hours=5), crime_type="vehicle")
    add_referral(app, case_ref="ALERT", kind="action_alert", district="Stockton")
    done = add_referral(app, case_ref="DONE", due_in=timedelta(hours=-5))
    add_staff(app, "sup@police.test", "supervisor")
    client = sign_in(app, "sup@police.test")
    post(client, done, "close", close_outcome="declined")

    page = client.get("/queue").get_data(as_text=True)
    assert case_refs(page) == ["LATE", "SOON", "ALERT", "LATER", "DONE"]
    assert page.count('<strong class="tag overdue">Overdue</strong>') == 1
    assert re.search(r"Closed</a>:\s*<strong>1</strong>", page)
    assert re.search(r"Overdue</a>:\s*<strong>1</strong>", page)
    assert '<label for="filter-district">District</label>' in page
    assert "<caption>" in page and '<th scope="col">First contact due</th>' in page

    def listed(query: str) -> list[str]:
        return case_refs(client.get(f"/queue?{query}").get_data(as_text=True))

    assert listed("district=Stockton") == ["ALERT"]
    assert listed("kind=action_alert") == ["ALERT"]
    assert listed("crime_type=vehicle") == ["SOON"]
    assert listed("survey=uss&status=closed") == ["DONE"]
    assert listed("overdue=1") == ["LATE"]
    assert listed("district=Hartlepool&status=new") == ["LATE", "SOON", "LATER"]
    refused = client.get("/queue?status=lost")
    assert refused.status_code == 400
    assert "unknown status" in refused.get_data(as_text=True)


def test_working_a_referral_from_new_to_closed(app: Flask) -> None:
    officer = add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    referral_id = dissatisfied_call(app)
    client = sign_in(app, "hart@police.test")

    page = client.get(f"/queue/referrals/{referral_id}").get_data(as_text=True)
    assert "how easy it was to contact someone who could help you" in page
    assert f'<audio controls preload="none" src="/queue/referrals/{referral_id}/recording">' in page
    assert "Alex" in page and "+441134960001" in page and "CR/0001/26" in page
    for label in ("assign-user", "contact-outcome", "close-outcome", "note-text"):
        assert f'<label for="{label}">' in page
    assert page.count('name="csrf_token"') == 5  # sign out, assign, contact, close, note
    assert "not_contactable" not in page

    response = post(client, referral_id, "assign", user_id=str(officer))
    assert response.status_code == 302
    assert "is assigned to you" in client.get(response.headers["Location"]).get_data(as_text=True)
    for _ in range(3):
        post(
            client,
            referral_id,
            "contact",
            contact_outcome="no_contact",
            contact_note="rang, voicemail",
        )
    page = client.get(f"/queue/referrals/{referral_id}").get_data(as_text=True)
    assert '<option value="not_contactable"' in page
    post(client, referral_id, "contact", contact_outcome="contacted_resolved")
    post(client, referral_id, "note", note_text="apologised for the delay")
    response = post(
        client, referral_id, "close", close_outcome="contacted_resolved", close_note="happy now"
    )
    assert "is closed: contacted: resolved" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )

    page = client.get(f"/queue/referrals/{referral_id}").get_data(as_text=True)
    assert 'name="reopen_reason"' in page and 'name="contact_outcome"' not in page
    timeline = page[page.index("<h2>Timeline</h2>") : page.index("<h2>Actions</h2>")]
    for text in (
        "Raised",
        "Notified",
        "Assigned",
        "Tried, did not reach them",
        "Spoke to them: resolved",
        "apologised for the delay",
        "happy now",
        "hart@police.test",
    ):
        assert text in timeline, text
    with app.extensions["ivr"].db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        assert (referral.status, referral.outcome, referral.assigned_to_id) == (
            "closed",
            "contacted_resolved",
            officer,
        )
        assert referral.first_contact_at is not None and referral.closed_at is not None
    assert [kind for kind, _ in events(app, referral_id)] == [
        "notified",
        "assigned",
        "contact_attempt",
        "contact_attempt",
        "contact_attempt",
        "contact_attempt",
        "note",
        "closed",
    ]

    post(client, referral_id, "reopen", reopen_reason="rang back, still unhappy")
    assert events(app, referral_id)[-1] == (
        "reopened",
        {"reason": "rang back, still unhappy", "previous_outcome": "contacted_resolved"},
    )


def test_a_refused_action_keeps_the_input_and_says_why(app: Flask) -> None:
    referral_id = add_referral(app, case_ref="H1")
    add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    stockton = add_staff(app, "stock@police.test", "district_officer", "Stockton")
    client = sign_in(app, "hart@police.test")
    long_note = "word " * 401
    response = post(client, referral_id, "note", note_text=long_note)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at most 2,000 characters" in page and long_note.strip() in page
    assert 'aria-describedby="note-error"' in page
    response = post(
        client, referral_id, "close", close_outcome="not_contactable", close_note="tried everything"
    )
    assert response.status_code == 400 and "tried everything" in response.get_data(as_text=True)
    response = post(client, referral_id, "assign", user_id=str(stockton))
    assert response.status_code == 400
    assert "stock@police.test may not see referral" in response.get_data(as_text=True)
    assert events(app, referral_id) == []


def test_views_plays_and_actions_are_audited(app: Flask) -> None:
    referral_id = add_referral(app, case_ref="H1", recording=RECORDING)
    no_recording = add_referral(app, case_ref="H2")
    officer = add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    client = sign_in(app, "hart@police.test")
    client.get(f"/queue/referrals/{referral_id}")
    played = client.get(f"/queue/referrals/{referral_id}/recording")
    assert (played.status_code, played.headers["Location"]) == (302, RECORDING + ".mp3")
    assert client.get(f"/queue/referrals/{no_recording}/recording").status_code == 404
    assert "There is no recording" in client.get(f"/queue/referrals/{no_recording}").get_data(
        as_text=True
    )
    post(client, referral_id, "assign", user_id=str(officer))
    post(client, referral_id, "note", note_text="left a message")
    post(client, referral_id, "contact", contact_outcome="declined")
    post(client, referral_id, "close", close_outcome="declined")
    post(client, referral_id, "reopen", reopen_reason="changed their mind")
    on = ("referral", referral_id)
    assert audit_trail(app) == [
        ("view_referral", officer, *on),
        ("play_recording", officer, *on),
        ("view_referral", officer, "referral", no_recording),
        ("assign", officer, *on),
        ("note", officer, *on),
        ("contact_attempt", officer, *on),
        ("close", officer, *on),
        ("reopen", officer, *on),
    ]


def test_the_dashboard_shows_each_district(app: Flask) -> None:
    add_referral(app, case_ref="H1", due_in=timedelta(hours=-1))
    add_referral(app, case_ref="S1", district="Stockton")
    add_staff(app, "sup@police.test", "supervisor")
    page = sign_in(app, "sup@police.test").get("/dashboard").get_data(as_text=True)
    assert "<caption>Referrals per district" in page
    assert re.search(r"Hartlepool</a></th>\s*<td>1</td>\s*<td><a [^>]+><strong>1</strong>", page)
    assert "All districts" in page


VICTIM_DETAILS = ("Alex", "+441134960001", "CR/0001/26", "burglary")


def test_a_new_referral_is_logged_to_its_district_without_victim_details(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    told = [
        add_staff(app, "hart1@police.test", "district_officer", "Hartlepool"),
        add_staff(app, "hart2@police.test", "district_officer", "Hartlepool", "Stockton"),
    ]
    add_staff(app, "gone@police.test", "district_officer", "Hartlepool", active=False)
    add_staff(app, "stock@police.test", "district_officer", "Stockton")
    add_staff(app, "vcas@support.test", "service_manager")
    add_staff(app, "sup@police.test", "supervisor")
    with caplog.at_level(logging.INFO, logger="ivr.referrals.notifications"):
        referral_id = dissatisfied_call(app)
    lines = [r.getMessage() for r in caplog.records if r.name == "ivr.referrals.notifications"]
    assert lines == [
        f"for user #{uid} (no SMTP_HOST, so not emailed): new service_recovery "
        f"referral #{referral_id} for Hartlepool"
        for uid in told
    ]
    assert not any(detail in caplog.text for detail in VICTIM_DETAILS)
    assert events(app, referral_id) == [
        ("notified", {"reason": "new", "recipients": told, "via": "log"})
    ]


def test_service_referrals_go_to_service_managers(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    manager = add_staff(app, "vcas@support.test", "service_manager")
    add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    referral_id = add_referral(
        app, case_ref="V1", survey="vcas_exit", district="VCAS service manager"
    )
    with app.app_context(), caplog.at_level(logging.INFO, logger="ivr.referrals.notifications"):
        notifications.notify_new_referral(referral_id, "service_recovery", "VCAS service manager")
    assert events(app, referral_id)[0][1]["recipients"] == [manager]


class _SMTPSink(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept messages: each is kept as (recipients, text)."""

    def handle(self) -> None:
        reply = self.wfile.write
        reply(b"220 sink ready\r\n")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                reply(b"250 sink\r\n")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                reply(b"250 ok\r\n")
            elif verb == "DATA":
                reply(b"354 go on\r\n")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                self.server.messages.append((recipients, body.decode()))  # type: ignore[attr-defined]
                recipients = []
                reply(b"250 kept\r\n")
            elif verb == "QUIT":
                reply(b"221 bye\r\n")
                return
            else:
                reply(b"250 ok\r\n")


@pytest.fixture
def smtp_sink() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPSink)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def mailing_app(sqlite_url: str, smtp_sink: Any) -> Iterator[Flask]:
    app = create_app(
        make_settings(
            sqlite_url,
            smtp_host="127.0.0.1",
            smtp_port=smtp_sink.server_address[1],
            smtp_from="queue@police.test",
        ),
        queue=InProcessQueue(),
    )
    yield app
    app.extensions["ivr"].db.dispose()


def test_a_new_referral_is_emailed_when_smtp_is_set(mailing_app: Flask, smtp_sink: Any) -> None:
    add_staff(mailing_app, "hart@police.test", "district_officer", "Hartlepool")
    add_staff(mailing_app, "stock@police.test", "district_officer", "Stockton")
    referral_id = dissatisfied_call(mailing_app)
    [(to, text)] = smtp_sink.messages
    assert to == ["hart@police.test"]
    assert f"Subject: New service recovery referral #{referral_id} for Hartlepool" in text
    assert f"https://ivr.example.test/queue/referrals/{referral_id}" in text
    assert not any(detail in text for detail in VICTIM_DETAILS)
    assert events(mailing_app, referral_id)[0][1]["via"] == "email"


def test_overdue_referrals_are_sent_to_supervisors(mailing_app: Flask, smtp_sink: Any) -> None:
    late = add_referral(mailing_app, case_ref="LATE-REF", due_in=timedelta(hours=-3))
    add_referral(mailing_app, case_ref="ON-TIME")
    add_staff(mailing_app, "sup1@police.test", "supervisor")
    add_staff(mailing_app, "sup2@police.test", "supervisor")
    add_staff(mailing_app, "hart@police.test", "district_officer", "Hartlepool")
    with mailing_app.app_context():
        summary = notifications.notify_overdue()
    assert summary == (
        f"1 overdue referral(s): #{late} (service_recovery, Hartlepool): told 2 by email"
    )
    assert sorted(to for (to,), _ in smtp_sink.messages) == ["sup1@police.test", "sup2@police.test"]
    text = smtp_sink.messages[0][1]
    assert f"/queue/referrals/{late}" in text and "LATE-REF" not in text and "Sam" not in text
    assert [kind for kind, _ in events(mailing_app, late)] == ["notified"]


def test_overdue_referrals_are_logged_without_smtp(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    late = add_referral(app, case_ref="LATE-REF", due_in=timedelta(hours=-3))
    supervisor = add_staff(app, "sup@police.test", "supervisor")
    with app.app_context(), caplog.at_level(logging.INFO, logger="ivr.referrals.notifications"):
        notifications.notify_overdue()
    assert [r.getMessage() for r in caplog.records] == [
        f"for user #{supervisor} (no SMTP_HOST, so not emailed): 1 overdue referral(s): "
        f"#{late} (service_recovery, Hartlepool)"
    ]
    assert "LATE-REF" not in caplog.text and "Sam" not in caplog.text
    assert events(app, late) == [
        ("notified", {"reason": "overdue", "recipients": [supervisor], "via": "log"})
    ]


def test_nothing_overdue_tells_nobody(app: Flask) -> None:
    add_referral(app, case_ref="ON-TIME")
    add_staff(app, "sup@police.test", "supervisor")
    with app.app_context():
        assert notifications.notify_overdue() == "no overdue referrals"
