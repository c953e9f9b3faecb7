"""Random digit dialling: telephone numbers drawn at random inside the number ranges a
force configures for an area, so that unlisted and new numbers have the same chance as
listed ones.

A range is written as the number is dialled, with ``x`` for each random digit, e.g.
``01642 2xxxxx`` (a Middlesbrough exchange) or ``07700 9xxxxx``. Every number drawn is a
valid number of the region (phonenumbers' rules), in E.164, and never one already held.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

import phonenumbers

__all__ = ["NumberRangeError", "capacity", "draw_numbers"]

#: Tries per number wanted before a range is judged to hold too few valid numbers.
_TRIES_PER_NUMBER = 50


class NumberRangeError(ValueError):
    """A configured number range cannot give the numbers asked of it (said in words)."""


def _digits(pattern: str) -> str:
    digits = pattern.replace(" ", "").lower()
    if not digits or any(ch not in "0123456789x" for ch in digits):
        raise NumberRangeError(
            f"number range {pattern!r}: use digits and x (a random digit), e.g. '01642 2xxxxx'"
        )
    if "x" not in digits:
        raise NumberRangeError(f"number range {pattern!r} has no x: it is a single number")
    return digits


def capacity(pattern: str) -> int:
    """How many numbers the range's x's can make (valid or not)."""
    return 10 ** _digits(pattern).count("x")


def draw_numbers(
    ranges: Sequence[str],
    count: int,
    *,
    region: str = "GB",
    rng: random.Random,
    exclude: Iterable[str] = (),
) -> list[str]:
    """``count`` distinct valid numbers in E.164, drawn evenly across ``ranges`` (a range
    chosen at random for each, then its x's filled at random), none of them in ``exclude``."""
    if count < 0:
        raise ValueError(f"count must not be negative, not {count}")
    if not ranges:
        raise NumberRangeError("no number ranges are configured")
    patterns = [_digits(p) for p in ranges]
    for pattern, original in zip(patterns, ranges, strict=True):
        sample = pattern.replace("x", "0")
        if not _plausible(sample, region):
            raise NumberRangeError(
                f"number range {original!r} is not a {region} telephone number range"
            )
    held = set(exclude)
    drawn: list[str] = []
    tries = 0
    while len(drawn) < count:
        tries += 1
        if tries > _TRIES_PER_NUMBER * max(count, 1):
            raise NumberRangeError(
                f"the ranges gave only {len(drawn)} new valid numbers of the {count} asked: "
                "add ranges or widen them"
            )
        pattern = rng.choice(patterns)
        candidate = "".join(rng.choice("0123456789") if ch == "x" else ch for ch in pattern)
        number = _valid_e164(candidate, region)
        if number is None or number in held:
            continue
        held.add(number)
        drawn.append(number)
    return drawn


def _plausible(digits: str, region: str) -> bool:
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed)


def _valid_e164(digits: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
