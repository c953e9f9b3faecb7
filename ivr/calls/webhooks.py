"""Twilio webhooks: signature-checked, CSRF-exempt, idempotent per turn."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple

from flask import Blueprint, Response, abort, request
from sqlalchemy import Connection
from sqlalchemy.exc import (
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.calls import call_ends, handover, interviews
from ivr.calls import parameters as p
from ivr.calls.parameters import BadParameter
from ivr.campaigns import dialler
from ivr.engine import Digits, HangUp, InputEvent, Recording, Silence, Speech, Status, Step
from ivr.engine.script import known_sensitive
from ivr.questionnaire.schema import Questionnaire
from ivr.referrals import notifications
from ivr.services import current_services
from ivr.store import call_ends as call_end_store
from ivr.store import call_starts, turns
from ivr.store import campaigns as campaign_store
from ivr.store import interviews as store
from ivr.store.statuses import FINAL_CALL
from ivr.store.turns import InterviewRow, NewReferral
from ivr.telephony.media import media_hosts
from ivr.telephony.numbers import caller_e164
from ivr.telephony.twiml import (
    OPT_OUT_KEY,
    OPTED_OUT_MESSAGE,
    farewell_twiml,
    information_twiml,
    step_twiml,
)
from ivr.web.signed import signed, twiml_response

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

#: Said to callers we cannot match: no case detail, nothing to answer.
NEUTRAL_MESSAGE = (
    "Thank you for calling. We are not able to take your call on this number. Goodbye."
)
#: Said when the database cannot be reached: nothing about the caller or the survey.
UNAVAILABLE_MESSAGE = "Sorry, we cannot continue this call just now. Goodbye."
#: What a database that cannot be reached (down, refusing, or its pool used up) raises.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
#: Webhooks whose answer Twilio does not play: they say 503 when the database is away.
_SILENT_ENDPOINTS = frozenset({"twilio.status", "twilio.transcription"})


@bp.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> tuple[str, int]:
    log.info("refused a malformed webhook parameter to %s: %s", request.endpoint, error)
    return str(error), 400


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
@bp.errorhandler(DisconnectionError)
@bp.errorhandler(PoolTimeout)
def _database_unavailable(error: Exception) -> Response | tuple[str, int]:
    """The caller hears a short apology and the call ends, instead of Twilio's "application
    error"; callbacks nobody hears say 503. The log names only the kind of failure, since a
    database error's text can hold the values of the statement."""
    log.error("database unavailable to %s: %s", request.endpoint, type(error).__name__)
    if request.endpoint in _SILENT_ENDPOINTS:
        return "", 503
    return twiml_response(farewell_twiml(UNAVAILABLE_MESSAGE))


def _form() -> dict[str, str]:
    """The request's parameters, each with its one value (see :func:`p.single_values`)."""
    return p.single_values(request.form)


def _attempt_id() -> str | None:
    """The outbound attempt in the webhook's URL, if any; 400 if it is not one of ours."""
    value = request.args.get("attempt") or None
    if value is not None and not p.public_id(value):
        raise BadParameter("attempt is not an attempt id")
    return value


def _turn_url(interview_public_id: str, step_no: int) -> str:
    # Formatted rather than built with url_for, which costs several times more; a public
    # id is hex, so nothing in the path needs quoting.
    return (
        f"{current_services().settings.public_base_url}{bp.url_prefix}/interviews/"
        f"{interview_public_id}/turns/{step_no}"
    )


def _dial_action_url(interview_public_id: str, step_no: int) -> str:
    """Where Twilio reports how the put-through to a person sent at turn ``step_no - 1`` went."""
    return (
        f"{current_services().settings.public_base_url}{bp.url_prefix}/interviews/"
        f"{interview_public_id}/handovers/{step_no}"
    )


def _transcribe_url(interview_public_id: str, step: Step) -> str | None:
    """Where Twilio posts the transcription of the answer a step records, with
    ``TRANSCRIBE=true``; None otherwise."""
    settings = current_services().settings
    if not settings.transcribe or step.wait is None or step.wait.kind != "recording":
        return None
    return (
        f"{settings.public_base_url}{bp.url_prefix}/interviews/{interview_public_id}"
        f"/transcriptions/{step.node}"
    )


