"""The answer options built into the keypad conventions of the contract.

7-point scale: 1 completely satisfied ... 7 completely dissatisfied, 8 don't know; yes/no:
1 yes, 2 no; identity: 1 speaking, 2 not available now, 3 nobody of that name here;
safety: 1 yes, it is safe, 2 no; consent: 1 take part now, 2 call back later, 3 do not
want to take part.
"""

from __future__ import annotations

from functools import cache

from ivr.questionnaire.schema import (
    Choices,
    NonSubstantive,
    NotCounted,
    Option,
    Question,
    Questionnaire,
    QuestionType,
    Sentiment,
)

SCALE7: tuple[Option, ...] = (
    Option(
        key="1",
        label="completely satisfied",
        sentiment=Sentiment.SATISFIED,
        synonyms=("completely", "extremely satisfied", "totally satisfied"),
    ),
    Option(
        key="2",
        label="very satisfied",
        sentiment=Sentiment.SATISFIED,
        synonyms=("very", "really satisfied"),
    ),
    Option(
        key="3",
        label="fairly satisfied",
        sentiment=Sentiment.SATISFIED,
        synonyms=("fairly", "quite satisfied", "reasonably satisfied"),
    ),
    Option(
        key="4",
        label="neither satisfied nor dissatisfied",
        sentiment=Sentiment.NEUTRAL,
        synonyms=("neither", "neutral", "in between", "in the middle"),
    ),
    Option(
        key="5",
        label="fairly dissatisfied",
        sentiment=Sentiment.DISSATISFIED,
        synonyms=("quite dissatisfied", "a bit dissatisfied", "a little dissatisfied"),
    ),
    Option(
        key="6",
        label="very dissatisfied",
        sentiment=Sentiment.DISSATISFIED,
        synonyms=("really dissatisfied", "very unhappy"),
    ),
    Option(
        key="7",
        label="completely dissatisfied",
        sentiment=Sentiment.DISSATISFIED,
        synonyms=("totally dissatisfied", "extremely dissatisfied"),
    ),
)
#: The scale's positive answers, as every summary counts them unless a question says else.
SCALE7_POSITIVE = ("1", "2", "3")

YES_NO: tuple[Option, ...] = (
    Option(
        key="1",
        label="yes",
        synonyms=(
            "yeah",
            "yep",
            "yes please",
            "correct",
            "that's right",
            "it is",
            "I would",
            "I do",
        ),
    ),
    Option(
        key="2",
        label="no",
        synonyms=(
            "nope",
            "no thanks",
            "no thank you",
            "not really",
            "it isn't",
            "it is not",
            "I would not",
            "no it isn't",
        ),
    ),
)

#: Who answered: the victim, someone who says they are out, or a stranger to the name.
IDENTITY: tuple[Option, ...] = (
    Option(
        key="1",
        label="yes, speaking",
        synonyms=(
            "yes",
            "yeah",
            "yep",
            "speaking",
            "that's me",
            "it's me",
            "I am",
            "yes it is",
            "correct",
            "that's right",
        ),
    ),
    Option(
        key="2",
        label="not available now",
        synonyms=(
            "no",
            "not here",
            "not in",
            "out",
            "not available",
            "not at the moment",
            "busy",
            "call back later",
            "later",
            "not now",
            "no they're not",
        ),
    ),
    Option(
        key="3",
        label="nobody of that name here",
        synonyms=(
            "wrong number",
            "nobody of that name",
            "no one of that name",
            "nobody called that",
            "doesn't live here",
            "don't know them",
            "never heard of them",
        ),
    ),
)

#: A survey of the public's identity step: the resident it selects (aged 16 or over, by the
#: questionnaire's rule, e.g. the next birthday) is speaking or comes to the phone, is not
#: available now (a call-back for them), or nobody aged 16 or over lives there.
SELECTION: tuple[Option, ...] = (
    Option(
        key="1",
        label="speaking, or coming to the phone",
        synonyms=(
            "yes",
            "yeah",
            "speaking",
            "that's me",
            "it's me",
            "me",
            "I'll get them",
            "hold on",
            "one moment",
            "just a minute",
        ),
    ),
    Option(
        key="2",
        label="not available now",
        synonyms=("not here", "not in", "out", "not available", "busy", "later", "not now"),
    ),
    Option(
        key="3",
        label="nobody aged 16 or over lives here",
        synonyms=(
            "nobody",
            "no one",
            "nobody over 16",
            "no adults",
            "we're all under 16",
            "wrong number",
        ),
    ),
)

#: Only an explicit yes passes the safety check; every other input ends the call.
SAFETY: tuple[Option, ...] = (
    Option(
        key="1",
        label="yes, it is safe",
        synonyms=(
            "yes",
            "yeah",
            "yep",
            "yes it is",
            "it is safe",
            "it's safe",
            "safe",
            "yes I can",
            "I can talk",
            "yes it's fine",
        ),
    ),
    Option(
        key="2",
        label="no",
        synonyms=(
            "nope",
            "not safe",
            "it isn't",
            "it is not",
            "unsafe",
            "I can't talk",
            "no it isn't",
            "not really",
        ),
    ),
)

