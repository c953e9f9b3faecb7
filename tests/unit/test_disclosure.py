"""Small groups are held back, and none can be worked out from a total minus the rest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ivr.results.disclosure import held_back, protect, protect_one, shown
from ivr.results.model import Thresholds

T = Thresholds(suppress_below=10, low_base_below=30)


@given(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=12))
def test_no_small_group_can_be_worked_out_from_the_total(bases: list[int]) -> None:
    hidden = held_back(bases, T)
    # Every group under the threshold is held back; every shown group is big enough or empty.
    for i, base in enumerate(bases):
        if 0 < base < 10:
            assert i in hidden
        if i not in hidden:
            assert base == 0 or base >= 10
    # Total minus the shown groups is the held-back groups together: never a small cell.
    if sum(bases) >= 10:
        rest = sum(bases) - sum(b for i, b in enumerate(bases) if i not in hidden)
        assert rest == 0 or rest >= 10
    # No group is held back that need not be when nothing is small.
    if not any(0 < b < 10 for b in bases):
        assert hidden == set()


def test_one_small_group_takes_the_next_smallest_with_it() -> None:
    assert held_back([120, 4, 35, 12, 60], T) == {1, 3}
    assert held_back([120, 4, 3, 35], T) == {1, 2, 3}  # 4 + 3 is still under 10
    assert held_back([120, 4, 6, 35], T) == {1, 2}
    assert held_back([50, 0, 40], T) == set()


def test_a_held_back_figure_carries_no_numbers() -> None:
    small, big = shown(7, 3, T), shown(40, 30, T)
    assert small.percent is not None  # computed, then held back below
    hidden, kept = protect([small, shown(12, 6, T), big], T)[0], protect([small, big], T)[1]
    assert hidden.suppressed
    assert (hidden.base, hidden.positive, hidden.percent, hidden.low, hidden.high) == (None,) * 5
    assert kept.suppressed  # with two groups, the other is held back too
    assert protect_one(small, T).suppressed and not protect_one(big, T).suppressed


def test_a_low_base_is_shown_and_marked() -> None:
    figure = shown(25, 20, T)
    assert figure.low_base and not figure.suppressed
    assert figure.percent == 80.0
    assert figure.low is not None and figure.high is not None
    assert figure.low < 80.0 < figure.high
    assert not shown(30, 20, T).low_base


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=15)),
        min_size=1,
        max_size=10,
    )
)
def test_no_small_group_leaks_through_its_dont_knows_either(groups: list[tuple[int, int]]) -> None:
    bases = [base for base, _ in groups]
    sizes = [base + outside for base, outside in groups]
    hidden = held_back(bases, T, sizes)
    for i in range(len(groups)):
        if i not in hidden:
            assert bases[i] == 0 or bases[i] >= 10
            assert sizes[i] == 0 or sizes[i] >= 10
    if sum(sizes) >= 10 and sum(bases) >= 10:
        for values in (bases, sizes):
            rest = sum(v for i, v in enumerate(values) if i in hidden)
            assert rest == 0 or rest >= 10


def test_one_person_who_did_not_know_is_not_shown() -> None:
    # Base 0, but one "don't know": their answer would be shown by the group's counts.
    assert held_back([0, 40, 35], T, [1, 45, 35]) == {0, 2}
    assert protect_one(shown(0, 0, T), T, size=1).suppressed
