"""The statistics behind the survey figures, against published worked examples, against
statsmodels on random counts, and by their properties.

Newcombe's two 1998 papers (Statistics in Medicine 17:857-872 and 17:873-890) print
worked examples to four decimals; an implementation that reproduces a published table is
checked, one that agrees only with itself is not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from ivr.results import reports
from ivr.results.statistics import (
    Z95,
    cell_weights,
    kish_effective_base,
    median,
    mover_difference,
    newcombe_difference,
    weighted_proportion,
    wilson_interval,
)

STATSMODELS = 1e-9

# Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison
# of seven methods", worked examples, method 3 (Wilson score, no continuity correction):
# (successes, n, low, high).
NEWCOMBE_SINGLE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]

# Newcombe (1998), "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Table II, method 10 (the hybrid score
# interval, Wilson without continuity correction): (x1, n1, x2, n2, low, high) of p1 - p2.
NEWCOMBE_DIFFERENCE = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
]


def counts(max_n: int = 2000) -> st.SearchStrategy[tuple[int, int]]:
    """(successes, n) with 1 <= n <= max_n."""
    return st.integers(1, max_n).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


# --------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(("successes", "n", "low", "high"), NEWCOMBE_SINGLE)
def test_wilson_reproduces_newcombes_single_proportion_examples(
    successes: int, n: int, low: float, high: float
) -> None:
    got_low, got_high = wilson_interval(successes, n)
    assert (round(got_low, 4), round(got_high, 4)) == (low, high)


def test_wilson_of_no_base_is_zero_and_ends_are_exact_at_none_and_all() -> None:
    assert wilson_interval(0, 0) == (0.0, 0.0)
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0
    # 0 of 10: the high end is (z²/n) / (1 + z²/n) = z² / (10 + z²).
    assert wilson_interval(0, 10)[1] == pytest.approx(Z95**2 / (10 + Z95**2), abs=1e-15)


def test_wilson_takes_a_fractional_count_as_a_weighted_base_gives() -> None:
    low, high = wilson_interval(12.5, 25.0)
    assert (low, high) == pytest.approx(proportion_confint(12.5, 25.0, method="wilson"))


@pytest.mark.parametrize(
    ("successes", "n", "message"),
    [
        (11, 10, "must not be more than n"),
        (-1, 10, "successes must not be negative"),
        (0, -5, "n must not be negative"),
        (1, 0, "must not be more than n"),
        (math.nan, 10, "finite"),
    ],
)
def test_wilson_refuses_impossible_counts(successes: float, n: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, n)


def test_wilson_refuses_a_z_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="z must be positive"):
        wilson_interval(5, 10, z=0.0)


def test_reports_still_offers_the_same_wilson_interval() -> None:
    assert reports.wilson_interval is wilson_interval


def test_wilson_agrees_with_statsmodels_on_random_counts() -> None:
    rng = np.random.default_rng(20261001)
    cases = [(0, 1), (1, 1), (0, 1000), (1000, 1000)]
    for _ in range(400):
        n = int(rng.integers(1, 5000))
        cases.append((int(rng.integers(0, n + 1)), n))
    for successes, n in cases:
        expected = proportion_confint(successes, n, alpha=0.05, method="wilson")
        assert wilson_interval(successes, n) == pytest.approx(expected, abs=STATSMODELS), (
            successes,
            n,
        )


@given(counts())
def test_wilson_holds_the_estimate_inside_the_unit_interval(count: tuple[int, int]) -> None:
    successes, n = count
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


@given(counts(500), st.integers(2, 20))
def test_wilson_narrows_with_a_larger_base_at_the_same_share(
    count: tuple[int, int], factor: int
) -> None:
    successes, n = count
    low, high = wilson_interval(successes, n)
    wider_low, wider_high = wilson_interval(successes * factor, n * factor)
    assert wider_high - wider_low < high - low


# --------------------------------------------------------------------------- Newcombe


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "low", "high"), NEWCOMBE_DIFFERENCE)
def test_newcombe_reproduces_table_ii_method_10(
    x1: int, n1: int, x2: int, n2: int, low: float, high: float
) -> None:
    difference, got_low, got_high = newcombe_difference(x1, n1, x2, n2)
    assert difference == pytest.approx(x1 / n1 - x2 / n2, abs=1e-15)
    assert (round(got_low, 4), round(got_high, 4)) == (low, high)


def test_newcombe_is_the_two_wilson_intervals_squared_and_added() -> None:
    # 56/70 - 48/80, by hand from its Wilson intervals:
    # low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)
    l1, u1 = wilson_interval(56, 70)
    l2, u2 = wilson_interval(48, 80)
    d = 0.8 - 0.6
    expected = (
        d,
        d - math.sqrt((0.8 - l1) ** 2 + (u2 - 0.6) ** 2),
        d + math.sqrt((u1 - 0.8) ** 2 + (0.6 - l2) ** 2),
    )
    assert newcombe_difference(56, 70, 48, 80) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "message"),
    [
        (1, 0, 1, 10, "n1 must be positive"),
        (1, 10, 0, 0, "n2 must be positive"),
        (11, 10, 1, 10, "x1"),
        (1, 10, -1, 10, "x2"),
    ],
)
def test_newcombe_refuses_an_empty_base_or_impossible_counts(
    x1: int, n1: int, x2: int, n2: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        newcombe_difference(x1, n1, x2, n2)


def test_newcombe_agrees_with_statsmodels_on_random_counts() -> None:
    rng = np.random.default_rng(20260701)
    cases = [(0, 5, 5, 5), (5, 5, 0, 5), (0, 1, 0, 1), (3, 3, 3, 3)]
    for _ in range(400):
        n1, n2 = (int(v) for v in rng.integers(1, 3000, size=2))
        cases.append((int(rng.integers(0, n1 + 1)), n1, int(rng.integers(0, n2 + 1)), n2))
    for x1, n1, x2, n2 in cases:
        low, high = confint_proportions_2indep(
            x1, n1, x2, n2, compare="diff", method="newcomb", alpha=0.05
        )
        difference, got_low, got_high = newcombe_difference(x1, n1, x2, n2)
        assert difference == pytest.approx(x1 / n1 - x2 / n2, abs=1e-15)
        expected = (float(low), float(high))
        assert (got_low, got_high) == pytest.approx(expected, abs=STATSMODELS), (x1, n1, x2, n2)


@given(counts(), counts())
def test_newcombe_holds_the_difference_inside_minus_one_to_one(
    first: tuple[int, int], second: tuple[int, int]
) -> None:
    difference, low, high = newcombe_difference(*first, *second)
    assert -1.0 <= low <= difference <= high <= 1.0


@given(counts(300), counts(300), st.integers(2, 10))
def test_newcombe_narrows_with_larger_bases_at_the_same_shares(
    first: tuple[int, int], second: tuple[int, int], factor: int
) -> None:
    _, low, high = newcombe_difference(*first, *second)
    (x1, n1), (x2, n2) = first, second
    _, wider_low, wider_high = newcombe_difference(
        x1 * factor, n1 * factor, x2 * factor, n2 * factor
    )
    assert wider_high - wider_low < high - low


@given(counts(), counts())
def test_newcombe_turns_round_when_the_sides_swap(
    first: tuple[int, int], second: tuple[int, int]
) -> None:
    difference, low, high = newcombe_difference(*first, *second)
    swapped = newcombe_difference(*second, *first)
    assert swapped == pytest.approx((-difference, -high, -low), abs=1e-12)


# --------------------------------------------------------------------------- MOVER

estimates = st.tuples(
    st.floats(-1, 1), st.floats(0, 1, exclude_min=True), st.floats(0, 1, exclude_min=True)
).map(lambda t: (t[0], t[0] - t[1], t[0] + t[2]))


def test_mover_of_two_differences_by_hand() -> None:
    # (0.10, 0.02, 0.20) - (0.05, -0.01, 0.09):
    # low  = 0.05 - sqrt(0.08^2 + 0.04^2) = 0.05 - sqrt(0.0080)
    # high = 0.05 + sqrt(0.10^2 + 0.06^2) = 0.05 + sqrt(0.0136)
    result = mover_difference((0.10, 0.02, 0.20), (0.05, -0.01, 0.09))
    expected = (0.05, 0.05 - math.sqrt(0.0080), 0.05 + math.sqrt(0.0136))
    assert result == pytest.approx(expected, abs=1e-12)


@given(estimates, st.floats(-1, 1))
def test_mover_with_a_certain_second_estimate_shifts_the_first(
    a: tuple[float, float, float], certain: float
) -> None:
    difference, low, high = mover_difference(a, (certain, certain, certain))
    assert (difference, low, high) == pytest.approx(
        (a[0] - certain, a[1] - certain, a[2] - certain), abs=1e-12
    )


@given(estimates, estimates)
def test_mover_holds_the_difference(
    a: tuple[float, float, float], b: tuple[float, float, float]
) -> None:
    difference, low, high = mover_difference(a, b)
    assert low <= difference <= high


@given(counts(), counts())
def test_mover_of_two_wilson_intervals_is_newcombe(
    first: tuple[int, int], second: tuple[int, int]
) -> None:
    (x1, n1), (x2, n2) = first, second
    a = (x1 / n1, *wilson_interval(x1, n1))
    b = (x2 / n2, *wilson_interval(x2, n2))
    assert mover_difference(a, b) == pytest.approx(newcombe_difference(x1, n1, x2, n2), abs=1e-12)


def test_mover_refuses_an_interval_that_does_not_hold_its_estimate() -> None:
    with pytest.raises(ValueError, match="must hold its estimate"):
        mover_difference((0.5, 0.6, 0.7), (0.1, 0.0, 0.2))


# --------------------------------------------------------------------------- weights


def test_kish_effective_base_by_hand() -> None:
    # (Σ w n)^2 / Σ w^2 n = (2*10 + 0.5*20)^2 / (4*10 + 0.25*20) = 900 / 45 = 20
    assert kish_effective_base([(2.0, 10), (0.5, 20)]) == pytest.approx(20.0, abs=1e-12)
    # one cell: any weight gives back its respondents
    assert kish_effective_base([(3.7, 12)]) == pytest.approx(12.0, abs=1e-12)
    assert kish_effective_base([]) == 0.0
    assert kish_effective_base([(1.5, 0)]) == 0.0


@given(st.floats(0.01, 100), st.lists(st.integers(0, 500), max_size=20))
def test_kish_with_equal_weights_is_the_number_of_respondents(
    weight: float, respondents: list[int]
) -> None:
    assert kish_effective_base((weight, n) for n in respondents) == pytest.approx(
        sum(respondents), rel=1e-12
    )


@given(st.lists(st.tuples(st.floats(0.01, 100), st.integers(0, 500)), max_size=20))
def test_kish_never_exceeds_the_number_of_respondents(cells: list[tuple[float, int]]) -> None:
    assert kish_effective_base(cells) <= sum(n for _, n in cells) * (1 + 1e-12)


@pytest.mark.parametrize("weight", [0.0, -1.0, math.inf])
def test_kish_refuses_a_weight_that_is_not_positive(weight: float) -> None:
    with pytest.raises(ValueError, match="weight"):
        kish_effective_base([(1.0, 5), (weight, 5)])


def test_kish_refuses_negative_respondents() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        kish_effective_base([(1.0, -5)])


def test_cell_weights_by_hand() -> None:
    # N = 1000, n = 50: w_a = (600/1000) / (20/50) = 1.5, w_b = (400/1000) / (30/50) = 2/3
    weights = cell_weights({"a": 600, "b": 400}, {"a": 20, "b": 30})
    assert weights == pytest.approx({"a": 1.5, "b": 2 / 3}, abs=1e-12)
    assert weights["a"] * 20 + weights["b"] * 30 == pytest.approx(50.0, abs=1e-12)
    # Kish over them: 50^2 / (1.5^2 * 20 + (2/3)^2 * 30) = 2500 / (175/3) = 300/7
    cells = [(weights[k], n) for k, n in {"a": 20, "b": 30}.items()]
    assert kish_effective_base(cells) == pytest.approx(300 / 7, abs=1e-9)


def test_cell_weights_leave_out_population_cells_without_respondents_and_rescale() -> None:
    # c has no respondent: N counts a and b only, so the weights are those above.
    weights = cell_weights(
        {("burglary", "north"): 600, ("burglary", "south"): 400, ("vehicle", "north"): 1000},
        {("burglary", "north"): 20, ("burglary", "south"): 30, ("vehicle", "north"): 0},
    )
    assert weights == pytest.approx(
        {("burglary", "north"): 1.5, ("burglary", "south"): 2 / 3}, abs=1e-12
    )


def test_cell_weights_refuse_respondents_the_population_does_not_have() -> None:
    with pytest.raises(ValueError, match="no population"):
        cell_weights({"a": 100}, {"a": 10, "b": 3})


def test_cell_weights_refuse_negative_counts() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        cell_weights({"a": -100}, {"a": 10})
    with pytest.raises(ValueError, match="must not be negative"):
        cell_weights({"a": 100}, {"a": -10})


def test_cell_weights_of_no_respondents_are_none() -> None:
    assert cell_weights({"a": 100}, {}) == {}


cell_counts = st.dictionaries(
    st.integers(0, 30), st.tuples(st.integers(1, 5000), st.integers(1, 300)), min_size=1
)


@given(cell_counts)
def test_cell_weights_add_up_to_the_respondents(cells: dict[int, tuple[int, int]]) -> None:
    population = {k: big for k, (big, _) in cells.items()}
    respondents = {k: small for k, (_, small) in cells.items()}
    weights = cell_weights(population, respondents)
    total = sum(weights[k] * n for k, n in respondents.items())
    assert total == pytest.approx(sum(respondents.values()), rel=1e-12)


@given(st.lists(st.integers(1, 300), min_size=1, max_size=20), st.integers(1, 50))
def test_cell_weights_of_a_sample_in_proportion_are_one_and_lose_nothing(
    respondents: list[int], scale: int
) -> None:
    weights = cell_weights(
        {k: n * scale for k, n in enumerate(respondents)}, dict(enumerate(respondents))
    )
    assert all(w == pytest.approx(1.0, rel=1e-12) for w in weights.values())
    effective = kish_effective_base((weights[k], n) for k, n in enumerate(respondents))
    assert effective == pytest.approx(sum(respondents), rel=1e-12)


def test_weighted_proportion_is_wilson_at_the_effective_base() -> None:
    # 0.75 of the weight is positive; 300/7 effective respondents
    p, low, high = weighted_proportion(37.5, 50.0, 300 / 7)
    assert p == 0.75
    expected = proportion_confint(0.75 * 300 / 7, 300 / 7, method="wilson")
    assert (low, high) == pytest.approx(expected, abs=STATSMODELS)


def test_weighted_proportion_of_nothing_is_zero_and_rounding_is_not_an_error() -> None:
    assert weighted_proportion(0.0, 0.0, 0.0) == (0.0, 0.0, 0.0)
    p, _, high = weighted_proportion(50.0 + 1e-12, 50.0, 40.0)
    assert p == 1.0 and high == 1.0


@pytest.mark.parametrize(
    ("positive", "total", "base", "message"),
    [
        (60.0, 50.0, 40.0, "must not be more than total_weight"),
        (-1.0, 50.0, 40.0, "positive_weight must not be negative"),
        (10.0, 50.0, -4.0, "effective_base must not be negative"),
    ],
)
def test_weighted_proportion_refuses_impossible_weights(
    positive: float, total: float, base: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        weighted_proportion(positive, total, base)


@settings(max_examples=200)
@given(
    st.floats(0, 1),
    st.floats(0.001, 1e6),
    st.floats(0.5, 5000),
)
def test_weighted_proportion_holds_its_estimate(
    share: float, total: float, effective_base: float
) -> None:
    p, low, high = weighted_proportion(share * total, total, effective_base)
    assert 0.0 <= low <= p <= high <= 1.0


# --------------------------------------------------------------------------- median


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), ([3.0], 3.0), ([3.0, 1.0, 2.0], 2.0), ([4.0, 1.0, 3.0, 2.0], 2.5)],
)
def test_median(values: list[float], expected: float | None) -> None:
    assert median(values) == expected


def test_median_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        median([1.0, math.nan])


def test_a_tiny_weighted_share_is_inside_its_own_interval():
    # Found by hypothesis: p * n / n came back a last bit above p.
    p, low, high = weighted_proportion(6.2113242154291036e-148, 1.0, 2370.33530773425)
    assert low <= p <= high
