"""Quota rules as pure functions: targets add up, no cell is ever filled past its target,
and progress reads the calendar."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.campaigns.quotas import (
    QuotaPlan,
    apportion,
    decide,
    full_cells,
    open_areas,
    progress,
    respondent_cells,
)

AREAS = ("Hartlepool", "Middlesbrough", "Redcar and Cleveland", "Stockton-on-Tees")
AGE_SEX = {"16-34 female": 0.15, "16-34 male": 0.15, "35-64 female": 0.25, "35-64 male": 0.24}
AGE_SEX |= {"65+ female": 0.12, "65+ male": 0.09}
ETHNICITY = {"white": 0.9, "asian": 0.06, "black": 0.01, "mixed": 0.02, "other": 0.01}


def _plan() -> QuotaPlan:
    return QuotaPlan(
        area_targets=dict.fromkeys(AREAS, 600),
        shares={area: {"age_sex": AGE_SEX, "ethnicity": ETHNICITY} for area in AREAS},
    )


@given(
    total=st.integers(0, 10_000),
    shares=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12).filter(lambda s: sum(s) > 0),
)
def test_apportioned_numbers_add_up_and_each_is_its_quota_rounded(total, shares):
    keyed = dict(enumerate(shares))
    given_ = apportion(total, keyed)
    assert sum(given_.values()) == total
    weight = sum(shares)
    for key, n in given_.items():
        exact = total * keyed[key] / weight
        assert math.floor(exact) <= n <= math.ceil(exact)


def test_the_year_is_600_per_area_spread_over_quarters_and_by_population_share():
    plan = _plan()
    year = plan.year_targets()
    assert all(year[(a, "area", a)] == 600 for a in AREAS)
    assert sum(year[("Hartlepool", "age_sex", g)] for g in AGE_SEX) == 600
    assert year[("Hartlepool", "ethnicity", "white")] == 540
    quarters = [plan.targets_to(q)[("Hartlepool", "area", "Hartlepool")] for q in (1, 2, 3, 4)]
    assert quarters == [150, 300, 450, 600]
    assert plan.targets_to(4) == year
    with pytest.raises(ValueError, match="quarter must be 1 to 4"):
        plan.targets_to(5)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), quarter=st.integers(1, 4))
def test_no_cell_is_ever_filled_past_its_target(seed, quarter):
    # Respondents arrive at random (some groups far more often than their share): each is
    # taken only when the quotas allow, and then counts in every one of their cells.
    rng = random.Random(seed)
    plan = _plan()
    targets = plan.targets_to(quarter)
    achieved: dict = {}
    taken = refused = 0
    for _ in range(4000):
        area = rng.choice(AREAS)
        groups = {
            "age_sex": rng.choice([*AGE_SEX, None]),
            "ethnicity": rng.choices([*ETHNICITY, None], weights=[5, 3, 1, 1, 1, 1])[0],
        }
        cells = respondent_cells(area, groups)
        decision = decide(cells, achieved, targets)
        if decision.accepted:
            taken += 1
            for cell in cells:
                achieved[cell] = achieved.get(cell, 0) + 1
        else:
            refused += 1
            assert decision.full and all(achieved[c] >= targets[c] for c in decision.full)
    assert all(achieved.get(cell, 0) <= target for cell, target in targets.items())
    assert taken and refused
    # An area is open to the dialler exactly while its own total has room.
    for area in AREAS:
        has_room = achieved.get((area, "area", area), 0) < targets[(area, "area", area)]
        assert (area in open_areas(achieved, targets)) == has_room
    assert full_cells(achieved, targets) == {
        c for c, t in targets.items() if achieved.get(c, 0) >= t
    }


def test_a_group_without_a_target_never_closes():
    targets = {("A", "area", "A"): 10, ("A", "ethnicity", "white"): 0}
    assert not decide([("A", "area", "A"), ("A", "ethnicity", None)], {}, targets).full
    assert decide([("A", "ethnicity", "white")], {}, targets).full == (("A", "ethnicity", "white"),)


@pytest.mark.parametrize(
    ("achieved", "today", "status"),
    [
        (150, date(2026, 6, 30), "on track"),  # half the year, half the target
        (140, date(2026, 6, 30), "on track"),  # within 10% of where it should be
        (100, date(2026, 6, 30), "behind"),
        (300, date(2026, 6, 30), "met"),
        (0, date(2026, 1, 1), "on track"),  # one day in: nothing much is due yet
    ],
)
def test_progress_reads_the_calendar(achieved, today, status):
    line = progress(achieved, 300, start=date(2026, 1, 1), end=date(2026, 12, 31), today=today)
    assert line.status == status
    assert line.expected == pytest.approx(300 * ((today - date(2026, 1, 1)).days + 1) / 365)
