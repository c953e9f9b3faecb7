"""The statistics behind the survey figures: intervals for a share, for the difference of
two shares, for a difference of two differences, and the cell weights with their
effective base.

Every interval here is a closed form, so a figure in the report can be recomputed by
hand (or with statsmodels) from the counts beside it:

- a share: the Wilson score interval without continuity correction (Newcombe 1998,
  "Two-sided confidence intervals for the single proportion", method 3), which stays
  inside 0..1 and behaves at small bases and at 0% or 100%, where the textbook
  p +/- z*sqrt(p(1-p)/n) does not;
- a change or a gap between two independent shares: Newcombe's hybrid score interval
  (Newcombe 1998, "Interval estimation for the difference between independent
  proportions", method 10), the two Wilson intervals combined by "square-and-add";
- a difference of two independent estimates that already have intervals (the change of
  the ethnicity gap, itself a difference): MOVER, the same square-and-add, as Zou and
  Donner (2008) generalised it;
- a weighted share: the Wilson interval at Kish's effective base, the number of
  unweighted respondents that would give the weighted estimate the same precision.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

__all__ = [
    "Z95",
    "cell_weights",
    "kish_effective_base",
    "median",
    "mover_difference",
    "newcombe_difference",
    "weighted_proportion",
    "wilson_interval",
]

#: The standard normal quantile for a two-sided 95% interval, Φ⁻¹(0.975), to double
#: precision (scipy.stats.norm.isf(0.025)); 1.96 would shift the fourth decimal.
Z95 = 1.959963984540054

K = TypeVar("K", bound=Hashable)

#: Sums of the same weights taken in another order can differ in the last bits: a
#: weighted positive a hair over its total is rounding, not an impossible count.
_ROUNDING = 1e-9


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value}")


def _check_z(z: float) -> None:
    _finite("z", z)
    if z <= 0:
        raise ValueError(f"z must be positive, not {z}")


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n``, as (low, high) in 0..1.

    (0.0, 0.0) when ``n`` is 0: there is no share to put an interval round. Counts may be
    fractional (a weighted count at an effective base). Negative counts, more successes
    than ``n`` and a z that is not positive are errors.
    """
    _finite("successes", successes)
    _finite("n", n)
    _check_z(z)
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    if successes < 0:
        raise ValueError(f"successes must not be negative, not {successes}")
    if successes > n:
        raise ValueError(f"successes ({successes}) must not be more than n ({n})")
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0% the low end is exactly 0 and at 100% the high end exactly 1; rounding would
    # otherwise leave an end a hair outside the unit interval or short of the estimate
    # (the interval always holds p; the min and max only undo rounding).
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return (low, high)


def _check_estimate(name: str, estimate: tuple[float, float, float]) -> None:
    value, low, high = estimate
    for part, number in (("estimate", value), ("low", low), ("high", high)):
        _finite(f"{name} {part}", number)
    if not low <= value <= high:
        raise ValueError(f"{name}: the interval ({low}, {high}) must hold its estimate {value}")


def mover_difference(
    a: tuple[float, float, float], b: tuple[float, float, float]
) -> tuple[float, float, float]:
    """``a`` minus ``b`` with its interval, each given as (estimate, low, high), by MOVER.

    The two estimates must be independent (different interviews). Zou and Donner's
    method of variance estimates recovery takes each side's distance from its estimate
    to the end that matters: the low end of a - b combines how far a may fall and how far
    b may rise, and the high end the other way round:

        low  = (a - b) - sqrt((a - a_low)^2 + (b_high - b)^2)
        high = (a - b) + sqrt((a_high - a)^2 + (b - b_low)^2)
    """
    _check_estimate("a", a)
    _check_estimate("b", b)
    est_a, low_a, high_a = a
    est_b, low_b, high_b = b
    difference = est_a - est_b
    low = difference - math.sqrt((est_a - low_a) ** 2 + (high_b - est_b) ** 2)
    high = difference + math.sqrt((high_a - est_a) ** 2 + (est_b - low_b) ** 2)
    return (difference, low, high)


def _check_counts(x: int, n: int, which: str) -> None:
    if n <= 0:
        raise ValueError(f"n{which} must be positive, not {n}: a share needs a base")
    if not 0 <= x <= n:
        raise ValueError(f"x{which} ({x}) must be between 0 and n{which} ({n})")


