"""Whole calls in Welsh through the real webhooks, played by the Twilio simulator.

Each test runs on SQLite and on PostgreSQL (the ``app_any_db`` fixture).
"""

from __future__ import annotations

import csv
import io

from flask import Flask
from sqlalchemy import select

from ivr.campaigns.samples import import_sample
from ivr.results.export import export_objects
from ivr.store.models import Answer, Case, Interview, Referral
from ivr.telephony.respondents import Scripted, hang_up, press, record
from ivr.telephony.simulator import parse_twiml
from tests.conftest import SURVEY_NUMBER, add_case, simulator
from tests.functional.campaign_world import campaign_world
from tests.functional.staff_web import sign_in
from tests.functional.test_console_pages import add_staff, keys_offered, page, post, take_next_case

CALLER = "+441134960001"
#: Identity, consent, then the five core questions, three of them dissatisfied.
DISSATISFIED = ("1", "1", "6", "2", "7", "3", "5")
ENGLISH = {"voice": "Polly.Amy", "language": "en-GB"}
WELSH = {"voice": "Polly.Gwyneth", "language": "cy-GB"}


def keys(*digits: str) -> list:
    return [press(d) for d in digits]


def says(body: str) -> list[tuple[dict[str, str], str]]:
    """Each <Say> of a TwiML response: its voice and language, and its words."""
    return [(dict(el.attrib), el.text or "") for v in parse_twiml(body) for el in v.iter("Say")]


def gathers(body: str) -> list[dict[str, str]]:
    return [dict(el.attrib) for v in parse_twiml(body) for el in v.iter("Gather")]


def interview(app: Flask) -> tuple[Interview, dict[str, tuple]]:
    with app.extensions["ivr"].db.transaction() as s:
        row = s.scalars(select(Interview)).one()
        s.expunge(row)
        answers = {
            a.question_id: (a.code, a.via)
            for a in s.scalars(select(Answer).where(Answer.interview_id == row.id))
        }
        return row, answers


def test_an_english_case_switches_to_welsh_at_the_opening_and_completes(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db, district="Stockton")
    call = simulator(app_any_db).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        respondent=Scripted(press("9"), *keys(*DISSATISFIED), record(6), press("1"), press("2")),
    )
    assert call.errors == [] and call.ended_by == "app"
    # The opening is English, with the Welsh offer in a Welsh voice.
    first = says(call.responses[0])
    assert all(attrs == ENGLISH for attrs, _ in first[:-1])
    assert first[-1] == (WELSH, "I siarad Cymraeg, pwyswch 9.")
    # After 9: Welsh from the opening again, with the English offer back; keys only.
    switched = says(call.responses[1])
    assert switched[0][0] == WELSH and switched[0][1].startswith("Helo, galwad awtomatig")
    assert switched[-1] == (ENGLISH, "For English, press 9.")
    for body in call.responses[1:]:
        assert all(
            attrs == WELSH for attrs, _ in says(body)[: -1 if body is call.responses[1] else None]
        )
        assert all(g["input"] == "dtmf" and "language" not in g for g in gathers(body))
    assert "Diolch am gymryd rhan" in call.transcript[-1]
    row, answers = interview(app_any_db)
    assert row.status == "completed" and row.language == "cy-GB"
    # The same codes as in English: the switch used up no attempt at the identity check.
    assert answers == {
        "ease_of_contact": ("6", "keypad"),
        "actions_taken": ("2", "keypad"),
        "kept_informed": ("7", "keypad"),
        "treatment": ("3", "keypad"),
        "whole_experience": ("5", "keypad"),
        "dissatisfaction_reason": (None, "speech"),
        "recovery_consent": ("1", "keypad"),
        "police_contact": ("2", "keypad"),
    }
    with app_any_db.extensions["ivr"].db.transaction() as s:
        referral = s.scalars(select(Referral)).one()
        referral_reasons = list(referral.reasons or ())
        assert (referral.kind, referral.district, referral.consented) == (
            "service_recovery",
            "Stockton",
            True,
        )
    # The district's officer sees which language the victim spoke.
    add_staff(app_any_db, "officer@cleveland.example", "district_officer", "Stockton")
    officer = sign_in(app_any_db, "officer@cleveland.example")
    shown = officer.get(f"/queue/referrals/{referral.id}").get_data(as_text=True)
    assert '<dd id="interview-language">Welsh</dd>' in shown
    queue = officer.get("/queue").get_data(as_text=True)
    assert '<span class="tag language">In Welsh</span>' in queue
    (listed,) = csv.DictReader(io.StringIO(officer.get("/queue.csv").get_data(as_text=True)))
    assert listed["language"] == "Welsh"
    with app_any_db.extensions["ivr"].db.begin() as conn:
        (exported,) = export_objects(conn, "uss", start=None, end=None)
    assert exported["language"] == "cy-GB"
    # Results and referrals read one language: the label is the questionnaire's own.
    assert exported["answers"]["kept_informed"] == {
        "code": "7",
        "label": "completely dissatisfied",
        "via": "keypad",
        "substantive": True,
    }
    assert {r["code"]: r["answer"] for r in referral_reasons} == {
        "6": "very dissatisfied",
        "7": "completely dissatisfied",
        "5": "fairly dissatisfied",
    }