#: Whether now suits, once it is safe: no books a call-back.
CONVENIENCE: tuple[Option, ...] = (
    Option(
        key="1",
        label="yes, now is fine",
        synonyms=("yes", "yeah", "yep", "now is fine", "go ahead", "fine", "okay", "ok", "sure"),
    ),
    Option(
        key="2",
        label="no, call another time",
        synonyms=(
            "no",
            "not now",
            "not a good time",
            "bad time",
            "later",
            "another time",
            "call back",
            "call me back",
            "busy",
        ),
    ),
)

CONSENT: tuple[Option, ...] = (
    Option(
        key="1",
        label="take part now",
        synonyms=("yes", "yeah", "okay", "ok", "go ahead", "now", "sure", "carry on"),
    ),
    Option(
        key="2",
        label="call me back later",
        synonyms=("later", "call back", "another time", "not now", "call me later"),
    ),
    Option(
        key="3",
        label="do not want to take part",
        synonyms=("no", "no thanks", "no thank you", "don't want to", "not interested"),
    ),
)

#: When a victim who asked to be called back would like the call.
CALLBACK_TIMES: tuple[Option, ...] = (
    Option(key="1", label="this evening", synonyms=("tonight", "evening", "later today")),
    Option(
        key="2",
        label="tomorrow during the day",
        synonyms=("tomorrow", "tomorrow daytime", "during the day", "daytime"),
    ),
    Option(key="3", label="tomorrow evening", synonyms=("tomorrow night",)),
)
#: The calling policy's name for each callback choice.
CALLBACK_CHOICES = {"1": "this_evening", "2": "tomorrow_daytime", "3": "tomorrow_evening"}

CONSENT_NOW, CONSENT_LATER, CONSENT_REFUSED = "1", "2", "3"
YES, NO = "1", "2"
SPEAKING, NOT_AVAILABLE, NOBODY_OF_THAT_NAME = "1", "2", "3"

#: The usual words of each non-substantive answer: label, spoken synonyms, keypad help.
NOT_COUNTED_WORDS: dict[NotCounted, tuple[str, tuple[str, ...], str]] = {
    NotCounted.DONT_KNOW: (
        "don't know",
        (
            "don't know",
            "I don't know",
            "not sure",
            "I'm not sure",
            "no idea",
            "unsure",
            "can't say",
            "can't remember",
            "don't remember",
        ),
        "If you don't know, press {key}.",
    ),
    NotCounted.DOES_NOT_APPLY: (
        "does not apply",
        (
            "does not apply",
            "doesn't apply",
            "not applicable",
            "not relevant",
            "didn't need it",
            "didn't need any",
        ),
        "If it does not apply to you, press {key}.",
    ),
    NotCounted.PREFER_NOT_TO_SAY: (
        "prefer not to say",
        (
            "prefer not to say",
            "rather not say",
            "I'd rather not say",
            "don't want to say",
            "prefer not to answer",
            "rather not answer",
        ),
        "If you would rather not say, press {key}.",
    ),
}
#: The scale's don't know, on 8, when a scale question declares nothing else.
SCALE7_NOT_COUNTED = (NonSubstantive(key="8", answer=NotCounted.DONT_KNOW),)


def not_counted_option(declared: NonSubstantive) -> Option:
    """A declared non-substantive answer as an option, with its usual words filled in."""
    label, synonyms, _ = NOT_COUNTED_WORDS[declared.answer]
    return Option(
        key=declared.key,
        label=declared.label or label,
        synonyms=declared.synonyms if declared.synonyms is not None else synonyms,
        not_counted=declared.answer,
    )


def not_counted_help(question: Question) -> str:
    """'If you don't know, press 8.' for each of a question's non-substantive answers."""
    return " ".join(
        (d.help or NOT_COUNTED_WORDS[d.answer][2]).format(key=d.key)
        for d in declared_not_counted(question)
    )


def declared_not_counted(question: Question) -> tuple[NonSubstantive, ...]:
    """The question's non-substantive answers, or its type's default ones."""
    if question.non_substantive is not None:
        return question.non_substantive
    return SCALE7_NOT_COUNTED if question.type is QuestionType.SCALE7 else ()


def substantive_options(question: Question) -> tuple[Option, ...]:
    """The answers that are opinions: built in for scale7 and yes_no, else the question's."""
    if question.type is QuestionType.SCALE7:
        return SCALE7
    if question.type is QuestionType.YES_NO:
        return YES_NO
    return question.options


@cache
def options_for(question: Question) -> tuple[Option, ...]:
    """Every answer a question accepts: its opinions, then don't know and the like."""
    return (
        *substantive_options(question),
        *(not_counted_option(d) for d in declared_not_counted(question)),
    )


