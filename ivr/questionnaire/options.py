"""The answer options built into the keypad conventions of the contract.

7-point scale: 1 completely satisfied ... 7 completely dissatisfied; yes/no: 1 yes,
2 no; consent: 1 take part now, 2 call back later, 3 do not want to take part.
"""

from __future__ import annotations

from ivr.questionnaire.schema import Option, Question, QuestionType, Sentiment

SCALE7: tuple[Option, ...] = (
    Option(key="1", label="completely satisfied", sentiment=Sentiment.SATISFIED,
           synonyms=("one", "completely", "extremely satisfied", "totally satisfied")),
    Option(key="2", label="very satisfied", sentiment=Sentiment.SATISFIED,
           synonyms=("two", "very", "really satisfied")),
    Option(key="3", label="fairly satisfied", sentiment=Sentiment.SATISFIED,
           synonyms=("three", "fairly", "quite satisfied", "reasonably satisfied")),
    Option(key="4", label="neither satisfied nor dissatisfied", sentiment=Sentiment.NEUTRAL,
           synonyms=("four", "neither", "neutral", "not sure", "don't know")),
    Option(key="5", label="fairly dissatisfied", sentiment=Sentiment.DISSATISFIED,
           synonyms=("five", "quite dissatisfied", "a bit dissatisfied")),
    Option(key="6", label="very dissatisfied", sentiment=Sentiment.DISSATISFIED,
           synonyms=("six", "really dissatisfied", "very unhappy")),
    Option(key="7", label="completely dissatisfied", sentiment=Sentiment.DISSATISFIED,
           synonyms=("seven", "totally dissatisfied", "extremely dissatisfied")),
)

YES_NO: tuple[Option, ...] = (
    Option(key="1", label="yes",
           synonyms=("one", "yeah", "yep", "yes please", "correct", "that's right", "it is")),
    Option(key="2", label="no",
           synonyms=("two", "nope", "no thanks", "no thank you", "not really", "it isn't")),
)

CONSENT: tuple[Option, ...] = (
    Option(key="1", label="take part now",
           synonyms=("one", "yes", "yeah", "okay", "ok", "go ahead", "now", "sure")),
    Option(key="2", label="call me back later",
           synonyms=("two", "later", "call back", "another time", "not now", "call me later")),
    Option(key="3", label="do not want to take part",
           synonyms=("three", "no", "no thanks", "no thank you", "don't want to",
                     "not interested")),
)

#: When a victim who asked to be called back would like the call.
CALLBACK_TIMES: tuple[Option, ...] = (
    Option(key="1", label="this evening", synonyms=("one", "tonight", "evening", "later today")),
    Option(key="2", label="tomorrow during the day",
           synonyms=("two", "tomorrow", "tomorrow daytime", "during the day", "daytime")),
    Option(key="3", label="tomorrow evening", synonyms=("three", "tomorrow night")),
)
#: The calling policy's name for each callback choice.
CALLBACK_CHOICES = {"1": "this_evening", "2": "tomorrow_daytime", "3": "tomorrow_evening"}

CONSENT_NOW, CONSENT_LATER, CONSENT_REFUSED = "1", "2", "3"
YES, NO = "1", "2"


def options_for(question: Question) -> tuple[Option, ...]:
    """The options a question accepts: built in for scale7 and yes_no, else its own."""
    if question.type is QuestionType.SCALE7:
        return SCALE7
    if question.type is QuestionType.YES_NO:
        return YES_NO
    return question.options


# Keys by sentiment per option tuple, keyed by id(): option tuples are constants above or
# belong to a loaded questionnaire, and conditions ask on every turn of every call.
_KEYS: dict[int, tuple[tuple[Option, ...], dict[Sentiment | None, frozenset[str]]]] = {}


def _keys_by_sentiment(options: tuple[Option, ...]) -> dict[Sentiment | None, frozenset[str]]:
    cached = _KEYS.get(id(options))
    if cached is None or cached[0] is not options:
        if len(_KEYS) > 4096:
            _KEYS.clear()
        grouped: dict[Sentiment | None, set[str]] = {}
        for option in options:
            grouped.setdefault(option.sentiment, set()).add(option.key)
        cached = _KEYS[id(options)] = (options, {k: frozenset(v) for k, v in grouped.items()})
    return cached[1]


def is_dissatisfied(question: Question, key: str | None) -> bool:
    """Whether an answer key to this question expresses dissatisfaction."""
    keys = _keys_by_sentiment(options_for(question)).get(Sentiment.DISSATISFIED)
    return keys is not None and key in keys


def is_satisfied(question: Question, key: str | None) -> bool:
    """Whether an answer key to this question counts as satisfied (scale keys 1-3)."""
    keys = _keys_by_sentiment(options_for(question)).get(Sentiment.SATISFIED)
    return keys is not None and key in keys
