"""The flat script an interview walks: control steps, then the questions.

Also the wording: case fields spoken naturally, and keypad help per question type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from ivr.questionnaire.options import (
    built_in,
    is_dissatisfied,
    is_satisfied,
    not_counted_help_in,
    options_in,
)
from ivr.questionnaire.schema import (
    PLACEHOLDER,
    Condition,
    ControlStep,
    Option,
    Question,
    Questionnaire,
    QuestionType,
)

IDENTITY, SAFETY, CONVENIENCE_STEP, CONSENT_STEP = (
    "_identity",
    "_safety",
    "_convenience",
    "_consent",
)
#: Asked only after "not available" or "call me back later"; never reached in order.
CALLBACK_TIME = "_callback_time"
CONTROL = (IDENTITY, SAFETY, CONVENIENCE_STEP, CONSENT_STEP, CALLBACK_TIME)
#: Crime types whose cases are always sensitive, whatever the questionnaire says.
SENSITIVE_CRIME_TYPES = frozenset({"domestic_abuse"})
_YES_WORDS = frozenset({"yes", "y", "true", "1"})


@dataclass(frozen=True)
class Node:
    """One step of the script: a control step or a question.

    ``prompt`` is said by the phone and by an interviewer alike; ``keypad`` is spoken only
    by the phone, after it; ``instructions`` are shown only to an interviewer.
    """

    id: str
    type: QuestionType
    prompt: str
    keypad: str | None
    instructions: str | None
    options: tuple[Option, ...]
    when: Condition | None
    question: Question | None
    asked_of: str = "everyone"

    @property
    def is_control(self) -> bool:
        """True for identity, safety, convenience and consent (not reported as answers)."""
        return self.question is None

    def option(self, key: str) -> Option | None:
        """The option with this key, if any."""
        return next((o for o in self.options if o.key == key), None)


def nodes_of(q: Questionnaire) -> tuple[Node, ...]:
    """The questionnaire as an ordered script of nodes (worked out once per questionnaire)."""
    return _script(q)[0]


def index_of(q: Questionnaire) -> dict[str, int]:
    """Position of each node id in the script."""
    return _script(q)[1]


def _script(q: Questionnaire) -> tuple[tuple[Node, ...], dict[str, int]]:
    script = q.derived.get(__name__)
    if script is None:
        nodes = _build(q)
        # Two threads may both build it: the same value, so either may win.
        script = q.derived[__name__] = (nodes, {node.id: i for i, node in enumerate(nodes)})
    return script  # type: ignore[no-any-return]


def quota_span(q: Questionnaire) -> tuple[int, int] | None:
    """The script positions of the first and the last quota question: the quota gate comes
    right after the last (None: the survey has no quotas)."""
    if q.quotas is None:
        return None
    wanted = set(q.quotas.demographics)
    positions = [
        i
        for i, node in enumerate(nodes_of(q))
        if node.question is not None and node.question.demographic in wanted
    ]
    return (min(positions), max(positions)) if positions else None


def node_named(q: Questionnaire, node_id: str) -> Node:
    """The script's node with this id."""
    return nodes_of(q)[index_of(q)[node_id]]


def _build(q: Questionnaire) -> tuple[Node, ...]:
    # The built-in answers in the questionnaire's own words (a translation's, say).
    selection = built_in(q, "selection" if q.sample == "public" else "identity")
    nodes = [_control(IDENTITY, q.identity, selection)]
    if q.safety is not None:
        nodes.append(_control(SAFETY, q.safety, built_in(q, "safety")))
    if q.convenience is not None:
        nodes.append(_control(CONVENIENCE_STEP, q.convenience, built_in(q, "convenience")))
    nodes.append(_control(CONSENT_STEP, q.consent, built_in(q, "consent")))
    nodes.append(_control(CALLBACK_TIME, q.callback_time, built_in(q, "callback_time")))
    for question in q.questions:
        nodes.append(
            Node(
                question.id,
                question.type,
                question.prompt,
                None,
                question.instructions,
                options_in(q, question),
                question.when,
                question,
            )
        )
    return tuple(nodes)


def _control(node_id: str, step: ControlStep, options: tuple[Option, ...]) -> Node:
    return Node(
        node_id,
        QuestionType.CHOICE,
        step.prompt,
        step.keypad,
        step.instructions,
        options,
        step.when,
        None,
        step.asked_of,
    )


def known_sensitive(case: dict[str, Any]) -> bool:
    """Whether a case is sensitive whatever its questionnaire says: the sample marks it
    domestic abuse, or its crime type is domestic abuse."""
    if str(case.get("domestic_abuse", "")).strip().lower() in _YES_WORDS:
        return True
    return str(case.get("crime_type", "")) in SENSITIVE_CRIME_TYPES


def is_sensitive(q: Questionnaire, case: dict[str, Any]) -> bool:
    """Whether nothing about the call's purpose may be said until identity and safety are
    confirmed: :func:`known_sensitive`, or the questionnaire's ``sensitive:`` rule holds."""
    if known_sensitive(case):
        return True
    return q.sensitive is not None and holds(q, q.sensitive, {}, case)


