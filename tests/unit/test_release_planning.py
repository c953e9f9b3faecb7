"""The weekly release of numbers reaches the year's target, and says when the sample will
run out."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.campaigns.planning import plan_release


def test_a_plan_from_the_yield_so_far():
    # 1,800 finished numbers gave 180 interviews (10%); the guess was 8%, worth 200 numbers.
    plan = plan_release(
        target=600,
        achieved=180,
        finished_numbers=1800,
        interviews_from_finished=180,
        available=10_000,
        weeks_left=30,
        assumed_yield=0.08,
    )
    assert plan.yield_per_number == pytest.approx((180 + 0.08 * 200) / 2000)
    assert plan.remaining == 420
    assert plan.needed == math.ceil(420 / plan.yield_per_number) == 4286
    assert plan.per_week == 143
    assert plan.warning is None


def test_a_sample_too_small_for_the_rest_of_the_year_is_warned_of_with_the_week():
    plan = plan_release(
        target=600,
        achieved=100,
        finished_numbers=1000,
        interviews_from_finished=100,
        available=2000,
        weeks_left=20,
        assumed_yield=0.1,
    )
    assert plan.needed == 5000 and plan.per_week == 250
    assert plan.runs_out_in_week == 9
    assert plan.warning == (
        "the sample runs out in week 9: 5,000 more numbers are needed and 2,000 are left"
    )


def test_a_met_target_releases_nothing():
    plan = plan_release(
        target=600,
        achieved=600,
        finished_numbers=6000,
        interviews_from_finished=600,
        available=0,
        weeks_left=5,
        assumed_yield=0.1,
    )
    assert (plan.per_week, plan.needed, plan.warning) == (0, 0, None)


@given(
    target=st.integers(1, 5000),
    achieved=st.integers(0, 5000),
    finished=st.integers(0, 50_000),
    rate=st.floats(0.0, 1.0),
    weeks=st.integers(1, 52),
    assumed=st.floats(0.01, 1.0),
)
def test_releasing_the_plan_every_week_reaches_the_target_at_the_estimated_yield(
    target, achieved, finished, rate, weeks, assumed
):
    plan = plan_release(
        target=target,
        achieved=achieved,
        finished_numbers=finished,
        interviews_from_finished=int(finished * rate),
        available=10**9,
        weeks_left=weeks,
        assumed_yield=assumed,
    )
    assert 0 < plan.yield_per_number <= 1
    assert plan.per_week * weeks * plan.yield_per_number >= plan.remaining - 1e-6


def test_impossible_inputs_are_refused_in_words():
    with pytest.raises(ValueError, match="at most one interview"):
        plan_release(
            target=1,
            achieved=0,
            finished_numbers=1,
            interviews_from_finished=2,
            available=1,
            weeks_left=1,
            assumed_yield=0.1,
        )
    with pytest.raises(ValueError, match="weeks_left must be at least 1"):
        plan_release(
            target=1,
            achieved=0,
            finished_numbers=0,
            interviews_from_finished=0,
            available=1,
            weeks_left=0,
            assumed_yield=0.1,
        )


def test_a_cell_that_is_a_small_share_of_respondents_sets_the_release():
    common = dict(
        target=600,
        achieved=560,
        finished_numbers=5600,
        interviews_from_finished=560,
        available=10**6,
        weeks_left=10,
        assumed_yield=0.1,
        prior_weight=0,
    )
    total_only = plan_release(**common)
    assert total_only.needed == 400  # 40 interviews at one a ten numbers
    # Young women: 8 still wanted, and 2% of the respondents the numbers reach.
    with_cells = plan_release(**common, cells=[(8, 0.02), (3, 0.5)])
    assert with_cells.needed == math.ceil(8 / (0.1 * 0.02)) == 4000
    assert with_cells.per_week == 400
