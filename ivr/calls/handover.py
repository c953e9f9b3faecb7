"""A caller who asks for a person (keypad 0, or "operator"): put through, or called back.

Inside the survey's calling hours, with an interviewer signed in and a hand-over number
configured, the call is put through to that number (``<Dial>``) and the case is listed at
the top of the console for an interviewer to take, carrying on the same interview.
Otherwise, or when nobody answers the put-through, the interview ends as a call-back and
the case becomes one only interviewers ring, with the reason the console shows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ivr import engine
from ivr.calls import interviews
from ivr.calls import parameters as p
from ivr.campaigns.scheduler import CampaignError, campaign_for
from ivr.config import Settings
from ivr.engine import InputEvent, PersonAsked, State, Step
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.store import handovers, turns
from ivr.store.interviews import pinned_questionnaire
from ivr.store.turns import InterviewRow
from ivr.telephony.twiml import handover_twiml, step_twiml

log = logging.getLogger(__name__)

#: Twilio's DialCallStatus values; "completed" (or "answered"): the person took the call.
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
TAKEN = frozenset({"completed", "answered"})


def asked_for_person(step: Step) -> bool:
    """Whether the step answers a request for a person (put through or called back)."""
    return any(isinstance(event, PersonAsked) for event in step.events)


def puts_through(step: Step) -> bool:
    """Whether the step puts the caller through to a person."""
    return step.wait is not None and step.wait.kind == "person"


def may_put_through(
    conn: Connection,
    registry: QuestionnaireRegistry,
    settings: Settings,
    survey: str,
    now: datetime,
) -> bool:
    """Whether someone can take the call now: a hand-over number, the survey's calling
    hours (bank holidays closed), and an interviewer signed in."""
    if not settings.handover_number:
        return False
    try:
        campaign = campaign_for(registry, survey)
    except CampaignError:
        return False
    if not campaign.policy.windows.is_open(now):
        return False
    longest = timedelta(hours=settings.session_max_hours)
    return handovers.interviewer_signed_in(conn, now, longest)


def next_step(
    conn: Connection,
    interview: InterviewRow,
    event: InputEvent,
    *,
    registry: QuestionnaireRegistry,
    settings: Settings,
    now: datetime,
) -> tuple[Questionnaire, Step]:
    """What one input does (see :func:`interviews.next_step`), with a request for a person
    turned into a call-back when nobody can take the call."""
    questionnaire, step = interviews.next_step(conn, interview, event, registry=registry, now=now)
    if puts_through(step):
        survey, _district = turns.case_survey_and_district(conn, interview.case_id)
        if may_put_through(conn, registry, settings, survey, now):
            return questionnaire, step
        step = _call_back(questionnaire, State.from_json(interview.state))
    return questionnaire, step


def twiml(
    step: Step,
    next_url: str,
    *,
    settings: Settings,
    dial_action_url: str,
    transcribe_url: str | None = None,
) -> str:
    """The step's TwiML: the put-through for a step that asks for a person."""
    if puts_through(step):
        return handover_twiml(
            step,
            number=settings.handover_number,
            caller_id=settings.twilio_from_number or settings.handover_number,
            action_url=dial_action_url,
        )
    return step_twiml(step, next_url, transcribe_url=transcribe_url)


def after_turn(conn: Connection, case_id: int, step: Step, now: datetime) -> None:
    """Keep what a kept turn means for the case (each update changes nothing when repeated):
    listed for the console while put through; for interviewers only once asked."""
    if puts_through(step):
        handovers.hand_over(conn, case_id, now)
    elif asked_for_person(step):
        handovers.make_interviewer_only(conn, case_id, handovers.ASKED_FOR_PERSON, now)
        handovers.hand_over_ended(conn, case_id, now)


def dial_status(form: Mapping[str, str]) -> str:
    """The DialCallStatus of a put-through's action request; BadParameter if not Twilio's."""
    value = p.enumerated(form, "DialCallStatus", DIAL_STATUSES)
    if not value:
        raise p.BadParameter("DialCallStatus is required")
    return value


def after_dial(conn: Connection, interview: InterviewRow) -> tuple[Questionnaire, Step]:
    """Nobody answered the put-through: the interview ends as a call-back by an interviewer,
    its answers kept."""
    questionnaire = pinned_questionnaire(conn, interview.questionnaire_version_id)
    return questionnaire, _call_back(questionnaire, State.from_json(interview.state))


def _call_back(questionnaire: Questionnaire, state: State) -> Step:
    # Said in the language the interview is held in, in that language's voice.
    return engine.call_back_instead(interviews.in_language(questionnaire, state.language), state)


def answered(conn: Connection, case_id: int, now: datetime) -> None:
    """The put-through was answered and has ended: the case leaves the console's list (an
    interviewer who took it holds it)."""
    handovers.hand_over_ended(conn, case_id, now)
