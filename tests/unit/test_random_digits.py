"""Random digit dialling draws valid, new numbers inside the configured ranges."""

from __future__ import annotations

import random
from collections import Counter

import phonenumbers
import pytest

from ivr.campaigns.random_digits import NumberRangeError, capacity, draw_numbers


def test_numbers_are_valid_distinct_new_and_inside_their_ranges():
    held = {"+441642200000"}
    numbers = draw_numbers(
        ["01642 2xxxxx", "01429 8xxxxx"], 500, rng=random.Random(7), exclude=held
    )
    assert len(numbers) == len(set(numbers)) == 500
    assert not held & set(numbers)
    for number in numbers:
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed)
        assert number.startswith(("+4416422", "+4414298"))
    by_range = Counter(n[:8] for n in numbers)
    # Drawn evenly across the ranges (binomial 500, 1/2: 3 sd is about 34).
    assert abs(by_range["+4416422"] - 250) < 40


def test_the_same_seed_draws_the_same_numbers():
    first = draw_numbers(["01642 2xxxxx"], 20, rng=random.Random(3))
    assert draw_numbers(["01642 2xxxxx"], 20, rng=random.Random(3)) == first


def test_a_range_that_cannot_give_enough_numbers_says_so():
    assert capacity("01642 2000xx") == 100
    with pytest.raises(NumberRangeError, match="only 100 new valid numbers of the 150"):
        draw_numbers(["01642 2000xx"], 150, rng=random.Random(1))


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("01642 2?????", "use digits and x"),
        ("01642 200000", "has no x"),
        ("0164 2xxxxxxxxx", "not a GB telephone number range"),
    ],
)
def test_a_range_that_is_not_a_range_is_refused_in_words(pattern, words):
    with pytest.raises(NumberRangeError, match=words):
        draw_numbers([pattern], 1, rng=random.Random(1))
