"""The Local Public Confidence Survey from the interviewers' console: the full ONS 2021
list of ethnic groups, and an action alert that takes the kind of concern, a first name
and a better number, which the district research officer then sees."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from ivr.campaigns.public_sample import import_public_sample
from ivr.console import assisted
from ivr.console.assisted import ConsoleError
from ivr.store.models import Answer, Referral, User
from tests.functional.campaign_world import World, campaign_world
from tests.functional.staff_web import sign_in
from tests.functional.test_referral_queue import add_staff

NUMBER = "+441642200123"
#: Selection, consent, lives in the area, aged 16 or over, 35-44, female.
TO_ETHNICITY = ("1", "1", "1", "1", "3", "1")


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        yield w


def dealt(world: World) -> tuple[User, assisted.Screen]:
    q = world.app.extensions["ivr"].questionnaires.current("lpcs").questionnaire
    with world.db.transaction() as session:
        report = import_public_sample(
            session,
            q,
            io.StringIO(f"phone,area\n{NUMBER},Middlesbrough\n"),
            today=world.clock().date(),
        )
    assert not report.problems
    with world.db.transaction() as session:
        user = User(
            email="ann@police.example",
            name="ann",
            role="interviewer",
            password_hash="not used",
            active=True,
        )
        session.add(user)
    registry = world.app.extensions["ivr"].questionnaires
    case_id = assisted.next_case(world.db, registry, user, world.clock())
    assert case_id is not None
    return user, assisted.open_interview(world.db, registry, user, case_id, world.clock())


def press(world: World, user: User, interview_id: int, *keys: str, text: str | None = None):
    registry = world.app.extensions["ivr"].questionnaires
    shown = None
    for key in keys:
        shown = assisted.answer(
            world.db, registry, user, interview_id, key=key, text=text, now=world.clock()
        )
    return shown


def test_the_console_offers_the_full_list_and_keeps_the_words_under_their_group(
    world: World,
) -> None:
    user, shown = dealt(world)
    assert shown.public and shown.first_name is None
    shown = press(world, user, shown.interview_id, *TO_ETHNICITY)
    assert shown.node == "ethnicity"
    headings = {key: (heading, details) for key, heading, details in shown.details}
    assert sum(len(details) for _heading, details in headings.values()) == 19
    assert "Caribbean" in headings["4"][1] and "Gypsy or Irish Traveller" in headings["1"][1]
    with pytest.raises(ConsoleError, match="not one of the answers under"):
        press(world, user, shown.interview_id, "4", text="Indian")
    shown = press(world, user, shown.interview_id, "4", text="Caribbean")
    assert shown.node == "police_job"
    with world.db.transaction() as session:
        answer = session.scalars(select(Answer).where(Answer.question_id == "ethnicity")).one()
        assert (answer.code, answer.raw, answer.via) == ("4", "Caribbean", "interviewer")


def test_an_interviewer_raises_an_alert_with_the_concern_name_and_number(world: World) -> None:
    user, shown = dealt(world)
    registry = world.app.extensions["ivr"].questionnaires
    interview_id = shown.interview_id
    press(world, user, interview_id, *TO_ETHNICITY, "1", "2")

    def alert(**given: str | None) -> int:
        return assisted.action_alert(
            world.db,
            registry,
            user,
            interview_id,
            "Drug dealing by the park",
            world.clock(),
            **given,
        )

    with pytest.raises(ConsoleError, match="choose why"):
        alert(name="Sam")
    with pytest.raises(ConsoleError, match="first name"):
        alert(concern="significant_concern", name=" ")
    with pytest.raises(ConsoleError, match="not a valid phone number"):
        alert(concern="significant_concern", name="Sam", number="01642 12")
    referral_id = alert(concern="significant_concern", name="Sam", number="01642 496 777")

    with world.db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        assert (referral.kind, referral.district, referral.consented) == (
            "action_alert",
            "Middlesbrough",
            True,
        )
        assert referral.reasons == [
            {
                "question": "interviewer",
                "answer": "A matter of significant concern: Drug dealing by the park",
                "code": "significant_concern",
            }
        ]
    add_staff(world.app, "mbro@cleveland.example", "district_officer", "Middlesbrough")
    page = sign_in(world.app, "mbro@cleveland.example").get(f"/queue/referrals/{referral_id}")
    text = page.get_data(as_text=True)
    assert "<dd>Sam</dd>" in text and 'href="tel:+441642496777"' in text
    assert NUMBER not in text

    # The phone's own question for the name is not asked again: at the end, "yes" to
    # police contact goes on to whether the number is the best one.
    shown = press(world, user, interview_id, "1", "1", "2", "2", "2", "2", "2", "2", "1", "2")
    assert shown.node == "police_contact"
    shown = press(world, user, interview_id, "1")
    assert shown.node == "contact_number_ok"