@bp.post("/voice")
@signed
def voice() -> Response:
    """Start of every call: inbound to the survey number, or an outbound call answered."""
    svc = current_services()
    form = _form()
    call_sid = p.sid(form, "CallSid")
    if not call_sid:
        abort(400, "CallSid is required")
    attempt_public_id = _attempt_id()
    p.enumerated(form, "CallStatus", p.CALL_STATUSES)
    answered_by = p.enumerated(form, "AnsweredBy", p.ANSWERED_BY)
    if answered_by.startswith("machine") or answered_by == "fax":
        _note_machine(call_sid, attempt_public_id, answered_by)
        return twiml_response(farewell_twiml(None))
    phone = _inbound_phone(form, attempt_public_id)
    surveys = svc.questionnaires.surveys()
    for _ in range(2):
        try:
            with svc.db.reading() as conn:
                # A retried first webhook gets its first answer again, read without a lock;
                # on PostgreSQL the same statement reads what starting the call needs.
                facts = call_starts.call_facts(
                    conn,
                    call_sid,
                    phone=phone,
                    attempt_public_id=attempt_public_id,
                    surveys=surveys,
                    opening_only=True,
                )
                if facts.opened:
                    return twiml_response(facts.opening or farewell_twiml(None))
                body = _start_in_one_statement(conn, facts, call_sid, attempt_public_id)
                if body is None:
                    with svc.db.writing(conn):
                        # Read again under the write lock (SQLite's BEGIN IMMEDIATE).
                        facts = call_starts.call_facts(
                            conn,
                            call_sid,
                            phone=phone,
                            attempt_public_id=attempt_public_id,
                            surveys=surveys,
                        )
                        if facts.opened:
                            raise interviews.Overtaken
                        body = _start_call(conn, facts, call_sid, attempt_public_id)
            return twiml_response(body)
        except (IntegrityError, interviews.Overtaken):
            # A duplicate of this request won the race; the loop replays its turn.
            continue
    abort(409)


def _start_in_one_statement(
    conn: Connection, facts: call_starts.CallFacts, call_sid: str, attempt_public_id: str | None
) -> str | None:
    """Start or carry on the interview a call is for, if any, writing it all in one
    statement outside any transaction, and return its first TwiML; None where that cannot
    be done (SQLite, or a first step that records something): :func:`_start_call` does it
    in a transaction instead."""
    if not call_starts.in_one_statement(conn):
        return None
    svc = current_services()
    case, attempt_id, sensitive = _case_for_call(facts, attempt_public_id)
    if case is None:
        return _cannot_go_on(attempt_public_id, sensitive)
    now = svc.clock()
    plan = interviews.plan_for_call(
        conn,
        svc.questionnaires,
        case,
        facts.interview,
        channel="phone_outbound" if attempt_id is not None else "phone_inbound",
        call_sid=call_sid,
        now=now,
    )
    if plan is None:
        return farewell_twiml(NEUTRAL_MESSAGE)  # interviewed already
    if plan.records:
        return None
    body = step_twiml(
        plan.step,
        _turn_url(plan.public_id, plan.opening_step_no + 1),
        transcribe_url=_transcribe_url(plan.public_id, plan.step),
    )
    if (
        call_starts.start_in_one_statement(
            conn,
            case_id=case.id,
            call_sid=call_sid,
            response=body,
            now=now,
            new=plan.new,
            carried=plan.carried,
            carried_values=plan.carried_values,
            attempt_id=attempt_id,
        )
        is None
    ):
        raise interviews.Overtaken
    return body


def _cannot_go_on(attempt_public_id: str | None, sensitive: bool) -> str:
    """What a call with no case to go on with hears."""
    if attempt_public_id:
        # We rang, and cannot go on (no such attempt, or its survey is not loaded): say
        # who called and how to stop further calls, as Ofcom expects; for a sensitive
        # case, without naming who we are.
        return information_twiml(
            current_services().settings,
            f"{bp.url_prefix}/opt-out?attempt={attempt_public_id}",
            neutral=sensitive,
        )
    return farewell_twiml(NEUTRAL_MESSAGE)


