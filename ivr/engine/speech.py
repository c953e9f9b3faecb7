"""Match what a respondent said to a question's options, never to the opposite.

A recogniser's transcript is matched against each option's label, synonyms and key (as a
digit or a number word). Negation is where a naive matcher goes wrong: "not very
satisfied" contains "very satisfied", and "it is not safe" contains "it is". So:

- contractions are spelt out first ("isn't" is "is not", "don't" is "do not"), in the
  utterance and in the phrases alike;
- a phrase found inside a longer phrase that was also found counts only as the longer one
  ("very dissatisfied" is not also "very");
- a negating word ("not", "never", "neither", "nor", "hardly", "barely") that is not part
  of a phrase found makes the whole utterance unclear, so it matches nothing and the
  question is asked again: "not very satisfied" and "not really satisfied" are neither 2
  nor 6, and "it is not safe" is not yes;
- phrases that point at two different options make it unclear too ("two or three",
  "I don't know, very satisfied").
"""

from __future__ import annotations

import re
from functools import cache

from ivr.questionnaire.schema import Option

_WORDS = re.compile(r"[a-z0-9']+")
REPEAT_PHRASES = ("repeat", "say that again", "pardon", "sorry what", "come again")
#: Asking for a human being instead of the automated call (as keypad 0 does).
PERSON_PHRASES = (
    "speak to a person",
    "talk to a person",
    "speak to someone",
    "talk to someone",
    "real person",
    "a human",
    "operator",
    "speak to a member of staff",
)
#: Asking for the words to be read more slowly.
SLOWER_PHRASES = ("slower", "more slowly", "slow down", "too fast", "too quick")
#: Words that turn what follows (or precedes) into its opposite.
NEGATORS = frozenset({"not", "never", "neither", "nor", "hardly", "barely"})
_SPELT_OUT = {
    "can't": "can not",
    "cannot": "can not",
    "won't": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "it's": "it is",
    "that's": "that is",
    "there's": "there is",
    "what's": "what is",
    "he's": "he is",
    "she's": "she is",
    "i'm": "i am",
    "they're": "they are",
    "we're": "we are",
    "you're": "you are",
    "i'd": "i would",
    "i've": "i have",
    "i'll": "i will",
}
_NUMBER_WORDS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
}


def words(text: str) -> tuple[str, ...]:
    """Lower-case words of an utterance, punctuation dropped and contractions spelt out."""
    found: list[str] = []
    for word in _WORDS.findall(text.lower().replace("’", "'")):
        word = word.strip("'")
        if not word:
            continue
        spelt = _SPELT_OUT.get(word)
        if spelt is None and word.endswith("n't"):
            spelt = f"{word[:-3]} not"
        found.extend((spelt or word).split())
    return tuple(found)


@cache
def _phrases(options: tuple[Option, ...]) -> tuple[tuple[tuple[str, ...], Option], ...]:
    """Every (phrase words, option) to look for; options are immutable, so cached."""
    found = []
    for option in options:
        spoken = (
            option.label,
            *option.synonyms,
            option.key,
            _NUMBER_WORDS.get(option.key, option.key),
        )
        for phrase in dict.fromkeys(spoken):
            needle = words(phrase)
            if needle:
                found.append((needle, option))
    return tuple(found)


def _occurrences(
    said: tuple[str, ...], options: tuple[Option, ...]
) -> list[tuple[int, int, Option]]:
    hits = []
    for needle, option in _phrases(options):
        n = len(needle)
        for i in range(len(said) - n + 1):
            if said[i : i + n] == needle:
                hits.append((i, i + n, option))
    return hits


def match_option(text: str, options: tuple[Option, ...]) -> Option | None:
    """The one option the utterance clearly names, or None when it names none, more than
    one, or is negated in a way no option's own words account for."""
    said = words(text)
    hits = _occurrences(said, options)
    # A phrase inside a longer phrase that was also said is part of that longer phrase.
    kept = [
        h
        for h in hits
        if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0]) for o in hits)
    ]
    if not kept:
        return None
    covered = {i for start, end, _ in kept for i in range(start, end)}
    if any(word in NEGATORS and i not in covered for i, word in enumerate(said)):
        return None
    chosen = {option.key: option for _, _, option in kept}
    if len(chosen) != 1:
        return None
    return next(iter(chosen.values()))


def asks_to_repeat(text: str) -> bool:
    """True when the respondent asked to hear the question again."""
    return _says_one_of(words(text), REPEAT_PHRASES)


def asks_for_person(text: str) -> bool:
    """True when the respondent asked to speak to a person ("operator", "a real person");
    not when they said they do not want to."""
    said = words(text)
    return not NEGATORS.intersection(said) and _says_one_of(said, PERSON_PHRASES)


def asks_to_slow_down(text: str) -> bool:
    """True when the respondent asked for the words to be read more slowly."""
    said = words(text)
    return not NEGATORS.intersection(said) and _says_one_of(said, SLOWER_PHRASES)


def _says_one_of(said: tuple[str, ...], phrases: tuple[str, ...]) -> bool:
    for phrase in phrases:
        needle = words(phrase)
        n = len(needle)
        if any(said[i : i + n] == needle for i in range(len(said) - n + 1)):
            return True
    return False


def spoken_number(text: str) -> int | None:
    """A whole number said as digits (recognisers transcribe numbers as digits)."""
    digits = "".join(w for w in words(text) if w.isascii() and w.isdigit())
    return int(digits) if digits else None
