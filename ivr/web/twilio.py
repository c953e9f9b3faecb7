"""Twilio webhooks: signature-checked, CSRF-exempt, idempotent per turn."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, request
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from ivr import interviews
from ivr.app import services
from ivr.engine import Digits, HangUp, InputEvent, Recording, Silence, Speech, Status
from ivr.phones import caller_e164
from ivr.store import interviews as store
from ivr.store import turns
from ivr.store.models import utcnow
from ivr.store.turns import NewReferral
from ivr.telephony.signature import public_url
from ivr.telephony.twiml import farewell_twiml, step_twiml

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

#: Said to callers we cannot match: no case detail, nothing to answer.
NEUTRAL_MESSAGE = (
    "Thank you for calling. We are not able to take your call on this number. Goodbye."
)
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
TWIML = "text/xml; charset=utf-8"


def signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403, no side effect) any request without a valid X-Twilio-Signature."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        svc = services()
        url = public_url(svc.settings.public_base_url, request.path,
                         request.query_string.decode("latin-1"))
        if not svc.signatures.valid(url, request.form, request.headers.get("X-Twilio-Signature")):
            log.warning("refused unsigned or forged request to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml", content_type=TWIML)


def _turn_url(interview_public_id: str, step_no: int) -> str:
    # Formatted rather than built with url_for, which costs several times more; a public
    # id is hex, so nothing in the path needs quoting.
    return (f"{services().settings.public_base_url}{bp.url_prefix}/interviews/"
            f"{interview_public_id}/turns/{step_no}")


@bp.post("/voice")
@signed
def voice() -> Response:
    """Start of every call: inbound to the survey number, or an outbound call answered."""
    svc = services()
    form = request.form
    call_sid = form.get("CallSid", "")
    if not call_sid:
        abort(400, "CallSid is required")
    answered_by = form.get("AnsweredBy", "")
    if answered_by.startswith("machine") or answered_by == "fax":
        _note_machine(call_sid, request.args.get("attempt"), answered_by)
        return _twiml(farewell_twiml(None))
    for _ in range(2):
        try:
            with svc.db.reading() as conn:
                # A retried first webhook gets its first answer again, read without a lock.
                found, opening = turns.opening_by_call_sid(conn, call_sid)
                if found:
                    return _twiml(opening or farewell_twiml(None))
                with svc.db.writing(conn):
                    body = _start_call(conn, form, call_sid, request.args.get("attempt"))
            return _twiml(body)
        except IntegrityError:
            # A duplicate of this request won the race; the loop replays its turn.
            continue
    abort(409)


def _start_call(conn: Connection, form: MultiDict[str, str], call_sid: str,
                attempt_public_id: str | None) -> str:
    """Start the interview a call is for, if any, and return the call's first TwiML."""
    svc = services()
    case, attempt_id = _case_for_call(conn, form, attempt_public_id)
    if case is None:
        return farewell_twiml(NEUTRAL_MESSAGE)
    channel = "phone_outbound" if attempt_id is not None else "phone_inbound"
    started = interviews.begin(conn, svc.questionnaires, case, channel=channel,
                               call_sid=call_sid)
    body = step_twiml(started.outcome.step, _turn_url(started.public_id, 1))
    now = utcnow()
    turns.add_turn(conn, started.id, 0, body, now)
    if attempt_id is None:
        store.add_inbound_attempt(conn, case_id=case.id, call_sid=call_sid,
                                  interview_id=started.id, now=now)
    else:
        store.start_attempt(conn, attempt_id, call_sid=call_sid, interview_id=started.id,
                            now=now)
    return body


def _case_for_call(conn: Connection, form: MultiDict[str, str], attempt_public_id: str | None
                   ) -> tuple[store.CaseFacts | None, int | None]:
    """The case a call is about and the outbound attempt it answers (None when inbound)."""
    surveys = services().questionnaires.surveys()
    if attempt_public_id:
        attempt = store.attempt_for_call(conn, attempt_public_id)
        if attempt is None or attempt.case_id is None:
            return None, None
        case = store.case_by_id(conn, attempt.case_id)
        return (case, attempt.id) if case and case.survey in surveys else (None, None)
    if form.get("Direction", "inbound") != "inbound":
        return None, None
    phone = caller_e164(form.get("From"))
    if phone is None:
        return None, None
    return store.open_case_for_phone(conn, phone, surveys), None