def _start_call(
    conn: Connection, facts: call_starts.CallFacts, call_sid: str, attempt_public_id: str | None
) -> str:
    """Start or carry on the interview a call is for, if any, and return its first TwiML."""
    svc = current_services()
    case, attempt_id, sensitive = _case_for_call(facts, attempt_public_id)
    if case is None:
        return _cannot_go_on(attempt_public_id, sensitive)
    channel = "phone_outbound" if attempt_id is not None else "phone_inbound"
    now = svc.clock()
    started = interviews.open_for_call(
        conn,
        svc.questionnaires,
        case,
        channel=channel,
        call_sid=call_sid,
        due_days=svc.settings.referral_due_working_days,
        now=now,
    )
    if started is None:
        return farewell_twiml(NEUTRAL_MESSAGE)  # interviewed already
    opening = started.opening_step_no
    body = step_twiml(
        started.outcome.step,
        _turn_url(started.public_id, opening + 1),
        transcribe_url=_transcribe_url(started.public_id, started.outcome.step),
    )
    turns.add_turn(conn, started.id, opening, body, now)
    if attempt_id is None:
        store.add_inbound_attempt(
            conn, case_id=case.id, call_sid=call_sid, interview_id=started.id, now=now
        )
        # The victim rang us: calls queued for them are not needed now.
        dialler.cancel_pending_for_inbound(conn, case.id, now)
    else:
        store.start_attempt(conn, attempt_id, call_sid=call_sid, interview_id=started.id, now=now)
    return body


def _inbound_phone(form: dict[str, str], attempt_public_id: str | None) -> str | None:
    """The number an inbound call comes from, if we can tell (not withheld or unknown)."""
    if attempt_public_id or form.get("Direction", "inbound") != "inbound":
        return None
    return caller_e164(p.text(form, "From", p.DIGITS_LIMIT))


def _case_for_call(
    facts: call_starts.CallFacts, attempt_public_id: str | None
) -> tuple[store.CaseFacts | None, int | None, bool]:
    """The case a call is about and the outbound attempt it answers (None when inbound);
    and, when no case can go on, whether the number rung is a sensitive case's."""
    case = facts.case
    if case is None:
        return None, None, False
    if attempt_public_id and case.survey not in current_services().questionnaires.surveys():
        return None, None, known_sensitive(case.field_values())
    return case, facts.attempt_id, False


@bp.post("/opt-out")
@signed
def opt_out() -> Response:
    """The information message's key: 9 puts the number on the do-not-call list."""
    svc = current_services()
    attempt_public_id = _attempt_id()
    if p.text(_form(), "Digits", p.DIGITS_LIMIT).strip() != OPT_OUT_KEY:
        return twiml_response(farewell_twiml("Goodbye."))
    if attempt_public_id is None:
        return twiml_response(farewell_twiml("Goodbye."))
    with svc.db.begin() as conn:
        attempt = campaign_store.outbound_attempt(conn, attempt_public_id=attempt_public_id)
        if attempt is not None:
            dialler.opt_out(
                conn,
                attempt.phone,
                reason="pressed the opt-out key",
                source="information message",
                now=svc.clock(),
            )
    return twiml_response(farewell_twiml(OPTED_OUT_MESSAGE))


def _note_machine(call_sid: str, attempt_id: str | None, answered_by: str) -> None:
    with current_services().db.transaction() as session:
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
    """One turn of an interview: the answer to the prompt of turn ``step_no - 1``."""
    if not 1 <= step_no <= p.MAX_INTEGER or not p.public_id(public_id):
        abort(404)
    svc = current_services()
    event = input_event(_form(), media_hosts(svc.settings.twilio_api_base_url))

    def answered(conn: Connection, interview: InterviewRow) -> Response | _NextTurn:
        if step_no != interview.step_no + 1:
            abort(404)
        if interview.status != Status.IN_PROGRESS.value:
            return twiml_response(farewell_twiml(None))
        # Keypad 0 (or "operator") is put through or called back, as may be.
        questionnaire, step = handover.next_step(
            conn,
            interview,
            event,
            registry=svc.questionnaires,
            settings=svc.settings,
            now=svc.clock(),
        )
        body = handover.twiml(
            step,
            _turn_url(public_id, step_no + 1),
            settings=svc.settings,
            dial_action_url=_dial_action_url(public_id, step_no + 1),
            transcribe_url=_transcribe_url(public_id, step),
        )
        return _NextTurn(questionnaire, step, body)

    return _take_turn(public_id, step_no, answered)


class _NextTurn(NamedTuple):
    """What a turn moves the interview to, and the TwiML that says so."""

    questionnaire: Questionnaire
    step: Step
    body: str


