"""Match what a respondent said to a question's options."""

from __future__ import annotations

import re

from ivr.questionnaire.schema import Option

_WORDS = re.compile(r"[a-z0-9']+")
REPEAT_PHRASES = ("repeat", "say that again", "pardon", "sorry what", "come again")


def words(text: str) -> tuple[str, ...]:
    """Lower-case words of an utterance, punctuation dropped."""
    return tuple(_WORDS.findall(text.lower().replace("’", "'")))


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def match_option(text: str, options: tuple[Option, ...]) -> Option | None:
    """The option whose label or synonym the utterance contains, longest phrase first.

    Longest-first means "neither satisfied nor dissatisfied" wins over "satisfied"
    and "very dissatisfied" over "dissatisfied". A tie between two different
    options is ambiguous, so nothing matches and the question is asked again.
    """
    said = words(text)
    best: tuple[int, Option] | None = None
    tied = False
    for option in options:
        for phrase in (option.label, *option.synonyms, option.key):
            needle = words(phrase)
            if not _contains(said, needle):
                continue
            if best is None or len(needle) > best[0]:
                best, tied = (len(needle), option), False
            elif len(needle) == best[0] and best[1].key != option.key:
                tied = True
    if best is None or tied:
        return None
    return best[1]


def asks_to_repeat(text: str) -> bool:
    """True when the respondent asked to hear the question again."""
    said = words(text)
    return any(_contains(said, words(p)) for p in REPEAT_PHRASES)


def spoken_number(text: str) -> int | None:
    """A whole number said as digits (recognisers transcribe numbers as digits)."""
    digits = "".join(w for w in words(text) if w.isdigit())
    return int(digits) if digits else None