def check_applies(q: Questionnaire, node: Node, case: dict[str, Any]) -> bool:
    """Whether the safety (or convenience) check is asked of this case: always for a
    sensitive case, for everyone when the step says so, or when its ``when:`` holds."""
    if is_sensitive(q, case) or node.asked_of == "everyone":
        return True
    return node.when is not None and holds(q, node.when, {}, case)


def ordinal(day: int) -> str:
    """1 -> '1st', 22 -> '22nd', 13 -> '13th'."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def spoken_date(value: date) -> str:
    """A date as a person says it: 'Tuesday the 3rd of March 2026'."""
    return f"{value:%A} the {ordinal(value.day)} of {value:%B} {value.year}"


def spoken_value(q: Questionnaire, name: str, value: Any) -> str:
    """A case field's value in spoken words, in the questionnaire's language."""
    field = q.case_fields.get(name)
    if value is None or field is None:
        return ""
    if field.type == "date":
        parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
        if q.dates is not None:
            return q.dates.pattern.format(
                weekday=q.dates.weekdays[parsed.weekday()],
                day=parsed.day,
                month=q.dates.months[parsed.month - 1],
                year=parsed.year,
            )
        return spoken_date(parsed)
    if field.type == "choice":
        return field.choices.get(str(value), str(value))
    return str(value)


#: A survey of the public's placeholder for the places of the number's area, in words.
PLACES = "places"


def render(q: Questionnaire, text: str, case: dict[str, Any]) -> str:
    """Fill ``{field}`` placeholders with the case's values, spoken naturally (and
    ``{places}`` with the places of the case's area, for a survey with quotas)."""
    if "{" not in text:
        return text

    def value(match: Any) -> str:
        name = match.group(1)
        if name == PLACES and q.quotas is not None:
            area = str(case.get("district") or "")
            return q.quotas.places.get(area, area)
        return spoken_value(q, name, case.get(name))

    return PLACEHOLDER.sub(value, text)


def choice_help(options: tuple[Option, ...]) -> str:
    """'For yes, a lot, press 1. For no, press 2.' built from a question's opinions."""
    return " ".join(f"For {o.label}, press {o.key}." for o in options if o.substantive)


def keypad_help(q: Questionnaire, node: Node, full: bool) -> tuple[str | None, str | None]:
    """The phone's key instructions for a node, and the help it counts as heard.

    The scale's every label is said in full the first time a scale question is asked in a
    call, and again on ``*`` or a re-prompt; a reminder of its ends otherwise. Every
    question's don't know (and the like) is said each time.
    """
    if node.is_control:
        return node.keypad, None
    m = q.messages
    assert node.question is not None
    extra = not_counted_help_in(q, node.question)
    text: str | None
    heard: str | None = None
    if node.type is QuestionType.SCALE7:
        text, heard = (m.scale_help if full else m.scale_reminder), "scale7"
    elif node.type is QuestionType.YES_NO:
        text, heard = m.yes_no_help, "yes_no"
    elif node.type is QuestionType.CHOICE:
        text = choice_help(node.options)
    elif node.type is QuestionType.RECORDING:
        text = m.optional_record_help if node.question.optional else m.record_help
    elif node.type is QuestionType.NUMBER:
        text = m.number_help
    else:
        text = None
    joined = " ".join(t for t in (text, extra) if t) or None
    return joined, heard


def hints_for(node: Node) -> tuple[str, ...]:
    """Speech recognition hints: every label and synonym of the node's options."""
    return phrase_hints(node.options)


@cache
def phrase_hints(options: tuple[Option, ...]) -> tuple[str, ...]:
    """Labels and synonyms as hints; Twilio separates hints by commas, so none inside one."""
    return _phrase_hints(options)


def _phrase_hints(options: tuple[Option, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for option in options:
        for phrase in (option.label, *option.synonyms):
            seen.setdefault(" ".join(phrase.replace(",", " ").split()), None)
    return tuple(seen)


def holds(
    q: Questionnaire,
    cond: Condition | None,
    answers: dict[str, dict[str, Any]],
    case: dict[str, Any],
) -> bool:
    """Evaluate a ``when:`` condition against answers so far and the case."""
    if cond is None:
        return True
    if cond.answer is not None:
        code = (answers.get(cond.answer) or {}).get("code")
        return code is not None and str(code) in (cond.in_ or ())
    if cond.case is not None:
        value = case.get(cond.case)
        return value is not None and str(value) in (cond.in_ or ())
    for name, test in (("dissatisfied", is_dissatisfied), ("satisfied", is_satisfied)):
        listed = getattr(cond, name)
        if listed is not None:
            ids = q.core_ids if listed == "core" else listed
            return any(test(q.question(i), (answers.get(i) or {}).get("code")) for i in ids)
    if cond.all is not None:
        return all(holds(q, c, answers, case) for c in cond.all)
    if cond.any is not None:
        return any(holds(q, c, answers, case) for c in cond.any)
    assert cond.not_ is not None
    return not holds(q, cond.not_, answers, case)
