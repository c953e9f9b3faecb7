"""Quotas for a survey of the public: how many interviews each policing area, and each
group within it, should give by the end of each quarter, whether a respondent's cells
still have room, and whether an area is on track against the calendar.

Pure functions over counts, so the rules can be checked on their own: no cell is ever
filled past its target, the area's targets add up to the year's, and each group's target
follows its population share (the force's ONS figures) by largest remainders, so the
whole numbers add up exactly.

Targets are cumulative within the survey year: a cell is full when what it has achieved
since the year began reaches its target to the end of the current quarter, so a slow
quarter can be made up in the next one, and an early surplus is never taken away.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from ivr.questionnaire.population import AREA, Cell

__all__ = [
    "Cell",
    "Progress",
    "QuotaDecision",
    "QuotaPlan",
    "apportion",
    "decide",
    "full_cells",
    "open_areas",
    "progress",
]

K = TypeVar("K", bound=Hashable)


def apportion(total: int, shares: Mapping[K, float]) -> dict[K, int]:
    """Whole numbers in proportion to ``shares`` that add up to ``total`` exactly
    (largest remainders: each is the exact quota rounded down or up, never further)."""
    if total < 0:
        raise ValueError(f"a total must not be negative, not {total}")
    weight = sum(shares.values())
    if not shares or weight <= 0 or any(s < 0 or not math.isfinite(s) for s in shares.values()):
        raise ValueError("shares must be non-negative numbers that are not all zero")
    exact = {key: total * share / weight for key, share in shares.items()}
    given = {key: math.floor(q) for key, q in exact.items()}
    left = total - sum(given.values())
    # Ties go to the key listed first, so the same figures always give the same targets.
    order = sorted(exact, key=lambda k: -(exact[k] - given[k]))
    for key in order[:left]:
        given[key] += 1
    return given


@dataclass(frozen=True)
class QuotaPlan:
    """A year's targets: interviews per area, and each area's population shares per
    dimension (age band by sex, ethnicity, ...), spread evenly over ``quarters``."""

    area_targets: Mapping[str, int]
    #: area -> dimension -> group -> population share.
    shares: Mapping[str, Mapping[str, Mapping[str, float]]]
    quarters: int = 4

    def __post_init__(self) -> None:
        if self.quarters < 1:
            raise ValueError(f"a year has at least one quarter, not {self.quarters}")
        for area, target in self.area_targets.items():
            if target < 0:
                raise ValueError(f"area {area!r}: a target must not be negative, not {target}")
        for area in self.shares:
            if area not in self.area_targets:
                raise ValueError(f"population shares for {area!r}, which has no target")

    def year_targets(self) -> dict[Cell, int]:
        """Every cell's target for the whole year."""
        targets: dict[Cell, int] = {}
        for area, total in self.area_targets.items():
            targets[(area, AREA, area)] = total
            for dimension, shares in self.shares.get(area, {}).items():
                for group, n in apportion(total, shares).items():
                    targets[(area, dimension, group)] = n
        return targets

    def targets_to(self, quarter: int) -> dict[Cell, int]:
        """Every cell's cumulative target to the end of ``quarter`` (1-based): the year's
        target spread evenly over the quarters, the remainder going to the earliest."""
        if not 1 <= quarter <= self.quarters:
            raise ValueError(f"quarter must be 1 to {self.quarters}, not {quarter}")
        spread = dict.fromkeys(range(1, self.quarters + 1), 1.0)
        return {
            cell: sum(n for q, n in apportion(year, spread).items() if q <= quarter)
            for cell, year in self.year_targets().items()
        }


def respondent_cells(area: str, groups: Mapping[str, str | None]) -> list[Cell]:
    """The cells a respondent counts in: their area's total and, per dimension, their group
    (a dimension they did not state counts in no cell of it)."""
    cells: list[Cell] = [(area, AREA, area)]
    cells += [(area, dim, group) for dim, group in groups.items() if group is not None]
    return cells


def full_cells(achieved: Mapping[Cell, int], targets: Mapping[Cell, int]) -> set[Cell]:
    """The cells whose achieved interviews have reached their target."""
    return {cell for cell, target in targets.items() if achieved.get(cell, 0) >= target}


@dataclass(frozen=True)
class QuotaDecision:
    """Whether a respondent's interview counts toward the quotas; if not, which of their
    cells are full (the survey still asks every quota question before it ends)."""

    accepted: bool
    full: tuple[Cell, ...]


def decide(
    cells: Iterable[Cell], achieved: Mapping[Cell, int], targets: Mapping[Cell, int]
) -> QuotaDecision:
    """A respondent is taken when none of their cells with a target is full. A group with
    no target (not in the force's figures, or "prefer not to say") never closes."""
    full = tuple(c for c in cells if c in targets and achieved.get(c, 0) >= targets[c])
    return QuotaDecision(accepted=not full, full=full)


def open_areas(achieved: Mapping[Cell, int], targets: Mapping[Cell, int]) -> set[str]:
    """The areas whose own total still has room: the dialler draws numbers only there
    (the sample knows a number's area, not the person's age or ethnicity)."""
    return {
        cell[0]
        for cell, target in targets.items()
        if cell[1] == AREA and achieved.get(cell, 0) < target
    }


@dataclass(frozen=True)
class Progress:
    """A cell's achieved interviews against where the calendar says it should be."""

    achieved: int
    target: int
    expected: float
    #: "met", "on track" or "behind".
    status: str


def progress(
    achieved: int,
    target: int,
    *,
    start: date,
    end: date,
    today: date,
    tolerance: float = 0.1,
) -> Progress:
    """``achieved`` against ``target`` for a period from ``start`` to ``end`` (inclusive):
    expected is the target times the share of the period's days gone by ``today``; behind
    is short of it by more than ``tolerance`` (a fraction of the expected) and more than
    one interview, so the first days of a period, when under one is due, never read behind."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    days = (end - start).days + 1
    gone = min(days, max(0, (today - start).days + 1))
    expected = target * gone / days
    if achieved >= target:
        status = "met"
    elif expected - achieved <= max(expected * tolerance, 1.0):
        status = "on track"
    else:
        status = "behind"
    return Progress(achieved, target, expected, status)
