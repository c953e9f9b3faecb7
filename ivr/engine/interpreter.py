"""The interpreter: questionnaire + state + input event -> Step. Pure and deterministic.

The order of a call: the opening (a neutral one for a sensitive case), the identity check,
the safety check and "is now a good time?" (for sensitive cases, or everyone if the
questionnaire says so), consent, then the questions. Until identity and safety are both
confirmed nothing names the police, a crime or the case: only an explicit "yes, it is
safe" passes the safety check; anything else ends the call there.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ivr.engine.model import (
    AnswerRecorded,
    Digits,
    DissatisfactionDetected,
    HangUp,
    InputEvent,
    InterviewEnded,
    InterviewerAnswer,
    Offer,
    OutputEvent,
    PersonAsked,
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
    CONVENIENCE_STEP,
    IDENTITY,
    SAFETY,
    Node,
    check_applies,
    hints_for,
    holds,
    index_of,
    is_sensitive,
    keypad_help,
    node_named,
    nodes_of,
    phrase_hints,
    quota_span,
    render,
)
from ivr.engine.speech import (
    asks_for_person,
    asks_to_repeat,
    asks_to_slow_down,
    match_option,
    spoken_number,
    words,
)
from ivr.questionnaire.access_needs import reads_slowly
from ivr.questionnaire.options import (
    CALLBACK_CHOICES,
    CONSENT_LATER,
    CONSENT_NOW,
    CONSENT_REFUSED,
    NO,
    NOBODY_OF_THAT_NAME,
    NOT_AVAILABLE,
    YES,
    built_in,
    is_dissatisfied,
)
from ivr.questionnaire.population import quota_cells
from ivr.questionnaire.schema import Option, Questionnaire, QuestionType, ReferralRule

#: Attempts at one question before it is recorded as unanswered (the contract's "third").
MAX_TRIES = 3
#: What ``State.referred`` holds for a referral an interviewer raised by hand.
MANUAL = "manual"

CLOSING_FOR = {
    Status.COMPLETED: "completed",
    Status.REFUSED: "refused",
    Status.CALLBACK_REQUESTED: "callback",
    Status.WRONG_NUMBER: "wrong_person",
    Status.NO_RESPONSE: "no_response",
    Status.UNSAFE: "unsafe",
    Status.PARTIAL: "partial",
    Status.SCREENED_OUT: "screened_out",
    Status.QUOTA_FULL: "quota_full",
}
#: What ``State.passed`` holds once the respondent's quota cells were found open.
QUOTA = "quota"
#: How a control step that never got a usable answer ends the interview.
_GIVEN_UP_AT = {
    IDENTITY: Status.NO_RESPONSE,
    SAFETY: Status.UNSAFE,
    CONVENIENCE_STEP: Status.CALLBACK_REQUESTED,
    CONSENT_STEP: Status.PARTIAL,
    CALLBACK_TIME: Status.CALLBACK_REQUESTED,
}


def start(q: Questionnaire, case: dict[str, Any]) -> Step:
    """Begin an interview: the opening, then the first step that applies. ``q`` is the
    questionnaire in the language the call begins in (see :meth:`Questionnaire.in_language`)."""
    begun = State(case=dict(case), slow=reads_slowly(case), language=q.language)
    return _with_offers(q, _from_the_top(q, begun))


def resume(q: Questionnaire, state: State) -> Step:
    """A new call on an interview that ended without being completed: the identity (and,
    where it applies, safety) checks again, then on from the first question not answered.

    Answers and referrals are kept; the keypad help is heard afresh, as on any call.
    """
    again = state.but(
        node=None,
        tries=0,
        confirming=None,
        status=Status.IN_PROGRESS,
        heard_help=(),
        callback=None,
        # Identity and safety are asked again on every call; the quota gate, once passed,
        # stays passed (the interview already counts toward its cells).
        passed=tuple(check for check in state.passed if check == QUOTA),
        resumed=bool(state.answers),
        # Slower reading asked for on an earlier call stays: the victim still needs it.
        slow=state.slow or reads_slowly(state.case),
        repeats=0,
    )
    return _with_offers(q, _from_the_top(q, again))


def _from_the_top(q: Questionnaire, state: State) -> Step:
    opening = q.sensitive_opening if is_sensitive(q, state.case) else q.opening
    return _advance(q, state, after=-1, lead=(render(q, opening, state.case),), events=())


def _with_offers(q: Questionnaire, taken: Step) -> Step:
    """The step in ``q``'s voice; and at the identity step, the call's first question,
    every other language the questionnaire offers says, in its own voice, how to switch
    to it."""
    if q.voice is not None:
        taken = replace(taken, voice=q.voice)
    if taken.node != IDENTITY or taken.state.ended:
        return taken
    offers = tuple(
        Offer(other.offer, other.language, other.voice)
        for other in (q.in_language(tag) for tag in q.languages[1:] if tag != q.language)
        if other.offer
    )
    return replace(taken, offers=offers) if offers else taken


def _language_for_key(q: Questionnaire, key: str) -> Questionnaire | None:
    """The other language whose offer key this is, if any."""
    for tag in q.languages:
        other = q.in_language(tag)
        if tag != q.language and other.offer_key == key:
            return other
    return None


def step(q: Questionnaire, state: State, event: InputEvent) -> Step:
    """Apply one input event to an interview and say what happens next. ``q`` is the
    questionnaire in the interview's language (``state.language``); pressing another
    language's offer key at the identity step goes on in that language, from the opening,
    without using up an attempt."""
    if state.node == IDENTITY and not state.ended and isinstance(event, Digits):
        other = _language_for_key(q, event.value.strip())
        if other is not None:
            switched = state.but(language=other.language, confirming=None, heard_help=())
            return _with_offers(other, _from_the_top(other, switched))
    taken = _with_offers(q, _step(q, state, event))
    if taken.state.quota_full is None:
        return taken
    # The full cells were for this turn only: a later turn is told afresh.
    return replace(taken, state=taken.state.but(quota_full=None))


def _step(q: Questionnaire, state: State, event: InputEvent) -> Step:
    if state.ended or state.node is None:
        return Step((), None, state)
    if isinstance(event, HangUp):
        ended = state.but(status=_hung_up(state), node=None, confirming=None, tries=0)
        ended, referrals = _referrals(q, ended)
        return Step((), None, ended, (*referrals, InterviewEnded(ended.status)))
    node = node_named(q, state.node)
    if _asks_for_person(node, event):
        # The caller decides whether someone can take the call: this step puts it
        # through, or :func:`call_back_instead` books a call-back.
        return Step(
            (q.messages.putting_through,),
            Wait("person"),
            state.but(confirming=None),
            (PersonAsked(node.id),),
            node=node.id,
        )
    if isinstance(event, Speech) and asks_to_slow_down(event.text):
        lead = () if state.slow else (q.messages.slower,)
        return _ask(q, state.but(slow=True, confirming=None), node, lead=lead, full_help=True)
    if state.confirming is not None:
        return _confirm(q, state, node, event)
    if _is_repeat(event):
        # A second repeat of one question says the words are coming too fast.
        repeats = state.repeats + 1
        slows = repeats >= 2 and not state.slow
        again = state.but(repeats=repeats, slow=state.slow or slows)
        return _ask(q, again, node, lead=(q.messages.slower,) if slows else (), full_help=True)
    if node.question is not None and node.question.optional and _says_nothing(event):
        return _nothing_to_add(q, state, node, event)
    answer = _interpret(q, node, event)
    if node.id == SAFETY:
        return _safety(q, state, node, answer)
    if answer is None:
        return _failed(q, state, node, event)
    option, via, raw, confidence, recording = answer
    if via is Via.SPEECH and option is not None and confidence < q.speech_confidence:
        prompt = q.messages.confirm.format(label=option.label)
        return Step(
            (prompt,),
            _keys_wait(q, built_in(q, "yes_no")),
            state.but(confirming=option.key),
            node=node.id,
        )
    return _answered(q, state, node, option, via, raw, confidence, recording)


def _hung_up(state: State) -> Status:
    """How a call that ended mid-interview leaves it."""
    if state.node == CALLBACK_TIME:
        return Status.CALLBACK_REQUESTED
    if IDENTITY not in state.passed:
        return Status.NO_RESPONSE  # nobody confirmed they were the victim
    if state.node == SAFETY:
        return Status.UNSAFE
    return Status.PARTIAL


def call_back_instead(q: Questionnaire, state: State) -> Step:
    """End the interview as a call-back by an interviewer: the caller asked for a person
    and nobody can take the call now. Answers so far are kept."""
    asked = PersonAsked(state.node or "")
    ended = state.but(status=Status.CALLBACK_REQUESTED, node=None, confirming=None, tries=0)
    ended, referrals = _referrals(q, ended)
    events: tuple[OutputEvent, ...] = (
        asked,
        *referrals,
        InterviewEnded(Status.CALLBACK_REQUESTED),
    )
    return Step((q.messages.nobody_free,), None, ended, events, voice=q.voice)


def _asks_for_person(node: Node, event: InputEvent) -> bool:
    """Keypad 0 where 0 answers nothing (not at a number or recorded answer, nor where 0
    is an option), or words asking for a person. Not at the safety check: anything but
    an explicit yes there ends the call, and only interviewers ring that case again."""
    if node.id == SAFETY:
        return False
    if isinstance(event, Digits):
        keyed = node.type not in (QuestionType.NUMBER, QuestionType.RECORDING)
        return keyed and event.value.strip() == "0" and node.option("0") is None
    return isinstance(event, Speech) and asks_for_person(event.text)


def _is_repeat(event: InputEvent) -> bool:
    if isinstance(event, Digits):
        return event.value.strip() == "*"
    return isinstance(event, Speech) and asks_to_repeat(event.text)


def _says_nothing(event: InputEvent) -> bool:
    if isinstance(event, Silence):
        return True
    if isinstance(event, Digits):
        return not event.value.strip("# ")
    if isinstance(event, Recording):
        return event.seconds < 1
    if isinstance(event, InterviewerAnswer):
        return not (event.text or "").strip() and not event.key
    return isinstance(event, Speech) and not words(event.text)


Answer = tuple[Option | None, Via, str | None, float, str | None]


def _interpret(q: Questionnaire, node: Node, event: InputEvent) -> Answer | None:
    """Turn an input into (option, via, raw, confidence, recording url), or None if unusable."""
    kind = node.type
    if isinstance(event, InterviewerAnswer):
        if kind in (QuestionType.RECORDING, QuestionType.NUMBER) and event.text:
            return _free_answer(node, event.text, Via.INTERVIEWER)
        option = node.option(event.key or "")
        if option is None:
            return None
        # An interviewer's finer answer (an ONS 2021 ethnic group) is kept as said.
        detail = event.text if event.text and event.text in option.details else None
        return (option, Via.INTERVIEWER, detail or event.key, 1.0, None)
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
        text = raw.strip()
        if not (text.isascii() and text.isdigit()) or question is None:
            return None
        value = int(text)
        if (question.minimum is not None and value < question.minimum) or (
            question.maximum is not None and value > question.maximum
        ):
            return None
        return (None, via, str(value), 1.0, None)
    return (None, via, raw.strip(), 1.0, None)


def _safety(q: Questionnaire, state: State, node: Node, answer: Answer | None) -> Step:
    """Fail safe: an explicit yes goes on; no, an unclear or unsure answer, a wrong key or
    silence ends the call at once, with the neutral goodbye."""
    if answer is not None:
        option, via, _raw, confidence, _recording = answer
        sure = via is not Via.SPEECH or confidence >= q.speech_confidence
        if option is not None and option.key == YES and sure:
            return _advance(
                q, _passed(state, SAFETY), after=index_of(q)[node.id], lead=(), events=()
            )
    return _end(q, state, Status.UNSAFE, events=())


def _confirm(q: Questionnaire, state: State, node: Node, event: InputEvent) -> Step:
    """Low-confidence speech: yes keeps the heard answer, anything else asks again."""
    assert state.confirming is not None
    if _is_repeat(event):
        option = node.option(state.confirming)
        label = option.label if option else state.confirming
        return Step(
            (q.messages.confirm.format(label=label),),
            _keys_wait(q, built_in(q, "yes_no")),
            state,
            node=node.id,
        )
    said = None
    if isinstance(event, Digits):
        said = event.value.strip()
    elif isinstance(event, Speech):
        match = match_option(event.text, built_in(q, "yes_no"))
        said = match.key if match else None
    retry = state.but(confirming=None)
    if said == YES:
        option = node.option(state.confirming)
        return _answered(
            q, retry, node, option, Via.SPEECH, option.label if option else None, 1.0, None
        )
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
        return _end(q, state, _GIVEN_UP_AT.get(node.id, Status.NO_RESPONSE), events=())
    given_up = AnswerRecorded(node.id, None, None, None)
    answers = {**state.answers, node.id: {"code": None, "label": None, "via": None}}
    return _advance(
        q,
        state.but(answers=answers),
        after=index_of(q)[node.id],
        lead=(q.messages.moving_on,),
        events=(given_up,),
        goto=node.question.goto if node.question else None,
    )


def _nothing_to_add(q: Questionnaire, state: State, node: Node, event: InputEvent) -> Step:
    """An optional question left empty (silence, the hash key): on to the next one."""
    via = Via.INTERVIEWER if isinstance(event, InterviewerAnswer) else Via.KEYPAD
    kept = AnswerRecorded(node.id, None, None, via)
    answers = {**state.answers, node.id: {"code": None, "label": None, "via": via.value}}
    return _advance(
        q,
        state.but(answers=answers),
        after=index_of(q)[node.id],
        lead=(),
        events=(kept,),
        goto=node.question.goto if node.question else None,
    )


def _answered(
    q: Questionnaire,
    state: State,
    node: Node,
    option: Option | None,
    via: Via,
    raw: str | None,
    confidence: float,
    recording: str | None,
) -> Step:
    if node.is_control:
        return _control_answered(q, state, node, option.key if option else "")
    assert node.question is not None
    code = option.key if option else raw
    label = option.label if option else None
    substantive = option.substantive if option else True
    recorded = AnswerRecorded(
        node.id,
        code if option or raw else None,
        label,
        via,
        raw,
        confidence if via is Via.SPEECH and raw else None,
        recording,
        substantive,
    )
    events: list[OutputEvent] = [recorded]
    if option and substantive and node.question.core and is_dissatisfied(node.question, option.key):
        events.append(DissatisfactionDetected(node.id, option.key, option.label))
    answers = {**state.answers, node.id: {"code": recorded.code, "label": label, "via": via.value}}
    if option is not None and option.key in node.question.screens_out:
        return _end(q, state.but(answers=answers), Status.SCREENED_OUT, tuple(events))
    goto = (option.goto if option and option.goto else None) or node.question.goto
    return _advance(
        q,
        state.but(answers=answers),
        after=index_of(q)[node.id],
        lead=(),
        events=tuple(events),
        goto=goto,
    )


def _control_answered(q: Questionnaire, state: State, node: Node, key: str) -> Step:
    after = index_of(q)[node.id]
    if node.id == IDENTITY:
        if key == NOT_AVAILABLE:
            return _ask_callback_time(q, state)
        if key == NOBODY_OF_THAT_NAME:
            # A number drawn for the public with nobody aged 16 or over is outside the
            # population; a victim's name unknown at the number is a wrong number.
            ended = Status.SCREENED_OUT if q.sample == "public" else Status.WRONG_NUMBER
            return _end(q, state, ended, events=())
        return _advance(q, _passed(state, IDENTITY), after=after, lead=(), events=())
    if node.id == CONVENIENCE_STEP:
        if key == NO:
            return _ask_callback_time(q, state)
        return _advance(q, state, after=after, lead=(), events=())
    if node.id == CONSENT_STEP:
        if key == CONSENT_NOW:
            return _advance(q, state, after=after, lead=(), events=())
        if key == CONSENT_LATER:
            return _ask_callback_time(q, state)
        assert key == CONSENT_REFUSED
        return _end(q, state, Status.REFUSED, events=())
    assert node.id == CALLBACK_TIME
    return _end(q, state.but(callback=CALLBACK_CHOICES[key]), Status.CALLBACK_REQUESTED, events=())


def _passed(state: State, check: str) -> State:
    return state.but(passed=tuple(dict.fromkeys((*state.passed, check))))


def _ask_callback_time(q: Questionnaire, state: State) -> Step:
    asked = node_named(q, CALLBACK_TIME)
    moved = state.but(node=CALLBACK_TIME, tries=0, confirming=None, repeats=0)
    return _ask(q, moved, asked, lead=(), full_help=False)


def _advance(
    q: Questionnaire,
    state: State,
    *,
    after: int,
    lead: tuple[str, ...],
    events: tuple[OutputEvent, ...],
    goto: str | None = None,
) -> Step:
    """Move to the next step that applies, saying statements on the way. Questions already
    answered (on an earlier call of a resumed interview) are passed over."""
    nodes = nodes_of(q)
    span = quota_span(q)
    if span is not None and after >= span[1] and QUOTA not in state.passed:
        full = _full_quota_cells(q, state)
        if full:
            return _end(q, state, Status.QUOTA_FULL, events, lead)
        state = _passed(state, QUOTA)
    if goto == "end":
        return _end(q, state, Status.COMPLETED, events, lead)
    position = index_of(q)[goto] if goto else after + 1
    said = list(lead)
    while position < len(nodes):
        node = nodes[position]
        position += 1
        if node.id == CALLBACK_TIME or not _applies(q, node, state):
            continue
        if node.type is QuestionType.STATEMENT:
            said.append(render(q, node.prompt, state.case))
            continue
        if node.id == CONSENT_STEP and is_sensitive(q, state.case):
            # Identity and safety are confirmed: now say who is calling and why.
            said.append(render(q, q.opening, state.case))
        return _ask(
            q,
            state.but(node=node.id, tries=0, confirming=None, repeats=0),
            node,
            tuple(said),
            full_help=False,
            events=events,
        )
    return _end(q, state, Status.COMPLETED, events, tuple(said))


def quota_check_due(q: Questionnaire, state: State) -> bool:
    """Whether the next input may take the interview past the quota gate: the caller then
    sets ``state.quota_full`` to the cells that are full before calling :func:`step`."""
    span = quota_span(q)
    if span is None or QUOTA in state.passed or state.node is None or state.ended:
        return False
    return index_of(q)[state.node] <= span[1]


def respondent_groups(
    q: Questionnaire, answers: dict[str, dict[str, Any]]
) -> dict[str, str | None]:
    """The respondent's group in each demographic their answers tell (None: not stated)."""
    groups: dict[str, str | None] = {}
    for question in q.questions:
        if question.demographic is None:
            continue
        code = (answers.get(question.id) or {}).get("code")
        option = next((o for o in question.options if o.key == code), None)
        groups[question.demographic] = option.group if option else None
    return groups