def newcombe_difference(
    x1: int, n1: int, x2: int, n2: int, z: float = Z95
) -> tuple[float, float, float]:
    """p1 - p2 = x1/n1 - x2/n2 with its interval, as (difference, low, high) in -1..1.

    Newcombe's method 10 (the hybrid score interval): the Wilson intervals of the two
    shares, combined by square-and-add (``mover_difference``). Both bases must be
    positive; a change against an empty quarter has no interval.
    """
    _check_counts(x1, n1, "1")
    _check_counts(x2, n2, "2")
    _check_z(z)
    p1, p2 = x1 / n1, x2 / n2
    difference, low, high = mover_difference(
        (p1, *wilson_interval(x1, n1, z)), (p2, *wilson_interval(x2, n2, z))
    )
    # Each Wilson end is inside 0..1, so the ends are inside -1..1 but for rounding.
    return (difference, max(-1.0, low), min(1.0, high))


def weighted_proportion(
    positive_weight: float, total_weight: float, effective_base: float, z: float = Z95
) -> tuple[float, float, float]:
    """The weighted share positive_weight / total_weight, as (p, low, high) in 0..1.

    The interval is Wilson's at the Kish ``effective_base`` (the weighted share counted as
    if it came from that many unweighted respondents). (0.0, 0.0, 0.0) when there is no
    weight or no effective base.
    """
    for name, value in (
        ("positive_weight", positive_weight),
        ("total_weight", total_weight),
        ("effective_base", effective_base),
    ):
        _finite(name, value)
        if value < 0:
            raise ValueError(f"{name} must not be negative, not {value}")
    _check_z(z)
    if positive_weight > total_weight * (1 + _ROUNDING):
        raise ValueError(
            f"positive_weight ({positive_weight}) must not be more than "
            f"total_weight ({total_weight})"
        )
    if total_weight == 0 or effective_base == 0:
        return (0.0, 0.0, 0.0)
    p = min(1.0, positive_weight / total_weight)
    low, high = wilson_interval(p * effective_base, effective_base, z)
    # p * n / n can come back a last bit away from p (a share of 6e-148 did): the interval
    # holds its estimate, always.
    return (p, min(low, p), max(high, p))


def kish_effective_base(cells: Iterable[tuple[float, int]]) -> float:
    """Kish's effective base of respondents weighted by cell: (Σ w n)² / Σ w² n.

    ``cells`` are (weight, respondents) pairs. Equal weights give back the number of
    respondents; the more the weights vary, the smaller the base. 0.0 with no respondents.
    """
    weighted = 0.0
    squared = 0.0
    for weight, respondents in cells:
        _finite("weight", weight)
        if weight <= 0:
            raise ValueError(f"a cell weight must be positive, not {weight}")
        if respondents < 0:
            raise ValueError(f"a cell's respondents must not be negative, not {respondents}")
        weighted += weight * respondents
        squared += weight * weight * respondents
    if squared == 0:
        return 0.0
    return weighted * weighted / squared


def cell_weights(population: Mapping[K, int], respondents: Mapping[K, int]) -> dict[K, float]:
    """Each respondent cell's weight, w_c = (N_c / N) / (n_c / n), keyed as the counts are.

    Post-stratification: a cell's respondents stand for its share of the population. Only
    cells with respondents get a weight; population cells without any are the caller's to
    report (no weight can reach them), and N counts only the cells with respondents, so
    that the weights add up to the respondents: Σ w_c n_c = n. A respondent cell the
    population does not have cannot be weighted and is an error: leave such cells out
    (and report them) before asking.
    """
    for what, counts in (("population", population), ("respondents", respondents)):
        for cell, count in counts.items():
            if count < 0:
                raise ValueError(f"{what} of cell {cell!r} must not be negative, not {count}")
    answered = {cell: count for cell, count in respondents.items() if count > 0}
    for cell in answered:
        if population.get(cell, 0) <= 0:
            raise ValueError(f"cell {cell!r} has respondents but no population to weight them to")
    n = sum(answered.values())
    covered = sum(population[cell] for cell in answered)
    return {cell: (population[cell] / covered) * (n / count) for cell, count in answered.items()}


def median(values: Sequence[float]) -> float | None:
    """The median (the mean of the middle two for an even count), None with no values."""
    if not values:
        return None
    for value in values:
        if math.isnan(value):
            raise ValueError("the values must not include NaN")
    return float(statistics.median(values))
