"""The interpreter: questionnaire + state + input event -> Step. Pure and deterministic."""

from __future__ import annotations

from typing import Any

from ivr.engine.model import (
    AnswerRecorded,
    Digits,
    DissatisfactionDetected,
    HangUp,
    InputEvent,
    InterviewEnded,
    InterviewerAnswer,
    OutputEvent,
    Reason,
    Recording,
    ReferralRequested,
    Silence,
    Speech,
    State,
    Status,
    Step,
    Via,
    Wait,
)
from ivr.engine.script import (
    CALLBACK_TIME,
    CONSENT_STEP,
    IDENTITY,
    SAFETY,
    Node,
    choice_help,
    hints_for,
    holds,
    index_of,
    nodes_of,
    phrase_hints,
    render,
)
from ivr.engine.speech import asks_to_repeat, match_option, spoken_number, words
from ivr.questionnaire.options import (
    CALLBACK_CHOICES,
    CONSENT_LATER,
    CONSENT_NOW,
    CONSENT_REFUSED,
    NO,
    YES,
    YES_NO,
    is_dissatisfied,
)
from ivr.questionnaire.schema import Option, Questionnaire, QuestionType

#: Attempts at one question before it is recorded as unanswered (the contract's "third").
MAX_TRIES = 3

CLOSING_FOR = {
    Status.COMPLETED: "completed",
    Status.REFUSED: "refused",
    Status.CALLBACK_REQUESTED: "callback",
    Status.WRONG_PERSON: "wrong_person",
    Status.NO_RESPONSE: "no_response",
    Status.UNSAFE: "unsafe",
}


def start(q: Questionnaire, case: dict[str, Any]) -> Step:
    """Begin an interview: the opening, then the first step that applies."""
    state = State(case=dict(case))
    return _advance(q, state, after=-1, lead=(q.opening,), events=())


def step(q: Questionnaire, state: State, event: InputEvent) -> Step:
    """Apply one input event to an interview and say what happens next."""
    if state.ended or state.node is None:
        return Step((), None, state)
    if isinstance(event, HangUp):
        # The contract counts any call that ends before the last question as partial.
        status = Status.PARTIAL
        ended = state.but(status=status, node=None, confirming=None)
        events: tuple[OutputEvent, ...] = (*_referrals(q, ended), InterviewEnded(status))
        return Step((), None, ended.but(raised=_raised(ended, events)), events)
    node = nodes_of(q)[index_of(q)[state.node]]
    if state.confirming is not None:
        return _confirm(q, state, node, event)
    if _is_repeat(event):
        return _ask(q, state, node, lead=(), full_help=True)
    answer = _interpret(q, node, event)
    if answer is None:
        return _failed(q, state, node, event)
    option, via, raw, confidence, recording = answer
    if via is Via.SPEECH and option is not None and confidence < q.speech_confidence:
        prompt = q.messages.confirm.format(label=option.label)
        return Step((prompt,), _keys_wait(q, YES_NO), state.but(confirming=option.key),
                    node=node.id)
    return _answered(q, state, node, option, via, raw, confidence, recording)


def _is_repeat(event: InputEvent) -> bool:
    if isinstance(event, Digits):
        return event.value.strip() == "*"
    return isinstance(event, Speech) and asks_to_repeat(event.text)


Answer = tuple[Option | None, Via, str | None, float, str | None]


def _interpret(q: Questionnaire, node: Node, event: InputEvent) -> Answer | None:
    """Turn an input into (option, via, raw, confidence, recording url), or None if unusable."""
    kind = node.type
    if isinstance(event, InterviewerAnswer):
        if kind in (QuestionType.RECORDING, QuestionType.NUMBER) and event.text:
            return _free_answer(node, event.text, Via.INTERVIEWER)
        option = node.option(event.key or "")
        return (option, Via.INTERVIEWER, event.key, 1.0, None) if option else None
    if kind is QuestionType.RECORDING:
        if isinstance(event, Recording) and event.url:
            return None if event.seconds < 1 else (None, Via.SPEECH, None, 1.0, event.url)
        return None
    if kind is QuestionType.NUMBER:
        raw = event.value if isinstance(event, Digits) else None
        if isinstance(event, Speech):
            number = spoken_number(event.text)
            raw = None if number is None else str(number)
        return _free_answer(node, raw, Via.SPEECH if isinstance(event, Speech) else Via.KEYPAD)
    if isinstance(event, Digits):
        option = node.option(event.value.strip())
        return (option, Via.KEYPAD, event.value, 1.0, None) if option else None
    if isinstance(event, Speech):
        option = match_option(event.text, node.options)
        return (option, Via.SPEECH, event.text, event.confidence, None) if option else None
    return None


