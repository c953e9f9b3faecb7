"""Property: at the safety check, anything but an explicit yes ends the call safely.

For a domestic-abuse case rung by the outbound dialler (real REST requests to the fake
Twilio API, played back through the signed webhooks), any run of inputs at "Is it safe for
you to talk now?" that does not start with a clear yes - another key, the hash key,
silence, a hang-up, negated or unclear speech, a yes heard with low confidence, after any
number of requests to repeat the question - must:

- say nothing after the safety question that names the case (crime type, date, district,
  reference) or the police, a crime, a victim or a survey;
- end the interview as ``unsafe``, with the neutral goodbye unless the victim hung up;
- leave the case to interviewers only: the dialler never rings it again.

Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ivr.campaigns import dialler
from ivr.engine.script import spoken_date
from ivr.store.models import Case, Interview
from ivr.telephony.fake_api import human
from ivr.telephony.respondents import Action, HangUp, Scripted, hang_up, press, say, silence
from tests.functional.campaign_world import World, campaign_world

LONDON = ZoneInfo("Europe/London")
SAFETY_QUESTION = "Is it safe for you to talk now?"
#: The offer of Welsh, said in Welsh beside the identity question (uss.yaml).
WELSH_OFFER = "I siarad Cymraeg, pwyswch 9."
GOODBYE = "Thank you for your time. Goodbye."
DISTRICT = "Hartlepool"
#: Words that give away who is calling and why.
GIVEAWAYS = (
    "police",
    "crime",
    "victim",
    "survey",
    "incident",
    "burglary",
    "abuse",
    "offence",
    "reported",
    DISTRICT.lower(),
)
_numbers = itertools.count(1)

repeats = st.lists(
    st.sampled_from([press("*"), say("can you repeat that"), say("pardon")]), max_size=3
)
not_a_clear_yes = st.one_of(
    st.sampled_from([press(k) for k in "023456789"]),
    st.just(press("#")),
    st.just(silence()),
    st.just(hang_up()),
    st.sampled_from(
        [
            say(text)
            for text in (
                "no",
                "it is not safe",
                "it isn't safe",
                "not safe",
                "not really",
                "yes but not now",
                "yes no",
                "I can't talk",
                "hardly",
                "never",
                "maybe",
                "it's fine I suppose",
                "hang on a minute",
                "who is this",
                "not now",
            )
        ]
    ),
    st.floats(min_value=0.0, max_value=0.49).map(lambda c: say("yes", round(c, 2))),
    st.floats(min_value=0.0, max_value=0.49).map(lambda c: say("yes it is safe", round(c, 2))),
)
identity_yes = st.sampled_from([press("1"), say("speaking"), say("yes that's me")])


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        w.start()
        yield w


def into_a_window(world: World, days_on: int = 0) -> None:
    """Move the clock into calling hours: now if a window is open, else the next one;
    ``days_on`` days later, at noon or the next window after it."""
    windows = world.campaign().policy.windows
    if not days_on:
        world.clock.set(windows.next_open(world.clock()))
        return
    day = world.clock().astimezone(LONDON).date() + timedelta(days=days_on)
    noon = datetime.combine(day, time(12), tzinfo=LONDON).astimezone(UTC)
    world.clock.set(windows.next_open(noon))


def test_anything_but_a_clear_yes_at_the_safety_check_ends_the_call_safely(
    world: World,
) -> None:
    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        identity=identity_yes,
        asked_again=repeats,
        answer=not_a_clear_yes,
        flagged_in_sample=st.booleans(),
    )
    def call(
        identity: Action, asked_again: list[Action], answer: Action, flagged_in_sample: bool
    ) -> None:
        n = next(_numbers)
        phone, case_ref = f"+4411349{n:05d}", f"DA/{n:04d}/26"
        into_a_window(world)
        reported = world.clock().astimezone(LONDON).date() - timedelta(weeks=7)
        crime, flag = ("burglary", "yes") if flagged_in_sample else ("domestic_abuse", "")
        world.import_csv(
            "case_ref,phone,crime_type,district,reported_on,first_name,domestic_abuse\n"
            f"{case_ref},{phone},{crime},{DISTRICT},{reported.isoformat()},Alex,{flag}\n"
        )
        at_safety = [*asked_again, answer]
        # Were the call to go on, these keys would pass convenience and consent and
        # answer questions: they must never be asked for.
        respondent = Scripted(identity, *at_safety, *[press("1")] * 6)
        world.fates[phone].append(human(respondent))

        try:
            report = world.tick()
            assert len(report.queued) == 1
            (played,) = world.play()
            record = played.record
            assert record is not None and record.errors == []

            # Asked who they are, then the safety question (again on each repeat); no more.
            assert len(respondent.heard) == 1 + len(at_safety)
            transcript = record.transcript
            first_safety = next(i for i, said in enumerate(transcript) if SAFETY_QUESTION in said)
            # Only the offer of Welsh (said in Welsh with the identity question) between.
            assert transcript[1:first_safety] == [WELSH_OFFER]
            after = " ".join(transcript[first_safety:]).lower()
            before = " ".join(transcript[:first_safety]).lower()
            details = (
                *GIVEAWAYS,
                case_ref.lower(),
                spoken_date(reported).lower(),
                f"{reported:%B}".lower(),
                reported.isoformat(),
            )
            for detail in details:
                assert detail not in after, (detail, transcript)
                assert detail not in before, (detail, transcript)
            if isinstance(answer, HangUp):
                assert record.ended_by == "respondent"
            else:
                assert record.ended_by == "app" and transcript[-1] == GOODBYE

            with world.db.transaction() as session:
                interview = session.scalars(
                    select(Interview)
                    .join(Case, Case.id == Interview.case_id)
                    .where(Case.phone == phone)
                ).one()
                assert interview.status == "unsafe"
                assert "_safety" not in interview.state.get("passed", [])
            schedule = world.schedule(phone)
            assert schedule.interviewer_only_since is not None
            assert schedule.disposition is None and schedule.outcomes == ["unsafe"]

            # Days later, in calling hours, the dialler still never rings the case.
            for days_on in (1, 2, 5):
                into_a_window(world, days_on)
                later = world.tick()
                assert later.window_open and later.queued == []
                assert world.play() == []
            assert len(world.calls_to(phone)) == 1
            assert len(world.attempts(phone)) == 1
        finally:
            # Whatever happened, this case must not ring in a later example.
            world.play()
            with world.db.engine.begin() as conn:
                dialler.opt_out(
                    conn, phone, reason="example over", source="test", now=world.clock()
                )
        event(f"answer {type(answer).__name__}")
        event(f"repeats {len(asked_again)}")

    call()
