"""The turn webhook's edge cases, which must change nothing: replays, ended interviews, and
step numbers out of sequence. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.calls import interviews
from ivr.engine import Digits
from ivr.store import turns as turn_store
from ivr.store.models import Base, Interview, Turn
from ivr.telephony.respondents import Scripted, hang_up, press
from ivr.telephony.simulator import CallRecord, parse_twiml
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER, add_case, simulator

CALLER = "+441134960001"
SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")
TURN_URL = re.compile(r"/twilio/interviews/(?P<public_id>[0-9a-f]+)/turns/(?P<step>\d+)$")


def snapshot(app: Flask) -> dict[str, Any]:
    """Row counts and every row of every table, to prove a request wrote nothing."""
    with app.extensions["ivr"].db.engine.connect() as conn:
        rows = {
            table.name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }
    return {"counts": {name: len(table_rows) for name, table_rows in rows.items()}, "rows": rows}


def post_signed(app: Flask, url: str, params: dict[str, str]) -> TestResponse:
    """POST a webhook signed as Twilio signs it, through the app's test client."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return app.test_client().post(
        url.removeprefix(PUBLIC_BASE_URL), data=params, headers={"X-Twilio-Signature": signature}
    )


def turn_requests(record: CallRecord) -> list[tuple[int, str, dict[str, str], str]]:
    """(step number, URL, parameters, response) of each turn webhook the call made."""
    turns = []
    for (url, params), body in zip(record.requests, record.responses, strict=False):
        match = TURN_URL.search(url)
        if match:
            turns.append((int(match["step"]), url, params, body))
    return turns


def stored_turn(app: Flask, step_no: int) -> str:
    with app.extensions["ivr"].db.transaction() as s:
        return s.scalar(select(Turn.response).where(Turn.step_no == step_no))


def unfinished_call(app: Flask) -> CallRecord:
    """A call that answers three prompts, then goes silent with its interview in progress."""
    add_case(app)
    # The status callback goes nowhere, so the hang-up leaves the interview in progress.
    return simulator(app).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        status_callback=PUBLIC_BASE_URL + "/void",
        respondent=Scripted(press("1"), press("1"), press("2"), then=hang_up()),
    )


def test_a_replayed_turn_gets_the_same_bytes_and_writes_nothing(app_any_db: Flask) -> None:
    record = unfinished_call(app_any_db)
    turns = turn_requests(record)
    assert [step for step, *_ in turns] == [1, 2, 3]
    before = snapshot(app_any_db)
    for step, url, params, body in turns:
        response = post_signed(app_any_db, url, params)
        assert response.status_code == 200
        assert response.content_type == "text/xml; charset=utf-8"
        assert response.data == body.encode("utf-8") == stored_turn(app_any_db, step).encode()
    # A retry whose form differs (another key pressed) still gets what was sent first.
    step, url, params, body = turns[-1]
    assert post_signed(app_any_db, url, {**params, "Digits": "7"}).data == body.encode()
    assert snapshot(app_any_db) == before


def test_a_completed_interview_replays_its_turns_and_hangs_up_on_new_ones(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db)
    record = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*(press(k) for k in SATISFIED))
    )
    assert record.ended_by == "app"
    turns = turn_requests(record)
    last_step, url, params, body = turns[-1]
    before = snapshot(app_any_db)
    assert post_signed(app_any_db, url, params).data == body.encode()
    next_url = url.removesuffix(f"/turns/{last_step}") + f"/turns/{last_step + 1}"
    response = post_signed(app_any_db, next_url, {**params, "Digits": "1"})
    assert response.status_code == 200
    assert [el.tag for el in parse_twiml(response.get_data(as_text=True))] == ["Hangup"]
    assert snapshot(app_any_db) == before


def test_a_turn_after_the_caller_hung_up_gets_a_hang_up(app_any_db: Flask) -> None:
    add_case(app_any_db)
    record = simulator(app_any_db).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        respondent=Scripted(press("1"), press("1"), press("2"), hang_up()),
    )
    step, url, params, _ = turn_requests(record)[-1]
    with app_any_db.extensions["ivr"].db.transaction() as s:
        assert s.scalar(select(Interview.status)) == "partial"
    before = snapshot(app_any_db)
    # The status callback advanced the interview without a turn of its own: the step after
    # the last turn is the hang-up, and the one after that is the next a caller could send.
    for next_step, expected in ((step + 1, 404), (step + 2, 200)):
        next_url = url.removesuffix(f"/turns/{step}") + f"/turns/{next_step}"
        response = post_signed(app_any_db, next_url, {**params, "Digits": "3"})
        assert response.status_code == expected
    assert [el.tag for el in parse_twiml(response.get_data(as_text=True))] == ["Hangup"]
    assert snapshot(app_any_db) == before


def test_turns_out_of_sequence_are_not_found_and_write_nothing(app_any_db: Flask) -> None:
    record = unfinished_call(app_any_db)
    step, url, params, _ = turn_requests(record)[-1]
    base = url.removesuffix(f"/turns/{step}")
    other = TURN_URL.sub(f"/twilio/interviews/{'0' * 32}/turns/{step + 1}", url)
    before = snapshot(app_any_db)
    for target in (
        f"{base}/turns/{step + 2}",
        f"{base}/turns/{step + 10}",
        f"{base}/turns/0",
        other,
    ):
        assert post_signed(app_any_db, target, {**params, "Digits": "1"}).status_code == 404
    assert snapshot(app_any_db) == before
    # The interview is still where it was: the next turn in sequence goes ahead.
    response = post_signed(app_any_db, f"{base}/turns/{step + 1}", {**params, "Digits": "2"})
    assert response.status_code == 200 and "<Gather" in response.get_data(as_text=True)
    assert snapshot(app_any_db)["counts"]["turns"] == before["counts"]["turns"] + 1


def test_a_turn_that_read_the_interview_before_another_copy_wrote_stores_nothing(
    app_any_db: Flask,
) -> None:
    """The loser of a race between two copies of a turn: its read is stale by the time it
    writes, and the step-number guard makes its whole write a no-op."""
    record = unfinished_call(app_any_db)
    step, url, params, _ = turn_requests(record)[-1]
    public_id = TURN_URL.search(url)["public_id"]  # type: ignore[index]
    db = app_any_db.extensions["ivr"].db
    with db.reading() as conn:
        found = turn_store.interview_for_turn(conn, public_id, step + 1)
    assert found is not None and found[1] is None
    stale, _ = found
    # The winner: the same turn, processed in full.
    base = url.removesuffix(f"/turns/{step}")
    winner = post_signed(app_any_db, f"{base}/turns/{step + 1}", {**params, "Digits": "2"})
    assert winner.status_code == 200
    before = snapshot(app_any_db)
    with db.reading() as conn:
        questionnaire, next_step = interviews.next_step(conn, stale, Digits("5"))
        with db.writing(conn):
            assert interviews.keep_step(conn, stale, questionnaire, next_step) is None
    assert snapshot(app_any_db) == before
    # And the webhook itself answers the late copy with the winner's TwiML.
    late = post_signed(app_any_db, f"{base}/turns/{step + 1}", {**params, "Digits": "5"})
    assert late.data == winner.data
    assert snapshot(app_any_db) == before