def test_a_case_in_welsh_hears_welsh_from_the_first_word(app_any_db: Flask) -> None:
    add_case(app_any_db, fields={"language": "cy-GB"})
    call = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys("1", "1", "1", "1", "1"))
    )
    assert call.errors == []
    first = says(call.responses[0])
    assert first[0] == (
        WELSH,
        "Helo, galwad awtomatig yw hon gan dîm boddhad dioddefwyr yr heddlu. Hoffem ofyn "
        "ychydig o gwestiynau am y gwasanaeth a gawsoch. Ai Alex sy'n siarad? Os mai chi yw "
        "Alex, pwyswch 1. Os nad yw Alex ar gael nawr, pwyswch 2. Os nad oes neb o'r enw Alex "
        "ar y rhif hwn, pwyswch 3.",
    )
    assert first[-1] == (ENGLISH, "For English, press 9.")
    # The consent names the crime and the date in Welsh.
    assert "am fyrgleriaeth ar ddydd Llun 14 Medi 2026" in says(call.responses[1])[0][1]
    row, answers = interview(app_any_db)
    assert row.language == "cy-GB" and answers["ease_of_contact"] == ("1", "keypad")


def test_a_welsh_case_may_switch_to_english(app_any_db: Flask) -> None:
    add_case(app_any_db, fields={"language": "cy-GB"})
    call = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys("9", "1", "1", "1"))
    )
    assert call.errors == []
    assert says(call.responses[1])[0][0] == ENGLISH
    assert says(call.responses[1])[-1] == (WELSH, "I siarad Cymraeg, pwyswch 9.")
    assert interview(app_any_db)[0].language == "en-GB"


def test_import_refuses_a_language_the_questionnaire_does_not_offer(app_any_db: Flask) -> None:
    svc = app_any_db.extensions["ivr"]
    q = svc.questionnaires.current("uss").questionnaire
    text = (
        "case_ref,phone,first_name,crime_type,district,reported_on,language\n"
        "CR/1,+441134960001,Alex,burglary,Hartlepool,2026-09-14,cy-gb\n"
        "CR/2,+441134960002,Sam,burglary,Hartlepool,2026-09-14,fr-FR\n"
        "CR/3,+441134960003,Jo,burglary,Hartlepool,2026-09-14,\n"
    )
    with svc.db.transaction() as session:
        report = import_sample(session, q, io.StringIO(text, newline=""))
    assert report.imported == 0
    assert [str(p) for p in report.problems] == [
        "line 3: language 'fr-FR' is not offered by this questionnaire (en-GB, cy-GB)"
    ]
    with svc.db.transaction() as session:
        report = import_sample(session, q, io.StringIO(text.replace("fr-FR", ""), newline=""))
        assert report.imported == 3
    with svc.db.transaction() as session:
        languages = {
            c.case_ref: (c.fields or {}).get("language") for c in session.scalars(select(Case))
        }
    # Stored as the questionnaire spells the tag; blank is the questionnaire's own.
    assert languages == {"CR/1": "cy-GB", "CR/2": None, "CR/3": None}


def test_an_interviewer_reads_a_welsh_case_its_welsh_script(sqlite_url: str) -> None:
    with campaign_world(sqlite_url) as world:
        world.import_csv(
            "case_ref,phone,crime_type,district,reported_on,first_name,language\n"
            "CLE/26/300001,+441134960501,burglary,Hartlepool,2026-10-05,Alex,cy-GB\n"
        )
        add_staff(world.app, "interviewer@cleveland.example", "interviewer")
        desk = sign_in(world.app, "interviewer@cleveland.example")
        interview_id = take_next_case(desk)
        html = page(desk, interview_id)
        assert "Ai Alex sy&#39;n siarad?" in html
        assert 'lang="cy-GB"' in html and "In Welsh (Cymraeg)" in html
        assert "Welsh text not yet reviewed." in html
        assert "ie, yn siarad" in html  # the answer buttons too
        # On to the first question, still in Welsh, with the same keys.
        post(desk, f"/console/interviews/{interview_id}/answer", key="1")
        post(desk, f"/console/interviews/{interview_id}/answer", key="1")
        html = page(desk, interview_id)
        assert "Gan feddwl am pan gysylltoch chi" in html
        assert keys_offered(html)[:7] == ["1", "2", "3", "4", "5", "6", "7"]
        assert "cwbl fodlon" in html


def test_a_resumed_interview_goes_on_in_welsh(app_any_db: Flask) -> None:
    add_case(app_any_db)
    first = simulator(app_any_db).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        respondent=Scripted(*keys("9", "1", "1", "6", "2"), hang_up()),
    )
    assert first.errors == []
    again = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys("1", "1", "7"), hang_up())
    )
    assert again.errors == []
    # Welsh from the first word of the second call, and on from the third question.
    assert says(again.responses[0])[0][0] == WELSH
    assert "Y tro diwethaf i ni siarad" in says(again.responses[1])[0][1]
    assert "pha mor dda y cawsoch" in " ".join(t for _, t in says(again.responses[2]))
    row, answers = interview(app_any_db)
    assert row.language == "cy-GB"
    assert answers["kept_informed"] == ("7", "keypad")
