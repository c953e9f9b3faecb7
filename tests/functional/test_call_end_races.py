"""A final status callback read before a turn wrote (PostgreSQL, where a call's end is one
read and one guarded statement): its write changes nothing, and the callback still ends
the call, once, the transaction's way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.app import create_app
from ivr.calls import interviews
from ivr.engine import HangUp
from ivr.jobs import InProcessQueue
from ivr.store import call_ends
from ivr.store.models import CallAttempt, Interview, utcnow
from tests.conftest import PUBLIC_BASE_URL, make_settings
from tests.functional.test_turn_path import post_signed, snapshot, turn_requests, unfinished_call


@pytest.fixture
def postgres_app(empty_postgres_url: str) -> Iterator[Flask]:
    app = create_app(make_settings(empty_postgres_url), queue=InProcessQueue())
    yield app
    app.extensions["ivr"].db.dispose()


def test_a_call_end_read_before_a_turn_wrote_writes_nothing(postgres_app: Flask) -> None:
    record = unfinished_call(postgres_app)
    step, url, params, _ = turn_requests(record)[-1]
    call_sid = params["CallSid"]
    db = postgres_app.extensions["ivr"].db
    with db.reading() as conn:
        stale = call_ends.call_end(conn, call_sid, None)
    assert stale.interview is not None and stale.attempt is not None
    # A late turn of the same call wins the race: the interview moves on.
    base = url.removesuffix(f"/turns/{step}")
    turn = post_signed(postgres_app, f"{base}/turns/{step + 1}", {**params, "Digits": "2"})
    assert turn.status_code == 200
    before = snapshot(postgres_app)
    now = utcnow()
    with db.reading() as conn:
        questionnaire, hung_up = interviews.next_step(conn, stale.interview, HangUp())
        kept = interviews.kept_in_one_statement(
            stale.interview, questionnaire, hung_up, due_days=5, now=now
        )
        assert kept is not None
        ended = call_ends.end_call(
            conn,
            hang_up=call_ends.HangUp(
                stale.interview.id,
                stale.interview.step_no,
                kept.status,
                kept.state,
                kept.ended_at,
                kept.answers,
                kept.referrals,
            ),
            ending=call_ends.Ending(
                stale.attempt.id, False, "completed", "completed", 40, None, call_sid
            ),
            replan=None,
            now=now,
        )
    assert ended == (False, [], False)
    assert snapshot(postgres_app) == before

    # The callback itself ends the interview where the turn left it, and the attempt.
    callback = {"CallSid": call_sid, "CallStatus": "completed", "CallDuration": "40"}
    for _ in range(2):
        response = post_signed(postgres_app, PUBLIC_BASE_URL + "/twilio/status", callback)
        assert response.status_code == 204
    with db.transaction() as session:
        interview = session.scalars(select(Interview)).one()
        attempt = session.scalars(select(CallAttempt)).one()
        assert (interview.status, interview.step_no) == ("partial", step + 2)
        assert (attempt.status, attempt.outcome, attempt.duration_seconds) == (
            "completed",
            "completed",
            40,
        )