def _note_machine(call_sid: str, attempt_id: str | None, answered_by: str) -> None:
    with services().db.transaction() as session:
        attempt = store.attempt_by_public_id(session, attempt_id) if attempt_id else None
        if attempt is not None:
            attempt.call_sid = attempt.call_sid or call_sid
            attempt.answered_by = answered_by
            attempt.status = "machine"


class _Overtaken(Exception):
    """Another copy of this turn moved the interview on first."""


@bp.post("/interviews/<public_id>/turns/<int:step_no>")
@signed
def turn(public_id: str, step_no: int) -> Response:
    """One turn of an interview: the answer to the prompt of turn ``step_no - 1``.

    The interview is read without a lock and the engine runs outside any transaction; the
    write is conditional on the interview still being where it was read, so a duplicate of
    the turn that lost the race writes nothing and replays the winner's TwiML.
    """
    if step_no < 1:
        abort(404)
    db = services().db
    event = input_event(request.form)
    for _ in range(3):
        try:
            with db.reading() as conn:
                found = turns.interview_for_turn(conn, public_id, step_no)
                if found is None:
                    abort(404)
                interview, sent = found
                if sent is not None:
                    # Twilio's retries of a turn get the very bytes it was sent.
                    return _twiml(sent)
                if step_no != interview.step_no + 1:
                    abort(404)
                if interview.status != Status.IN_PROGRESS.value:
                    return _twiml(farewell_twiml(None))
                questionnaire, step = interviews.next_step(conn, interview, event)
                body = step_twiml(step, _turn_url(public_id, step_no + 1))
                with db.writing(conn):
                    outcome = interviews.keep_step(conn, interview, questionnaire, step)
                    if outcome is None:
                        raise _Overtaken
                    turns.add_turn(conn, interview.id, step_no, body, utcnow())
            _announce(outcome.referrals)
            return _twiml(body)
        except (IntegrityError, _Overtaken):
            # The other copy committed first; the next pass replays what it sent.
            continue
    abort(409)


def input_event(form: Any) -> InputEvent:
    """What the caller did, from Twilio's Gather or Record parameters."""
    if form.get("RecordingUrl"):
        try:
            seconds = int(form.get("RecordingDuration") or 0)
        except ValueError:
            seconds = 0
        return Recording(form["RecordingUrl"], seconds)
    digits = (form.get("Digits") or "").replace("#", "")
    if digits and digits != "hangup":
        return Digits(digits)
    speech = (form.get("SpeechResult") or "").strip()
    if speech:
        try:
            confidence = float(form.get("Confidence") or 0.0)
        except ValueError:
            confidence = 0.0
        return Speech(speech, confidence)
    return Silence()


@bp.post("/status")
@signed
def status() -> tuple[str, int]:
    """Call status callbacks: keep the attempt's outcome; a dropped call ends its interview."""
    form = request.form
    call_sid = form.get("CallSid", "")
    call_status = form.get("CallStatus", "")
    duration = form.get("CallDuration", "")
    referrals: list[NewReferral] = []
    with services().db.engine.begin() as conn:
        now = utcnow()
        for attempt in turns.attempts_by_call_sid(conn, call_sid):
            changed = attempt._replace(
                status=attempt.status if attempt.status in FINAL_CALL_STATUSES
                else call_status or attempt.status,
                duration_seconds=int(duration) if duration.isdigit()
                else attempt.duration_seconds,
                answered_by=form.get("AnsweredBy") or attempt.answered_by,
            )
            # An attempt this callback does not change keeps its updated_at.
            if changed != attempt:
                turns.save_attempt(conn, changed, now)
        if call_status in FINAL_CALL_STATUSES:
            interview = turns.lock_interview_by_call_sid(conn, call_sid)
            if interview is not None and interview.status == Status.IN_PROGRESS.value:
                outcome = interviews.advance(conn, interview, HangUp())
                # The interview is locked, so no other request can have moved it on.
                referrals = outcome.referrals if outcome is not None else []
    _announce(referrals)
    return "", 204


def _announce(referrals: list[NewReferral]) -> None:
    """Queue notifications once the turn that created the referrals has committed."""
    queue = services().queue
    for referral in referrals:
        queue.enqueue("workers.notifications.notify_new_referral", referral.id, referral.kind,
                      referral.district)
