"""Raking: weights that make the respondents match the population on several margins at
once (age band by sex, ethnicity, area), when the full cross of them is not known or has
too few respondents per cell to post-stratify.

Iterative proportional fitting (Deming and Stephan 1940): each margin in turn scales the
weights of its groups to their population shares, round after round, until every margin
holds. The weights then reach the one solution of minimum raking distance from equal
weights that meets all the margins; the tests check it against that solution found
another way (Newton's method on the calibration equations).

Trimming is bounded raking: every weight is held between ``floor`` and ``cap`` times the
mean weight at every step, a group's factor found so that its clipped weights still reach
the group's share, and the weights a bound holds back leave their share to the others.
So a few respondents in a rare group cannot carry the estimate, and no weight ever passes
the cap. When the bounds make a margin unreachable, the result says by how much it is
missed (``largest_gap``) rather than hiding it.

Respondents who did not state a margin's group ("prefer not to say") are not moved by
that margin: the stated groups share what is left in their population proportions. A
group with a population share but no respondents cannot be reached; it is named in
``unreachable`` and the reachable groups share its part.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Margin", "Raking", "RakingError", "rake"]

#: A respondent profile: their group on each margin, in the margins' order (None: not stated).
Profile = tuple[Hashable | None, ...]


class RakingError(ValueError):
    """The margins or the respondents cannot be raked (said in words)."""


@dataclass(frozen=True)
class Margin:
    """One margin: the population share of each of its groups (shares add up to 1)."""

    dimension: str
    shares: Mapping[Hashable, float]

    def __post_init__(self) -> None:
        if not self.shares:
            raise RakingError(f"margin {self.dimension!r} has no groups")
        for group, share in self.shares.items():
            if not (math.isfinite(share) and share >= 0):
                raise RakingError(
                    f"margin {self.dimension!r}: the share of {group!r} must be a number "
                    f"from 0 to 1, not {share}"
                )
        total = sum(self.shares.values())
        if abs(total - 1) > 1e-6:
            raise RakingError(f"margin {self.dimension!r}: the shares add up to {total:.6f}, not 1")


@dataclass(frozen=True)
class Raking:
    """Raked weights per respondent profile (mean weight 1 over respondents) and how
    well they meet the margins."""

    dimensions: tuple[str, ...]
    weights: dict[Profile, float]
    counts: dict[Profile, int]
    iterations: int
    converged: bool
    #: Respondents whose weight ended at the cap or the floor.
    trimmed: int
    #: The largest difference, in percentage points, between a group's weighted share of
    #: its stated respondents and its population share (after trimming).
    largest_gap: float
    #: Per margin, the groups with a population share and no respondents.
    unreachable: dict[str, tuple[Hashable, ...]] = field(default_factory=dict)

    def weight(self, profile: Profile) -> float:
        return self.weights[profile]

    @property
    def respondents(self) -> int:
        return sum(self.counts.values())

    @property
    def effective_base(self) -> float:
        """Kish's effective base, (Σw)² / Σw²: the unweighted respondents that would give
        the same precision."""
        total = sum(self.counts[p] * w for p, w in self.weights.items())
        squares = sum(self.counts[p] * w * w for p, w in self.weights.items())
        return 0.0 if squares == 0 else total * total / squares

    @property
    def design_effect(self) -> float:
        """Kish's design effect of the weighting, n / effective base (1: no loss)."""
        effective = self.effective_base
        return 1.0 if effective == 0 else self.respondents / effective


def rake(
    counts: Mapping[Profile, int],
    margins: Sequence[Margin],
    *,
    cap: float = 5.0,
    floor: float = 0.2,
    tolerance: float = 1e-9,
    max_iterations: int = 1000,
) -> Raking:
    """Rake respondent ``counts`` (profile -> respondents) to ``margins``.

    ``cap`` and ``floor`` bound each weight relative to the mean weight (1); use
    ``math.inf`` and 0 for raking without trimming.
    """
    if not margins:
        raise RakingError("raking needs at least one margin")
    names = [m.dimension for m in margins]
    if len(set(names)) != len(names):
        raise RakingError(f"a margin is given twice: {names}")
    if not (floor < 1 < cap):
        raise RakingError(f"the floor ({floor}) must be below 1 and the cap ({cap}) above it")
    for profile, n in counts.items():
        if len(profile) != len(margins):
            raise RakingError(
                f"profile {profile!r} has {len(profile)} groups; there are {len(margins)} margins"
            )
        if n < 0:
            raise RakingError(f"profile {profile!r} has a negative count ({n})")
    present = {p: n for p, n in counts.items() if n > 0}
    if not present:
        raise RakingError("there are no respondents to weight")

    targets, unreachable = _reachable_targets(present, margins)
    # Every margin hands out the stated respondents' current total, so the total stays n
    # and the bounds can be held as absolute weights throughout.
    weights = dict.fromkeys(present, 1.0)
    iterations, converged = _fit(present, targets, weights, floor, cap, tolerance, max_iterations)
    _to_mean_one_within(present, weights, floor, cap)
    trimmed = sum(
        present[p] for p, w in weights.items() if w >= cap * (1 - 1e-12) or w <= floor * (1 + 1e-12)
    )
    return Raking(
        dimensions=tuple(names),
        weights=weights,
        counts=present,
        iterations=iterations,
        converged=converged,
        trimmed=trimmed,
        largest_gap=100 * _largest_gap(present, targets, weights),
        unreachable=unreachable,
    )


