"""Planning a survey of the public: how many numbers to release each week in an area to
reach the year's target, from the yield its released numbers have given so far, and when
the sample will run out at that rate.

A number's yield is only known once its calling is over, so the estimate uses the
numbers whose calling has ended: interviews per finished number. Until enough have
ended, an assumed yield (the force's expectation, e.g. from the previous year) is blended
in, weighted as if it were ``prior_weight`` finished numbers, so the first week's plan is
neither wild nor stuck at the guess for ever.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ReleasePlan", "plan_release"]


@dataclass(frozen=True)
class ReleasePlan:
    """One area's plan from today to the end of the year."""

    #: Interviews still wanted this year.
    remaining: int
    #: Interviews per released number, estimated.
    yield_per_number: float
    #: Numbers to release each week from now on (0 when the target is met).
    per_week: int
    #: Numbers the rest of the year needs in all, and how many the sample still has.
    needed: int
    available: int
    #: The sample runs out before the year's end at this rate: the week it would.
    runs_out_in_week: int | None

    @property
    def warning(self) -> str | None:
        if self.runs_out_in_week is None:
            return None
        return (
            f"the sample runs out in week {self.runs_out_in_week}: {self.needed:,} more numbers "
            f"are needed and {self.available:,} are left"
        )


def plan_release(
    *,
    target: int,
    achieved: int,
    finished_numbers: int,
    interviews_from_finished: int,
    available: int,
    weeks_left: int,
    assumed_yield: float,
    prior_weight: int = 200,
    cells: Sequence[tuple[int, float]] = (),
) -> ReleasePlan:
    """The weekly release that reaches ``target`` by the year's end.

    ``cells`` are the quota cells still short: (interviews still wanted in the cell, the
    cell's share of the respondents the numbers reach). Numbers are drawn at random, so a
    cell that is a small share of them needs many numbers for its few interviews: the
    plan releases enough for the cell that needs the most, not just for the total.

    ``finished_numbers`` released numbers have ended their calling and given
    ``interviews_from_finished`` interviews; ``available`` numbers have not been released.
    """
    for name, value in (
        ("target", target),
        ("achieved", achieved),
        ("finished_numbers", finished_numbers),
        ("interviews_from_finished", interviews_from_finished),
        ("available", available),
        ("prior_weight", prior_weight),
    ):
        if value < 0:
            raise ValueError(f"{name} must not be negative, not {value}")
    if interviews_from_finished > finished_numbers:
        raise ValueError("a finished number gives at most one interview")
    if weeks_left < 1:
        raise ValueError(f"weeks_left must be at least 1, not {weeks_left}")
    if not 0 < assumed_yield <= 1:
        raise ValueError(f"assumed_yield must be above 0 and at most 1, not {assumed_yield}")

    observed = interviews_from_finished + assumed_yield * prior_weight
    yield_per_number = observed / (finished_numbers + prior_weight)
    remaining = max(0, target - achieved)
    needed = math.ceil(remaining / yield_per_number) if remaining else 0
    for short, share in cells:
        if short > 0 and share > 0:
            needed = max(needed, math.ceil(short / (yield_per_number * share)))
    per_week = math.ceil(needed / weeks_left)
    runs_out = None
    if needed > available:
        runs_out = available // per_week + 1 if per_week else None
    return ReleasePlan(remaining, yield_per_number, per_week, needed, available, runs_out)
