"""What the console shows an interviewer for one interview: the words to say (the very
words the phone says), the interviewer's own instructions apart from them, the answers,
and the answers so far."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ivr.calls.interviews import in_language
from ivr.engine import State, Status, prompt_of
from ivr.engine.interpreter import CLOSING_FOR
from ivr.engine.script import (
    CALLBACK_TIME,
    CONSENT_STEP,
    CONVENIENCE_STEP,
    IDENTITY,
    SAFETY,
    Node,
    is_sensitive,
    node_named,
    render,
)
from ivr.questionnaire import access_needs
from ivr.questionnaire.schema import QuestionType
from ivr.store import handovers
from ivr.store.interviewers import answers_shown, screen_row
from ivr.store.interviews import pinned_questionnaire
from ivr.wording import LANGUAGE_NAMES

_HEADINGS = {
    IDENTITY: "Identity check",
    SAFETY: "Safety check",
    CONVENIENCE_STEP: "Is now a good time?",
    CONSENT_STEP: "Consent",
    CALLBACK_TIME: "Callback time",
}


def language_in_english(tag: str | None, own_name: str | None = None) -> str:
    """A language tag as staff name it: "Welsh"; None is the questionnaire's own."""
    if tag is None:
        return "the questionnaire's own language"
    return LANGUAGE_NAMES.get(tag) or own_name or tag


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
    notes: tuple[tuple[str, str], ...] = ()  # (ISO time, text) of the interviewer's notes
    #: Words to say before ``wording`` (the opening, before the identity check).
    lead: str = ""
    #: Don't know, does not apply, prefer not to say: answers kept out of the figures.
    not_counted: tuple[tuple[str, str], ...] = ()
    #: Nothing about the police or the case may be said until identity and safety are
    #: confirmed.
    sensitive: bool = False
    #: Since when only interviewers ring this case (not safe on an automated call).
    interviewer_only_since: datetime | None = None
    #: Why: None (the safety check), "asked_for_person" or "access_needs".
    interviewer_only_reason: str | None = None
    #: The victim's access needs in words ("Uses Relay UK: call through Relay UK, ...").
    access_needs: tuple[str, ...] = ()
    #: An optional question: the victim may have nothing to add.
    optional: bool = False
    #: The finer answers an interviewer may choose, as (key, heading, (detail, ...)).
    details: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: A survey of the public: no name is known, and an action alert takes one.
    public: bool = False
    #: The language the interview is held in (its tag and its name, in that language); the
    #: words above are in it.
    language: str = "en-GB"
    language_name: str = "English"
    #: Why the words in this language are not yet ready (awaiting a native speaker's review).
    review: str | None = None

    @property
    def language_in_english(self) -> str:
        """The interview's language as staff name it: "Welsh"."""
        return language_in_english(self.language, self.language_name)


def screen_of(conn: Connection, interview_id: int) -> Screen:
    """The screen for an interview, read in the caller's connection."""
    row = screen_row(conn, interview_id)
    state = State.from_json(row.state)
    # The interviewer reads the words in the language the interview is held in.
    q = in_language(pinned_questionnaire(conn, row.questionnaire_version_id), state.language)
    answers = tuple(
        (
            a.question_id,
            a.label or a.raw or a.code or ("(recorded)" if a.recording_url else "(no answer)"),
        )
        for a in answers_shown(conn, interview_id)
    )
    notes = tuple((n["at"], n["text"]) for n in (row.notes or []))
    sensitive = is_sensitive(q, state.case)
    common: dict[str, Any] = {
        "interview_id": row.id,
        "case_id": row.case_id,
        "case_ref": row.case_ref,
        "survey": row.survey,
        "first_name": row.first_name,
        "phone": row.phone,
        "status": row.status,
        "answers": answers,
        "notes": notes,
        "sensitive": sensitive,
        "interviewer_only_since": row.interviewer_only_since,
        "interviewer_only_reason": (
            handovers.interviewer_only_reason(conn, row.case_id)
            if row.interviewer_only_since
            else None
        ),
        "access_needs": tuple(access_needs.described(state.case)),
        "public": q.sample == "public",
        "language": q.language,
        "language_name": q.language_name,
        "review": q.review,
    }
    if row.status != Status.IN_PROGRESS.value or state.node is None:
        closing_key = CLOSING_FOR.get(Status(row.status))
        closing = render(q, getattr(q.closing, closing_key), state.case) if closing_key else ""
        return Screen(
            **common,
            node=None,
            kind="ended",
            heading=f"Interview ended: {row.status.replace('_', ' ')}",
            wording="",
            instructions="Say the closing words, then end the call.",
            options=(),
            free_text=False,
            closing=closing,
        )
    node = node_named(q, state.node)
    free = not node.is_control and node.type in (QuestionType.RECORDING, QuestionType.NUMBER)
    if node.is_control:
        heading = _HEADINGS.get(node.id, "Check")
    else:
        number = [question.id for question in q.questions].index(node.id) + 1
        heading = f"Question {number} of {len(q.questions)}"
    lead = ""
    if node.id == IDENTITY:
        lead = render(q, q.sensitive_opening if sensitive else q.opening, state.case)
    elif node.id == CONSENT_STEP and sensitive:
        lead = render(q, q.opening, state.case)
    instructions = " ".join(
        filter(
            None,
            (
                render(q, node.instructions, state.case) if node.instructions else None,
                _how_to_answer(node),
            ),
        )
    )
    return Screen(
        **common,
        node=node.id,
        kind="control" if node.is_control else "question",
        heading=heading,
        wording=prompt_of(q, node, state),
        lead=lead,
        instructions=instructions,
        free_text=free,
        options=tuple((o.key, o.label) for o in node.options if o.substantive),
        details=tuple((o.key, o.label, o.details) for o in node.options if o.details),
        not_counted=tuple((o.key, o.label) for o in node.options if not o.substantive),
        optional=bool(node.question and node.question.optional),
        closing="",
    )


def _how_to_answer(node: Node) -> str:
    if node.id == SAFETY:
        return "Press 1 only for a clear yes; anything else ends the call."
    if node.is_control:
        return f"Press {_keys(node)} or click the answer."
    if node.type is QuestionType.RECORDING:
        if node.question is not None and node.question.optional:
            return "Type the victim's own words, verbatim, or record that they had nothing to add."
        return "Type the victim's own words, verbatim."
    if node.type is QuestionType.NUMBER:
        question = node.question
        assert question is not None
        return f"Type the number{number_range(question.minimum, question.maximum)}."
    if node.type is QuestionType.YES_NO:
        return "Press 1 for yes or 2 for no, or click."
    return f"Read the options. Press {_keys(node)} or click."


def _keys(node: Node) -> str:
    keys = [o.key for o in node.options if o.substantive]
    if (
        len(keys) > 2
        and all(k.isdigit() for k in keys)
        and keys == [str(n) for n in range(int(keys[0]), int(keys[0]) + len(keys))]
    ):
        return f"{keys[0]} to {keys[-1]}"
    return " or ".join(keys)


def number_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    return "" if high is None else f" of at most {high}"