def _reachable_targets(
    counts: Mapping[Profile, int], margins: Sequence[Margin]
) -> tuple[list[dict[Hashable, float]], dict[str, tuple[Hashable, ...]]]:
    """Each margin's shares over the groups that have respondents, adding up to 1."""
    targets: list[dict[Hashable, float]] = []
    unreachable: dict[str, tuple[Hashable, ...]] = {}
    for i, margin in enumerate(margins):
        seen = {p[i] for p in counts}
        reachable = {g: s for g, s in margin.shares.items() if g in seen and s > 0}
        missing = tuple(g for g, s in margin.shares.items() if g not in seen and s > 0)
        if missing:
            unreachable[margin.dimension] = missing
        stranded = [g for g in seen if g is not None and g in margin.shares and g not in reachable]
        if stranded:
            raise RakingError(
                f"margin {margin.dimension!r}: respondents in {stranded!r}, a group with no "
                "population share"
            )
        total = sum(reachable.values())
        if total == 0:
            raise RakingError(f"margin {margin.dimension!r}: no respondent is in any of its groups")
        targets.append({g: s / total for g, s in reachable.items()})
    return targets, unreachable


def _fit(
    counts: Mapping[Profile, int],
    targets: Sequence[Mapping[Hashable, float]],
    weights: dict[Profile, float],
    floor: float,
    cap: float,
    tolerance: float,
    max_iterations: int,
) -> tuple[int, bool]:
    """Iterative proportional fitting in place, each weight kept in [floor, cap]; (sweeps
    used, whether every margin holds). When the bounds make a margin unreachable the
    sweeps stop once the weights stop moving."""
    members = [_groups(weights, i, target) for i, target in enumerate(targets)]
    for sweep in range(1, max_iterations + 1):
        before = dict(weights)
        for i, target in enumerate(targets):
            totals = _group_totals(counts, weights, i)
            stated = sum(totals.get(g, 0.0) for g in target)
            for group, share in target.items():
                _scale_group(counts, weights, members[i][group], stated * share, floor, cap)
        gap = _largest_gap(counts, targets, weights)
        if gap <= tolerance:
            return sweep, True
        if max(abs(weights[p] - w) for p, w in before.items()) <= tolerance * 1e-3:
            return sweep, False
    return max_iterations, False


def _groups(
    weights: Mapping[Profile, float], i: int, target: Mapping[Hashable, float]
) -> dict[Hashable, list[Profile]]:
    groups: dict[Hashable, list[Profile]] = {g: [] for g in target}
    for profile in weights:
        if profile[i] in groups:
            groups[profile[i]].append(profile)
    return groups


def _scale_group(
    counts: Mapping[Profile, int],
    weights: dict[Profile, float],
    profiles: Sequence[Profile],
    wanted: float,
    floor: float,
    cap: float,
) -> None:
    """Scale one group's weights by the factor f that brings its total to ``wanted``, each
    weight clipped to [floor, cap]: Σ n·clip(w·f) is nondecreasing in f, so f is found by
    bisection when clipping binds (at the bound when even that cannot reach it)."""
    current = sum(counts[p] * weights[p] for p in profiles)
    f = wanted / current
    if all(floor <= weights[p] * f <= cap for p in profiles):
        for p in profiles:
            weights[p] *= f
        return

    def total(factor: float) -> float:
        return sum(counts[p] * min(cap, max(floor, weights[p] * factor)) for p in profiles)

    low = min(floor / weights[p] for p in profiles)
    high = max(cap / weights[p] for p in profiles)
    for _ in range(200):
        middle = (low + high) / 2
        if total(middle) < wanted:
            low = middle
        else:
            high = middle
    for p in profiles:
        weights[p] = min(cap, max(floor, weights[p] * high))


def _group_totals(
    counts: Mapping[Profile, int], weights: Mapping[Profile, float], i: int
) -> dict[Hashable | None, float]:
    totals: dict[Hashable | None, float] = {}
    for profile, w in weights.items():
        totals[profile[i]] = totals.get(profile[i], 0.0) + counts[profile] * w
    return totals


def _to_mean_one_within(
    counts: Mapping[Profile, int], weights: dict[Profile, float], floor: float, cap: float
) -> None:
    """Scale the weights to mean 1 while keeping them in [floor, cap]: the weights a bound
    holds back leave their share to the others (scale, clip, again, until it settles)."""
    n = sum(counts.values())
    for _ in range(10_000):
        total = sum(counts[p] * w for p, w in weights.items())
        if abs(total - n) <= 1e-12 * n:
            return
        factor = n / total
        moved = False
        for profile, w in weights.items():
            scaled = min(cap, max(floor, w * factor))
            moved = moved or scaled != w
            weights[profile] = scaled
        if not moved:
            return


def _largest_gap(
    counts: Mapping[Profile, int],
    targets: Sequence[Mapping[Hashable, float]],
    weights: Mapping[Profile, float],
) -> float:
    gap = 0.0
    for i in range(len(targets)):
        totals = _group_totals(counts, weights, i)
        stated = sum(totals.get(g, 0.0) for g in targets[i])
        for group, share in targets[i].items():
            gap = max(gap, abs(totals[group] / stated - share))
    return gap