def _full_quota_cells(q: Questionnaire, state: State) -> list[tuple[str, str, str]]:
    """The respondent's quota cells that are full."""
    assert q.quotas is not None
    if state.quota_full is None:
        raise RuntimeError(
            "the quota gate was reached without the full cells: the caller must set "
            "state.quota_full when quota_check_due() says so"
        )
    area = str(state.case.get("district") or "")
    cells = quota_cells(area, q.quotas.cells, respondent_groups(q, state.answers))
    return [cell for cell in cells if cell in state.quota_full]


def _applies(q: Questionnaire, node: Node, state: State) -> bool:
    if node.id in (SAFETY, CONVENIENCE_STEP):
        return check_applies(q, node, state.case)
    if node.question is not None and node.id in state.answers:
        return False
    return holds(q, node.when, state.answers, state.case)


def prompt_of(q: Questionnaire, node: Node, state: State) -> str:
    """The words of a node for this interview, in both modes: consent on a resumed
    interview asks to carry on instead of introducing the survey again."""
    text = q.messages.resume_consent if node.id == CONSENT_STEP and state.resumed else node.prompt
    return render(q, text, state.case)


def _ask(
    q: Questionnaire,
    state: State,
    node: Node,
    lead: tuple[str, ...],
    *,
    full_help: bool,
    events: tuple[OutputEvent, ...] = (),
) -> Step:
    prompts = [*lead, prompt_of(q, node, state)]
    heard = set(state.heard_help)
    help_text, help_key = keypad_help(q, node, full_help or node.type.value not in heard)
    if node.question is not None and "repeat" not in heard:
        prompts.append(q.messages.repeat_help)
        heard.add("repeat")
    if help_text:
        prompts.append(render(q, help_text, state.case))
    if help_key:
        heard.add(help_key)
    new_state = state.but(heard_help=tuple(sorted(heard)))
    return Step(tuple(prompts), _wait_for(q, node), new_state, events, node=node.id)


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
    q: Questionnaire,
    state: State,
    status: Status,
    events: tuple[OutputEvent, ...],
    lead: tuple[str, ...] = (),
) -> Step:
    ended = state.but(status=status, node=None, confirming=None, tries=0)
    ended, referrals = _referrals(q, ended)
    closing = render(q, getattr(q.closing, CLOSING_FOR[status]), state.case)
    return Step((*lead, closing), None, ended, (*events, *referrals, InterviewEnded(status)))


