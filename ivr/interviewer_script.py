"""What the console shows an interviewer for one interview: the step to read, in the
questionnaire's interviewer wording, its answers, and the answers so far."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Table, select

from ivr.engine import State, Status
from ivr.engine.interpreter import CLOSING_FOR
from ivr.engine.script import (
    CALLBACK_TIME,
    CONSENT_STEP,
    IDENTITY,
    SAFETY,
    Node,
    index_of,
    nodes_of,
    render,
)
from ivr.questionnaire.schema import QuestionType
from ivr.store import campaigns as store
from ivr.store.interviews import pinned_questionnaire
from ivr.store.models import Base

_HEADINGS = {IDENTITY: "Identity check", SAFETY: "Safety check", CONSENT_STEP: "Consent",
             CALLBACK_TIME: "Callback time"}

_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_ANSWERS: Table = Base.metadata.tables["answers"]
_i, _c = _INTERVIEWS.c, store.CASES.c


@dataclass(frozen=True)
class Screen:
    """What the console shows for one interview."""

    interview_id: int
    case_id: int
    case_ref: str
    survey: str
    first_name: str | None
    phone: str
    status: str
    node: str | None
    kind: str
    heading: str
    wording: str
    instructions: str
    options: tuple[tuple[str, str], ...]
    free_text: bool
    answers: tuple[tuple[str, str], ...]
    closing: str
    notes: tuple[tuple[str, str], ...] = ()   # (ISO time, text) of the interviewer's notes


def screen_of(conn: Connection, interview_id: int) -> Screen:
    """The screen for an interview, read in the caller's connection."""
    row = conn.execute(
        select(_i.id, _i.case_id, _i.status, _i.state, _i.questionnaire_version_id, _i.notes,
               _c.case_ref, _c.survey, _c.first_name, _c.phone)
        .join(store.CASES, _c.id == _i.case_id).where(_i.id == interview_id)).one()
    q = pinned_questionnaire(conn, row.questionnaire_version_id)
    state = State.from_json(row.state)
    answers = tuple(
        (a.question_id, a.label or a.raw or a.code
         or ("(recorded)" if a.recording_url else "(no answer)"))
        for a in conn.execute(select(_ANSWERS.c.question_id, _ANSWERS.c.label,
                                     _ANSWERS.c.raw, _ANSWERS.c.code, _ANSWERS.c.recording_url)
                              .where(_ANSWERS.c.interview_id == interview_id)
                              .order_by(_ANSWERS.c.id)))
    notes = tuple((n["at"], n["text"]) for n in (row.notes or []))
    common = {"interview_id": row.id, "case_id": row.case_id, "case_ref": row.case_ref,
              "survey": row.survey, "first_name": row.first_name, "phone": row.phone,
              "status": row.status, "answers": answers, "notes": notes}
    if row.status != Status.IN_PROGRESS.value or state.node is None:
        closing_key = CLOSING_FOR.get(Status(row.status))
        closing = render(q, getattr(q.closing, closing_key), state.case) if closing_key else ""
        return Screen(**common, node=None, kind="ended",
                      heading=f"Interview ended: {row.status.replace('_', ' ')}", wording="",
                      instructions="Say the closing words, then end the call.",
                      options=(), free_text=False, closing=closing)
    node = nodes_of(q)[index_of(q)[state.node]]
    free = not node.is_control and node.type in (QuestionType.RECORDING, QuestionType.NUMBER)
    if node.is_control:
        heading = _HEADINGS.get(node.id, "Check")
    else:
        number = [question.id for question in q.questions].index(node.id) + 1
        heading = f"Question {number} of {len(q.questions)}"
    return Screen(**common, node=node.id, kind="control" if node.is_control else "question",
                  heading=heading, wording=render(q, node.interviewer, state.case),
                  instructions=_instructions(node), free_text=free,
                  options=tuple((o.key, o.label) for o in node.options), closing="")


def _instructions(node: Node) -> str:
    if node.is_control:
        return f"Ask, then press {_keys(node)} or click the answer."
    if node.type is QuestionType.RECORDING:
        return "Type the victim's own words, verbatim."
    if node.type is QuestionType.NUMBER:
        question = node.question
        assert question is not None
        return f"Type the number{number_range(question.minimum, question.maximum)}."
    if node.type is QuestionType.YES_NO:
        return "Press 1 for yes or 2 for no, or click."
    return f"Read the options. Press {_keys(node)} or click."


def _keys(node: Node) -> str:
    keys = [o.key for o in node.options]
    if len(keys) > 2 and all(k.isdigit() for k in keys) and keys == [
            str(n) for n in range(int(keys[0]), int(keys[0]) + len(keys))]:
        return f"{keys[0]} to {keys[-1]}"
    return " or ".join(keys)


def number_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    return "" if high is None else f" of at most {high}"