def _free_answer(node: Node, raw: str | None, via: Via) -> Answer | None:
    if raw is None or not raw.strip():
        return None
    if node.type is QuestionType.NUMBER:
        question = node.question
        if not raw.strip().isdigit() or question is None:
            return None
        value = int(raw)
        if (question.minimum is not None and value < question.minimum) or (
            question.maximum is not None and value > question.maximum
        ):
            return None
        return (None, via, str(value), 1.0, None)
    return (None, via, raw.strip(), 1.0, None)


def _confirm(q: Questionnaire, state: State, node: Node, event: InputEvent) -> Step:
    """Low-confidence speech: yes keeps the heard answer, anything else asks again."""
    assert state.confirming is not None
    if _is_repeat(event):
        option = node.option(state.confirming)
        label = option.label if option else state.confirming
        return Step((q.messages.confirm.format(label=label),), _keys_wait(q, YES_NO), state,
                    node=node.id)
    said = None
    if isinstance(event, Digits):
        said = event.value.strip()
    elif isinstance(event, Speech):
        match = match_option(event.text, YES_NO)
        said = match.key if match else None
    retry = state.but(confirming=None)
    if said == YES:
        option = node.option(state.confirming)
        return _answered(q, retry, node, option, Via.SPEECH, option.label if option else None,
                         1.0, None)
    if said == NO:
        return _ask(q, retry, node, lead=(), full_help=True)
    return _failed(q, retry, node, event)


def _failed(q: Questionnaire, state: State, node: Node, event: InputEvent) -> Step:
    tries = state.tries + 1
    silent = isinstance(event, Silence) or (isinstance(event, Speech) and not words(event.text))
    if tries < MAX_TRIES:
        lead = q.messages.no_input if silent else q.messages.invalid
        return _ask(q, state.but(tries=tries), node, lead=(lead,), full_help=True)
    if node.is_control:
        status = {SAFETY: Status.UNSAFE, CALLBACK_TIME: Status.CALLBACK_REQUESTED}.get(
            node.id, Status.NO_RESPONSE)
        return _end(q, state, status, events=())
    given_up = AnswerRecorded(node.id, None, None, None)
    answers = {**state.answers, node.id: {"code": None, "label": None, "via": None}}
    moved = state.but(answers=answers)
    events: tuple[OutputEvent, ...] = (given_up, *_referrals(q, moved))
    moved = moved.but(raised=_raised(moved, events))
    return _advance(q, moved, after=index_of(q)[node.id], lead=(q.messages.moving_on,),
                    events=events, goto=node.question.goto if node.question else None)


def _answered(
    q: Questionnaire, state: State, node: Node, option: Option | None, via: Via,
    raw: str | None, confidence: float, recording: str | None,
) -> Step:
    if node.is_control:
        return _control_answered(q, state, node, option.key if option else "")
    assert node.question is not None
    code = option.key if option else raw
    label = option.label if option else None
    recorded = AnswerRecorded(node.id, code if option or raw else None, label, via, raw,
                              confidence if via is Via.SPEECH and raw else None, recording)
    events: list[OutputEvent] = [recorded]
    if option and node.question.core and is_dissatisfied(node.question, option.key):
        events.append(DissatisfactionDetected(node.id, option.key, option.label))
    answers = {**state.answers, node.id: {"code": recorded.code, "label": label, "via": via.value}}
    moved = state.but(answers=answers)
    events.extend(_referrals(q, moved))
    moved = moved.but(raised=_raised(moved, tuple(events)))
    goto = (option.goto if option and option.goto else None) or node.question.goto
    return _advance(q, moved, after=index_of(q)[node.id], lead=(), events=tuple(events), goto=goto)


def _control_answered(q: Questionnaire, state: State, node: Node, key: str) -> Step:
    after = index_of(q)[node.id]
    if node.id == CONSENT_STEP:
        if key == CONSENT_NOW:
            return _advance(q, state, after=after, lead=(), events=())
        if key == CONSENT_LATER:
            asked = nodes_of(q)[index_of(q)[CALLBACK_TIME]]
            return _ask(q, state.but(node=CALLBACK_TIME, tries=0, confirming=None), asked,
                        lead=(), full_help=False)
        assert key == CONSENT_REFUSED
        return _end(q, state, Status.REFUSED, events=())
    if node.id == CALLBACK_TIME:
        return _end(q, state.but(callback=CALLBACK_CHOICES[key]), Status.CALLBACK_REQUESTED,
                    events=())
    if key == YES:
        return _advance(q, state, after=after, lead=(), events=())
    status = Status.WRONG_PERSON if node.id == IDENTITY else Status.UNSAFE
    return _end(q, state, status, events=())