@cache
def positive_keys(question: Question) -> frozenset[str]:
    """The keys counted as the positive answer in results: declared, or the type's."""
    if question.positive is not None:
        return frozenset(question.positive)
    if question.type is QuestionType.SCALE7:
        return frozenset(SCALE7_POSITIVE)
    return frozenset(
        o.key for o in substantive_options(question) if o.sentiment is Sentiment.SATISFIED
    )


@cache
def _keys_with(question: Question, sentiment: Sentiment) -> frozenset[str]:
    return frozenset(o.key for o in substantive_options(question) if o.sentiment is sentiment)


@cache
def _not_counted_keys(question: Question) -> frozenset[str]:
    return frozenset(d.key for d in declared_not_counted(question))


def is_dissatisfied(question: Question, key: str | None) -> bool:
    """Whether an answer key to this question expresses dissatisfaction."""
    return key is not None and key in _keys_with(question, Sentiment.DISSATISFIED)


def is_satisfied(question: Question, key: str | None) -> bool:
    """Whether an answer key to this question is on the satisfied side."""
    return key is not None and key in _keys_with(question, Sentiment.SATISFIED)


def is_substantive(question: Question, key: str | None) -> bool:
    """Whether an answer key is an opinion (not don't know, does not apply, ...)."""
    return key is not None and key not in _not_counted_keys(question)


def not_counted_kind(question: Question, key: str | None) -> NotCounted | None:
    """Which non-substantive answer a key is, if it is one."""
    for declared in declared_not_counted(question):
        if declared.key == key:
            return declared.answer
    return None


def counted_as(question: Question) -> str:
    """What a figure for this question counts, in words: 'satisfied: completely, very or
    fairly'."""
    labels = [o.label for o in substantive_options(question) if o.key in positive_keys(question)]
    return describe_labels(labels)


def describe_labels(labels: list[str]) -> str:
    """Labels joined in words, sharing a common last word: 'satisfied: completely, very or
    fairly'; 'yes, a lot or yes, a little'."""
    if not labels:
        return "nothing (no positive answer declared)"
    last = {label.split()[-1] for label in labels}
    if len(labels) > 1 and len(last) == 1 and all(len(label.split()) > 1 for label in labels):
        word = last.pop()
        heads = [label.rsplit(" ", 1)[0] for label in labels]
        return f"{word}: {_join(heads)}"
    return _join(labels)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


# --- in the questionnaire's language --------------------------------------------------

#: Each built-in answer set by its name under ``choices:``.
BUILT_IN: dict[str, tuple[Option, ...]] = {
    "scale7": SCALE7,
    "yes_no": YES_NO,
    "identity": IDENTITY,
    "selection": SELECTION,
    "safety": SAFETY,
    "convenience": CONVENIENCE,
    "consent": CONSENT,
    "callback_time": CALLBACK_TIMES,
}


def built_in(q: Questionnaire, name: str) -> tuple[Option, ...]:
    """A built-in answer set in the questionnaire's words: the same keys and sentiments,
    the labels and synonyms its ``choices:`` give (English where it gives none)."""
    key = f"{__name__}.{name}"
    cached = q.derived.get(key)
    if cached is None:
        # Two threads may both build it: the same value, so either may win.
        cached = q.derived[key] = _in_words(q.choices, name)
    return cached  # type: ignore[no-any-return]


def _in_words(choices: Choices, name: str) -> tuple[Option, ...]:
    words = getattr(choices, name)
    if words is None:
        return BUILT_IN[name]
    return tuple(
        o.model_copy(update={"label": words[o.key].label, "synonyms": words[o.key].synonyms})
        if o.key in words
        else o
        for o in BUILT_IN[name]
    )


def _not_counted_in(q: Questionnaire, declared: NonSubstantive) -> Option:
    words = getattr(q.choices, declared.answer.value)
    option = not_counted_option(declared)
    if words is None or declared.label is not None:
        return option
    synonyms = declared.synonyms if declared.synonyms is not None else words.synonyms
    return option.model_copy(update={"label": words.label, "synonyms": synonyms})


def options_in(q: Questionnaire, question: Question) -> tuple[Option, ...]:
    """Every answer a question accepts (see :func:`options_for`), in the questionnaire's
    words."""
    if question.type is QuestionType.SCALE7:
        opinions = built_in(q, "scale7")
    elif question.type is QuestionType.YES_NO:
        opinions = built_in(q, "yes_no")
    else:
        opinions = question.options
    return (*opinions, *(_not_counted_in(q, d) for d in declared_not_counted(question)))


def not_counted_help_in(q: Questionnaire, question: Question) -> str:
    """:func:`not_counted_help` in the questionnaire's words."""
    parts = []
    for declared in declared_not_counted(question):
        words = getattr(q.choices, declared.answer.value)
        default = words.help if words is not None else NOT_COUNTED_WORDS[declared.answer][2]
        parts.append((declared.help or default).format(key=declared.key))
    return " ".join(parts)
