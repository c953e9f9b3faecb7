"""Twilio webhooks: signature-checked, CSRF-exempt, idempotent per turn."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr import interviews
from ivr.app import services
from ivr.engine import Digits, HangUp, InputEvent, Recording, Silence, Speech, Status
from ivr.phones import caller_e164
from ivr.store import interviews as store
from ivr.store.models import CallAttempt, Case, Interview, Referral
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


def _turn_url(interview: Interview, step_no: int) -> str:
    path = url_for("twilio.turn", public_id=interview.public_id, step_no=step_no)
    return services().settings.public_base_url + path


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
            with svc.db.transaction() as session:
                existing = store.interview_by_call_sid(session, call_sid, lock=False)
                if existing is not None:
                    return _twiml(store.stored_turn(session, existing.id, 0) or farewell_twiml(None))
                case, attempt = _case_for_call(session, form, request.args.get("attempt"))
                if case is None:
                    return _twiml(farewell_twiml(NEUTRAL_MESSAGE))
                channel = "phone_outbound" if attempt is not None else "phone_inbound"
                interview, outcome = interviews.begin(session, svc.questionnaires, case,
                                                      channel=channel, call_sid=call_sid)
                body = step_twiml(outcome.step, _turn_url(interview, 1))
                session.add(store.Turn(interview_id=interview.id, step_no=0, response=body))
                if attempt is None:
                    attempt = CallAttempt(case_id=case.id, direction="inbound",
                                          call_sid=call_sid, status="in-progress")
                    session.add(attempt)
                attempt.interview_id = interview.id
                attempt.call_sid = call_sid
                attempt.status = "in-progress"
            return _twiml(body)
        except IntegrityError:
            # A duplicate of this request won the race; the loop replays its turn.
            continue
    abort(409)


def _case_for_call(session: Session, form: Any, attempt_id: str | None
                   ) -> tuple[Case | None, CallAttempt | None]:
    surveys = services().questionnaires.surveys()
    if attempt_id:
        attempt = store.attempt_by_public_id(session, attempt_id)
        if attempt is None or attempt.case_id is None:
            return None, None
        case = session.get(Case, attempt.case_id)
        return (case, attempt) if case and case.survey in surveys else (None, None)
    if form.get("Direction", "inbound") != "inbound":
        return None, None
    phone = caller_e164(form.get("From"))
    if phone is None:
        return None, None
    return store.open_case_for_phone(session, phone, surveys), None


def _note_machine(call_sid: str, attempt_id: str | None, answered_by: str) -> None:
    with services().db.transaction() as session:
        attempt = store.attempt_by_public_id(session, attempt_id) if attempt_id else None
        if attempt is not None:
            attempt.call_sid = attempt.call_sid or call_sid
            attempt.answered_by = answered_by
            attempt.status = "machine"


@bp.post("/interviews/<public_id>/turns/<int:step_no>")
@signed
def turn(public_id: str, step_no: int) -> Response:
    """One turn of an interview: the answer to the prompt of turn ``step_no - 1``."""
    svc = services()
    referrals: list[Referral] = []
    for _ in range(2):
        try:
            with svc.db.transaction() as session:
                interview = store.interview_by_public_id(session, public_id, lock=True)
                if interview is None or step_no < 1:
                    abort(404)
                if step_no <= interview.step_no:
                    replay = store.stored_turn(session, interview.id, step_no)
                    if replay is None:
                        abort(404)
                    return _twiml(replay)
                if step_no != interview.step_no + 1:
                    abort(404)
                if interview.status != Status.IN_PROGRESS.value:
                    return _twiml(farewell_twiml(None))
                outcome = interviews.advance(session, interview, input_event(request.form))
                body = step_twiml(outcome.step, _turn_url(interview, step_no + 1))
                session.add(store.Turn(interview_id=interview.id, step_no=step_no, response=body))
                referrals = outcome.referrals
            _announce(referrals)
            return _twiml(body)
        except IntegrityError:
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
    svc = services()
    form = request.form
    call_sid = form.get("CallSid", "")
    call_status = form.get("CallStatus", "")
    referrals: list[Referral] = []
    with svc.db.transaction() as session:
        for attempt in store.attempts_by_call_sid(session, call_sid):
            if attempt.status not in FINAL_CALL_STATUSES:
                attempt.status = call_status or attempt.status
            if form.get("CallDuration", "").isdigit():
                attempt.duration_seconds = int(form["CallDuration"])
            attempt.answered_by = form.get("AnsweredBy") or attempt.answered_by
        if call_status in FINAL_CALL_STATUSES:
            interview = store.interview_by_call_sid(session, call_sid, lock=True)
            if interview is not None and interview.status == Status.IN_PROGRESS.value:
                referrals = interviews.advance(session, interview, HangUp()).referrals
    _announce(referrals)
    return "", 204


def _announce(referrals: list[Referral]) -> None:
    """Queue notifications once the turn that created the referrals has committed."""
    queue = services().queue
    for referral in referrals:
        queue.enqueue("workers.notifications.notify_new_referral", referral.id, referral.kind,
                      referral.district)