def _take_turn(
    public_id: str,
    step_no: int,
    next_turn: Callable[[Connection, InterviewRow], Response | _NextTurn],
) -> Response:
    """Keep turn ``step_no`` of an interview as ``next_turn`` decides it, or say it again.

    The interview is read without a lock and ``next_turn`` runs outside any transaction;
    the write is conditional on the interview still being where it was read, so a
    duplicate of the turn that lost the race writes nothing and replays the winner's TwiML.
    ``next_turn`` may instead answer the request itself, writing what it needs.
    """
    svc = current_services()
    for _ in range(3):
        try:
            with svc.db.reading() as conn:
                found = turns.interview_for_turn(conn, public_id, step_no)
                if found is None:
                    abort(404)
                interview, sent = found
                if sent is not None:
                    # Twilio's retries of a turn get the very bytes it was sent.
                    return twiml_response(sent)
                planned = next_turn(conn, interview)
                if isinstance(planned, Response):
                    return planned
                outcome = interviews.keep_turn(
                    svc.db,
                    conn,
                    interview,
                    planned.questionnaire,
                    planned.step,
                    planned.body,
                    due_days=svc.settings.referral_due_working_days,
                    now=svc.clock(),
                )
                if outcome is None:
                    raise _Overtaken
            _after_person_asked(interview.case_id, planned.step)
            _announce(outcome.referrals)
            return twiml_response(planned.body)
        except (IntegrityError, _Overtaken):
            # The other copy committed first; the next pass replays what it sent.
            continue
    abort(409)


def _after_person_asked(case_id: int, step: Step) -> None:
    """A caller asked for a person this turn: list the case for the console, or make it
    one only interviewers ring (idempotent, so a replayed turn changes nothing more)."""
    if handover.asked_for_person(step):
        svc = current_services()
        with svc.db.begin() as conn:
            handover.after_turn(conn, case_id, step, svc.clock())


@bp.post("/interviews/<public_id>/handovers/<int:step_no>")
@signed
def handover_ended(public_id: str, step_no: int) -> Response:
    """Twilio's report of a put-through to a person (the ``<Dial>`` action): answered, the
    call ends and the console carries the interview on; not answered, the caller is told
    an interviewer will call back, and the call-back is booked as turn ``step_no``."""
    if not 1 <= step_no <= p.MAX_INTEGER or not p.public_id(public_id):
        abort(404)
    svc = current_services()
    status = handover.dial_status(_form())

    def dialled(conn: Connection, interview: InterviewRow) -> Response | _NextTurn:
        if status in handover.TAKEN:
            with svc.db.writing(conn):
                handover.answered(conn, interview.case_id, svc.clock())
            return twiml_response(farewell_twiml(None))
        questionnaire, step = handover.after_dial(conn, interview)
        if interview.status != Status.IN_PROGRESS.value or step_no != interview.step_no + 1:
            # An interviewer took the case on meanwhile: it is theirs to ring back.
            return twiml_response(farewell_twiml(step.prompts[0]))
        return _NextTurn(questionnaire, step, step_twiml(step, _turn_url(public_id, step_no + 1)))

    return _take_turn(public_id, step_no, dialled)


def input_event(form: Mapping[str, str], recording_hosts: frozenset[str]) -> InputEvent:
    """What the caller did, from Twilio's Gather or Record parameters (see
    :mod:`ivr.calls.parameters` for what is refused)."""
    recording = p.recording_url(form, recording_hosts)
    if recording:
        return Recording(recording, p.whole_number(form, "RecordingDuration") or 0)
    digits = p.text(form, "Digits", p.DIGITS_LIMIT).replace("#", "")
    if digits and digits != "hangup":
        return Digits(digits)
    speech = p.text(form, "SpeechResult", p.SPEECH_LIMIT).strip()
    if speech:
        return Speech(speech, p.confidence(form))
    return Silence()


#: Transcription states Twilio reports.
TRANSCRIPTION_STATUSES = frozenset({"completed", "failed"})


@bp.post("/interviews/<public_id>/transcriptions/<question_id>")
@signed
def transcription(public_id: str, question_id: str) -> tuple[str, int]:
    """Twilio's transcription of a recorded answer: kept once, beside the recording."""
    if not p.public_id(public_id):
        abort(404)
    svc = current_services()
    form = _form()
    status = form.get("TranscriptionStatus", "")
    if status not in TRANSCRIPTION_STATUSES:
        abort(400, "TranscriptionStatus must be completed or failed")
    recording_sid = p.sid(form, "RecordingSid") or None
    text = (
        (p.text(form, "TranscriptionText", p.TRANSCRIPTION_LIMIT) or None)
        if status == "completed"
        else None
    )
    with svc.db.begin() as conn:
        found = turns.interview_by_public_id(conn, public_id)
        if found is None:
            abort(404)
        interview_id, version_id = found
        q = store.pinned_questionnaire(conn, version_id)
        if question_id not in {x.id for x in q.questions if x.type.value == "recording"}:
            abort(404)
        turns.keep_transcription(
            conn,
            interview_id=interview_id,
            question_id=question_id,
            recording_sid=recording_sid,
            status=status,
            text=text,
            now=svc.clock(),
        )
    return "", 204