def _advance(
    q: Questionnaire, state: State, *, after: int, lead: tuple[str, ...],
    events: tuple[OutputEvent, ...], goto: str | None = None,
) -> Step:
    """Move to the next step that applies, saying statements on the way."""
    nodes = nodes_of(q)
    if goto == "end":
        return _end(q, state, Status.COMPLETED, events, lead)
    position = index_of(q)[goto] if goto else after + 1
    said = list(lead)
    while position < len(nodes):
        node = nodes[position]
        if node.id == CALLBACK_TIME or not holds(q, node.when, state.answers, state.case):
            position += 1
            continue
        if node.type is QuestionType.STATEMENT:
            said.append(render(q, node.prompt, state.case))
            position += 1
            continue
        return _ask(q, state.but(node=node.id, tries=0, confirming=None), node, tuple(said),
                    full_help=False, events=events)
    return _end(q, state, Status.COMPLETED, events, tuple(said))


def _ask(
    q: Questionnaire, state: State, node: Node, lead: tuple[str, ...], *, full_help: bool,
    events: tuple[OutputEvent, ...] = (),
) -> Step:
    prompts = [*lead, render(q, node.prompt, state.case)]
    heard = set(state.heard_help)
    help_text, help_key = _help(q, node, full_help or node.type.value not in heard)
    if node.question is not None and "repeat" not in heard:
        prompts.append(q.messages.repeat_help)
        heard.add("repeat")
    if help_text:
        prompts.append(help_text)
    if help_key:
        heard.add(help_key)
    new_state = state.but(heard_help=tuple(sorted(heard)))
    return Step(tuple(prompts), _wait_for(q, node), new_state, events, node=node.id)


def _help(q: Questionnaire, node: Node, full: bool) -> tuple[str | None, str | None]:
    """Keypad help for the node's type: in full the first time and on re-prompts."""
    m = q.messages
    if node.is_control:
        return None, None  # control prompts carry their own key instructions
    if node.type is QuestionType.SCALE7:
        return (m.scale_help if full else m.scale_reminder), "scale7"
    if node.type is QuestionType.YES_NO:
        return m.yes_no_help, "yes_no"
    if node.type is QuestionType.CHOICE:
        return choice_help(node.options), None
    if node.type is QuestionType.RECORDING:
        return m.record_help, None
    if node.type is QuestionType.NUMBER:
        return m.number_help, None
    return None, None


def _keys_wait(q: Questionnaire, options: tuple[Option, ...]) -> Wait:
    return Wait("keys", speech=q.speech, hints=phrase_hints(options))


def _wait_for(q: Questionnaire, node: Node) -> Wait:
    if node.type is QuestionType.RECORDING:
        assert node.question is not None
        return Wait("recording", max_seconds=node.question.max_seconds)
    if node.type is QuestionType.NUMBER:
        return Wait("number", speech=q.speech)
    return Wait("keys", speech=q.speech, hints=hints_for(node))


def _end(
    q: Questionnaire, state: State, status: Status, events: tuple[OutputEvent, ...],
    lead: tuple[str, ...] = (),
) -> Step:
    ended = state.but(status=status, node=None, confirming=None, tries=0)
    extra = _referrals(q, ended)
    ended = ended.but(raised=_raised(ended, extra))
    closing = render(q, getattr(q.closing, CLOSING_FOR[status]), state.case)
    return Step((*lead, closing), None, ended, (*events, *extra, InterviewEnded(status)))


def _referrals(q: Questionnaire, state: State) -> tuple[ReferralRequested, ...]:
    """Referral rules that now hold and have not fired yet in this interview."""
    fired = []
    for rule in q.referrals:
        if rule.kind in state.raised or not holds(q, rule.when, state.answers, state.case):
            continue
        if rule.reasons == "dissatisfied":
            reasons = tuple(
                Reason(question.id, answer["code"], answer["label"])
                for question in q.questions
                if (answer := state.answers.get(question.id))
                and is_dissatisfied(question, answer.get("code"))
            )
        else:
            reasons = tuple(
                Reason(qid, (state.answers.get(qid) or {}).get("code"),
                       (state.answers.get(qid) or {}).get("label"))
                for qid in rule.reasons
            )
        fired.append(ReferralRequested(rule.kind, reasons))
    return tuple(fired)


def _raised(state: State, events: tuple[OutputEvent, ...]) -> tuple[str, ...]:
    kinds = [e.kind for e in events if isinstance(e, ReferralRequested)]
    return tuple(dict.fromkeys((*state.raised, *kinds)))
