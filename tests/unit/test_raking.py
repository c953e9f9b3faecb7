"""Raking: a worked example solved by hand, the same weights as an independent solver on
random data, and the trimming, not-stated and unreachable rules."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares

from ivr.results.raking import Margin, RakingError, rake

NO_TRIM = {"cap": math.inf, "floor": 0.0}


def test_a_two_by_two_table_rakes_to_the_hand_worked_solution():
    # 100 respondents: men young 20, men old 30, women young 30, women old 20. Population:
    # half men, 40% young. Raking keeps the sample's odds ratio (20*20)/(30*30) = 4/9 while
    # meeting the margins, so the raked young men x solve
    #   x (10 + x) / ((50 - x)(40 - x)) = 4/9, i.e. x^2 + 90x - 1600 = 0.
    counts = {("m", "young"): 20, ("m", "old"): 30, ("f", "young"): 30, ("f", "old"): 20}
    margins = [Margin("sex", {"m": 0.5, "f": 0.5}), Margin("age", {"young": 0.4, "old": 0.6})]
    raking = rake(counts, margins, **NO_TRIM)

    x = (-90 + math.sqrt(90**2 + 4 * 1600)) / 2  # 15.2079...
    raked = {p: counts[p] * raking.weight(p) for p in counts}
    assert raked[("m", "young")] == pytest.approx(x, abs=1e-6)
    assert raked[("m", "old")] == pytest.approx(50 - x, abs=1e-6)
    assert raked[("f", "young")] == pytest.approx(40 - x, abs=1e-6)
    assert raked[("f", "old")] == pytest.approx(10 + x, abs=1e-6)
    assert raking.converged and raking.largest_gap < 1e-6 and raking.trimmed == 0
    # Kish: (Σw)² / Σw² over the 100 respondents.
    w = [raking.weight(p) for p in counts for _ in range(counts[p])]
    assert raking.effective_base == pytest.approx(sum(w) ** 2 / sum(v * v for v in w))
    assert raking.design_effect == pytest.approx(100 / raking.effective_base)


def _reference_weights(counts, margins):
    """The raking solution found another way: w_p = exp(Σ λ_(margin, group of p)), with the
    λ that make every margin's weighted totals n × its shares (least squares on the
    calibration equations)."""
    profiles = list(counts)
    n = sum(counts.values())
    keys = [(i, g) for i, m in enumerate(margins) for g in m.shares]
    index = {k: j for j, k in enumerate(keys)}
    design = np.zeros((len(profiles), len(keys)))
    for r, p in enumerate(profiles):
        for i, g in enumerate(p):
            design[r, index[(i, g)]] = 1.0
    c = np.array([counts[p] for p in profiles], dtype=float)
    wanted = np.array([n * margins[i].shares[g] for i, g in keys])

    def residuals(lam):
        w = np.exp(design @ lam)
        return (design.T @ (c * w) - wanted) / n

    solution = least_squares(residuals, np.zeros(len(keys)), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    w = np.exp(design @ solution.x)
    return dict(zip(profiles, w, strict=True))


@pytest.mark.parametrize("seed", range(8))
def test_raking_gives_the_weights_an_independent_solver_finds_on_random_data(seed):
    rng = random.Random(seed)
    sizes = [rng.randint(2, 5) for _ in range(3)]
    margins = []
    for d, size in enumerate(sizes):
        raw = [rng.uniform(0.2, 1.0) for _ in range(size)]
        margins.append(Margin(f"d{d}", {f"g{k}": v / sum(raw) for k, v in enumerate(raw)}))
    counts = {}
    for a in range(sizes[0]):
        for b in range(sizes[1]):
            for c in range(sizes[2]):
                counts[(f"g{a}", f"g{b}", f"g{c}")] = rng.randint(1, 60)

    raking = rake(counts, margins, **NO_TRIM)
    reference = _reference_weights(counts, margins)
    n = sum(counts.values())
    scale = n / sum(counts[p] * reference[p] for p in counts)
    for profile in counts:
        assert raking.weight(profile) == pytest.approx(reference[profile] * scale, rel=1e-6)
    assert raking.converged and raking.largest_gap < 1e-6


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=6, max_size=6),
    shares=st.lists(st.floats(0.05, 1.0), min_size=5, max_size=5),
    cap=st.floats(1.5, 6.0),
)
def test_trimmed_weights_stay_inside_their_bounds_and_say_how_far_margins_moved(
    counts, shares, cap
):
    sex = Margin("sex", {"m": shares[0] / sum(shares[:2]), "f": shares[1] / sum(shares[:2])})
    total = sum(shares[2:])
    age = Margin("age", {"a": shares[2] / total, "b": shares[3] / total, "c": shares[4] / total})
    profiles = [(s, a) for s in ("m", "f") for a in ("a", "b", "c")]
    raking = rake(dict(zip(profiles, counts, strict=True)), [sex, age], cap=cap, floor=1 / cap)

    assert all(1 / cap - 1e-12 <= w <= cap + 1e-12 for w in raking.weights.values())
    # The gap it reports is the one a reader would compute from the weights.
    weighted = {p: n * raking.weight(p) for p, n in zip(profiles, counts, strict=True)}
    total_weight = sum(weighted.values())
    gap = max(
        abs(sum(v for p, v in weighted.items() if p[i] == g) / total_weight - share)
        for i, margin in enumerate((sex, age))
        for g, share in margin.shares.items()
    )
    assert raking.largest_gap == pytest.approx(100 * gap, abs=1e-6)
    if raking.trimmed == 0:
        assert raking.largest_gap < 1e-4


def test_a_weight_that_would_pass_the_cap_is_trimmed_and_the_rest_carry_it():
    # Five young people stand for 40% of the population: their raked weight would be 6.
    counts = {("young",): 5, ("old",): 70}
    raking = rake(counts, [Margin("age", {"young": 0.4, "old": 0.6})], cap=5.0, floor=0.2)
    assert raking.weight(("young",)) == pytest.approx(5.0)
    assert raking.trimmed == 5
    assert raking.largest_gap == pytest.approx(100 * (0.4 - 25 / 75), abs=1e-9)


def test_respondents_who_did_not_say_keep_their_share_and_the_rest_meet_the_margin():
    counts = {("m",): 30, ("f",): 60, (None,): 10}
    raking = rake(counts, [Margin("sex", {"m": 0.5, "f": 0.5})], **NO_TRIM)
    weighted = {p: n * raking.weight(p) for p, n in counts.items()}
    assert weighted[(None,)] == pytest.approx(10)
    assert weighted[("m",)] == pytest.approx(45) and weighted[("f",)] == pytest.approx(45)


def test_a_group_with_no_respondents_is_named_and_the_others_share_its_part():
    counts = {("white",): 80, ("asian",): 20}
    margin = Margin("ethnicity", {"white": 0.6, "asian": 0.2, "black": 0.2})
    raking = rake(counts, [margin], **NO_TRIM)
    assert raking.unreachable == {"ethnicity": ("black",)}
    assert 80 * raking.weight(("white",)) == pytest.approx(75)
    assert 20 * raking.weight(("asian",)) == pytest.approx(25)


@pytest.mark.parametrize(
    ("margins", "words"),
    [
        ([Margin("sex", {"m": 0.5, "f": 0.5}), Margin("sex", {"m": 0.5, "f": 0.5})], "twice"),
        ([], "at least one margin"),
    ],
)
def test_margins_that_cannot_be_raked_are_refused_in_words(margins, words):
    with pytest.raises(RakingError, match=words):
        rake({("m", "m"): 1} if len(margins) == 2 else {(): 1}, margins)


def test_shares_that_do_not_add_up_are_refused():
    with pytest.raises(RakingError, match="add up to 0.900000"):
        Margin("sex", {"m": 0.5, "f": 0.4})
    with pytest.raises(RakingError, match="share of 'f'"):
        Margin("sex", {"m": 1.5, "f": -0.5})