@bp.post("/status")
@signed
def status() -> tuple[str, int]:
    """Call status callbacks: a dropped call ends its interview; the attempt's outcome
    plans the case's next call."""
    svc = current_services()
    form = _status_form()
    call_sid = form["CallSid"]
    call_status = form["CallStatus"]
    attempt_public_id = _attempt_id()
    if call_status not in FINAL_CALL:
        # A call still going on changes nothing but its attempt: kept outside any
        # transaction, in one statement for an outbound call on PostgreSQL.
        with svc.db.reading() as conn:
            if not campaign_store.advance_outbound(
                conn,
                attempt_public_id=attempt_public_id,
                call_sid=call_sid or None,
                status=call_status,
                now=svc.clock(),
                answered_by=form.get("AnsweredBy") or None,
            ):
                _inbound_status(conn, form, svc.clock())
        return "", 204
    referrals: list[NewReferral] = []
    if call_sid:
        with svc.db.reading() as conn:
            if call_end_store.ends_in_one_statement(conn):
                ended = call_ends.end_call(
                    conn,
                    svc.questionnaires,
                    form,
                    attempt_public_id,
                    due_days=svc.settings.referral_due_working_days,
                    now=svc.clock(),
                )
                referrals = ended.referrals
                if ended.done:
                    _announce(referrals)
                    return "", 204
    with svc.db.begin() as conn:
        now = svc.clock()
        if call_status in FINAL_CALL and call_sid:
            interview = turns.lock_interview_by_call_sid(conn, call_sid)
            if interview is not None and interview.status == Status.IN_PROGRESS.value:
                outcome = interviews.advance(
                    conn,
                    interview,
                    HangUp(),
                    due_days=svc.settings.referral_due_working_days,
                    now=now,
                )
                # The interview is locked, so no other request can have moved it on.
                referrals += outcome.referrals if outcome is not None else []
        if not dialler.record_call_status(conn, svc.questionnaires, attempt_public_id, form, now):
            _inbound_status(conn, form, now)
    _announce(referrals)
    return "", 204


def _status_form() -> dict[str, str]:
    """A status callback's parameters, checked: ids, Twilio's enumerated values, and a
    duration that fits its column (ASCII digits, or '')."""
    form = _form()
    duration = p.whole_number(form, "CallDuration")
    return {
        "CallSid": p.sid(form, "CallSid"),
        "CallStatus": p.enumerated(form, "CallStatus", p.CALL_STATUSES),
        "AnsweredBy": p.enumerated(form, "AnsweredBy", p.ANSWERED_BY),
        "CallDuration": "" if duration is None else str(duration),
    }


def _inbound_status(conn: Connection, form: Mapping[str, str], now: datetime) -> None:
    """Keep an inbound call's progress; once it ends, the case's campaign goes on."""
    call_sid = form.get("CallSid", "")
    call_status = form.get("CallStatus", "")
    duration = form.get("CallDuration", "")
    turns.keep_call_progress(
        conn,
        call_sid,
        status=call_status,
        duration=int(duration) if duration.isdigit() else None,
        answered_by=form.get("AnsweredBy") or None,
        now=now,
    )
    if call_status not in FINAL_CALL:
        return
    ended = campaign_store.finish_inbound(conn, call_sid, status=call_status, now=now)
    if ended is None or ended.interview_status is None:
        return
    dialler.interview_ended(
        conn,
        current_services().questionnaires,
        ended.case_id,
        ended.interview_status,
        (ended.interview_state or {}).get("callback"),
        now,
    )


def _announce(referrals: list[NewReferral]) -> None:
    """Queue notifications once the turn that created the referrals has committed; with the
    job queue unreachable they are kept, and the caller still gets the call's TwiML."""
    svc = current_services()
    notifications.announce(
        svc.queue, svc.db, [(r.id, r.kind, r.district) for r in referrals], svc.clock(), marked=True
    )
