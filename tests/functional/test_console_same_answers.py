"""The console keeps exactly what the phone keeps for the same answers.

Random walks through the USS questionnaire, with invalid keys among the valid ones, are
played on the console (which refuses the invalid ones) and then by the Twilio simulator
pressing the same keys (the phone re-prompts after an invalid one). Both must store the
same answers and the same referrals.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ivr.console import assisted
from ivr.console.assisted import ConsoleError
from ivr.engine import MAX_TRIES
from ivr.store.models import Answer, Interview, Referral, Schedule, User
from ivr.telephony.respondents import Action, Scripted, press, record
from tests.conftest import SURVEY_NUMBER, add_case, simulator

#: Keys no question takes. (0 is not among them: on the phone it asks for a person.)
INVALID = ("9",)
WORDS = ("Nobody called me back", "The officer was rude", "It took weeks")
_numbers = itertools.count(1)


def stored(app: Flask, case_id: int) -> tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(status, answers, referrals) of a case's one interview, as comparable tuples."""
    with app.extensions["ivr"].db.transaction() as session:
        interview = session.scalars(select(Interview).where(Interview.case_id == case_id)).one()
        answers = [
            (a.question_id, "(recorded)")
            if a.recording_url or a.question_id == "dissatisfaction_reason"
            else (a.question_id, a.code, a.label)
            for a in session.scalars(
                select(Answer).where(Answer.interview_id == interview.id).order_by(Answer.id)
            )
        ]
        referrals = [
            (r.kind, r.district, [(x["question"], x["code"], x["answer"]) for x in r.reasons])
            for r in session.scalars(
                select(Referral)
                .where(Referral.interview_id == interview.id)
                .order_by(Referral.kind)
            )
        ]
        return interview.status, answers, referrals


def test_console_and_phone_keep_the_same_answers(app: Flask) -> None:
    svc = app.extensions["ivr"]
    with svc.db.transaction() as session:
        user = User(
            email="ann@police.example",
            name="ann",
            role="interviewer",
            password_hash="not used",
            active=True,
        )
        session.add(user)

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(data=st.data(), crime=st.sampled_from(["burglary", "domestic_abuse"]))
    def walk(data: st.DataObject, crime: str) -> None:
        n = next(_numbers)
        phone_case = add_case(
            app,
            case_ref=f"P{n}",
            phone=f"+4411349{n:05d}",
            crime_type=crime,
            reported_on=date(2026, 10, 1),
        )
        console_case = add_case(
            app,
            case_ref=f"C{n}",
            phone=f"+4411359{n:05d}",
            crime_type=crime,
            reported_on=date(2026, 10, 1),
        )
        now = svc.clock()
        with svc.db.transaction() as session:
            # Dealt to the interviewer, as next case or a supervisor would.
            session.add(
                Schedule(
                    case_id=console_case.id,
                    survey="uss",
                    attempts=0,
                    outcomes=[],
                    held_by_id=user.id,
                    held_at=now,
                )
            )
        shown = assisted.open_interview(svc.db, svc.questionnaires, user, console_case.id, now)
        script: list[Action] = []
        for _ in range(60):
            if shown.kind == "ended":
                break
            wrong = 0
            while True:
                if shown.free_text:
                    said = data.draw(st.sampled_from([None, "", *WORDS]), label=shown.node)
                    if not said:
                        with _refused(app, shown):
                            assisted.answer(
                                svc.db,
                                svc.questionnaires,
                                user,
                                shown.interview_id,
                                key="1",
                                text=said,
                                now=now,
                            )
                        continue  # the phone just records: nothing to press
                    shown = assisted.answer(
                        svc.db, svc.questionnaires, user, shown.interview_id, text=said, now=now
                    )
                    script.append(record(5))
                    break
                valid = [key for key, _ in (*shown.options, *shown.not_counted)]
                # A wrong key at the safety check ends the phone call at once, where the
                # console refuses it: the two only meet on keys the check accepts.
                invalid = () if shown.node == "_safety" else INVALID
                if shown.node == "_identity":
                    # 9 there switches the phone call to Welsh: not a wrong key; 6 is.
                    invalid = ("6",)
                pool = (
                    ["1", "1", "1", *valid, *invalid]
                    if shown.kind == "control"
                    else [*valid, *invalid]
                )
                key = data.draw(st.sampled_from(pool), label=shown.node)
                if key not in valid:
                    with _refused(app, shown):
                        assisted.answer(
                            svc.db, svc.questionnaires, user, shown.interview_id, key=key, now=now
                        )
                    if wrong < MAX_TRIES - 1:  # the phone gives up on the third
                        script.append(press(key))
                        wrong += 1
                    continue
                shown = assisted.answer(
                    svc.db, svc.questionnaires, user, shown.interview_id, key=key, now=now
                )
                script.append(press(key))
                break
        assert shown.kind == "ended"
        call = simulator(app).call(
            from_=phone_case.phone, to=SURVEY_NUMBER, respondent=Scripted(*script)
        )
        assert call.errors == [] and call.ended_by == "app"
        assert stored(app, phone_case.id) == stored(app, console_case.id)
        status, _, referrals = stored(app, console_case.id)
        event(f"status {status}")
        event(f"referrals {sorted(r[0] for r in referrals)}")

    walk()


class _refused:
    """Expects a ConsoleError, with the interview and its answers left as they were."""

    def __init__(self, app: Flask, shown: assisted.Screen) -> None:
        self.app, self.shown = app, shown
        self.before: tuple[Any, ...] = ()

    def _now(self) -> tuple[Any, ...]:
        with self.app.extensions["ivr"].db.transaction() as session:
            interview = session.get(Interview, self.shown.interview_id)
            assert interview is not None
            answers = len(
                list(session.scalars(select(Answer.id).where(Answer.interview_id == interview.id)))
            )
            return interview.step_no, interview.state, answers

    def __enter__(self) -> None:
        self.before = self._now()

    def __exit__(self, kind: Any, error: Any, _tb: Any) -> bool:
        assert kind is ConsoleError, f"{self.shown.node}: expected a refusal, got {error!r}"
        assert self._now() == self.before
        return True