def _referrals(q: Questionnaire, state: State) -> tuple[State, tuple[ReferralRequested, ...]]:
    """Referral rules that hold now the interview has ended: new ones, and ones whose
    reasons or consent a resumed interview changed (one referral per kind, revised)."""
    fired: list[ReferralRequested] = []
    raised, referred = list(state.raised), dict(state.referred)
    for rule in q.referrals:
        if not holds(q, rule.when, state.answers, state.case):
            continue
        reasons = _reasons(q, rule, state)
        consented = rule.consent is None or holds(q, rule.consent, state.answers, state.case)
        said = json.dumps([[r.question, r.code] for r in reasons] + [consented])
        if rule.kind in raised:
            before = referred.get(rule.kind)
            if before in (None, MANUAL, said):
                continue
            fired.append(ReferralRequested(rule.kind, reasons, consented, revised=True))
        else:
            fired.append(ReferralRequested(rule.kind, reasons, consented))
            raised.append(rule.kind)
        referred[rule.kind] = said
    if not fired:
        return state, ()
    return state.but(raised=tuple(raised), referred=referred), tuple(fired)


def _reasons(q: Questionnaire, rule: ReferralRule, state: State) -> tuple[Reason, ...]:
    if rule.reasons == "dissatisfied":
        return tuple(
            Reason(question.id, answer["code"], answer["label"])
            for question in q.questions
            if (answer := state.answers.get(question.id))
            and is_dissatisfied(question, answer.get("code"))
        )
    return tuple(
        Reason(
            qid,
            (state.answers.get(qid) or {}).get("code"),
            (state.answers.get(qid) or {}).get("label"),
        )
        for qid in rule.reasons
    )
