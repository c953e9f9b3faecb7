"""Statistical disclosure control: what may be shown of a small group.

A cell whose base is under the suppression threshold is never shown: a victim in a small
group could be recognised from it. Suppressing one cell is not enough when its group's
total is shown beside the others: total minus the rest gives it back. So, in every set of
groups that adds up to a shown total, the held-back groups together must reach the
threshold too; the next smallest groups are held back with them until they do
("complementary suppression"). A base under the low-base threshold is shown, marked.
"""

from __future__ import annotations

from collections.abc import Sequence

from ivr.results.model import Proportion, Thresholds
from ivr.results.statistics import wilson_interval

HIDDEN = Proportion(None, None, None, None, None, suppressed=True)


def shown(base: int, positive: int, thresholds: Thresholds) -> Proportion:
    """A share with its Wilson interval, in points, flagged against the thresholds (not
    yet suppressed: :func:`protect` decides that for a set of groups)."""
    if base <= 0:
        return Proportion(0, 0, None, None, None, low_base=True)
    low, high = wilson_interval(positive, base)
    return Proportion(
        base,
        positive,
        100.0 * positive / base,
        100.0 * low,
        100.0 * high,
        low_base=base < thresholds.low_base_below,
    )


def too_small(base: int | None, thresholds: Thresholds) -> bool:
    """Whether a count is under the suppression threshold (an empty group is not: it shows
    nobody)."""
    return base is not None and 0 < base < thresholds.suppress_below


def held_back(
    bases: Sequence[int], thresholds: Thresholds, sizes: Sequence[int] | None = None
) -> set[int]:
    """The indexes of the groups to hold back among groups that add up to a shown total.

    ``sizes`` counts everyone in each group (the base and those outside it: don't know,
    no answer); a group of one who said "don't know" shows that person's answer as surely
    as a base of one. Every group whose base or size is under the threshold is held back,
    and then the smallest others, until the held-back groups together reach it in both.
    """
    sizes = list(bases) if sizes is None else list(sizes)
    hidden = {
        i
        for i in range(len(bases))
        if too_small(bases[i], thresholds) or too_small(sizes[i], thresholds)
    }
    others = sorted(
        (sizes[i], bases[i], i) for i in range(len(bases)) if i not in hidden and sizes[i] > 0
    )

    def leaks() -> bool:
        return too_small(sum(bases[i] for i in hidden), thresholds) or too_small(
            sum(sizes[i] for i in hidden), thresholds
        )

    while hidden and leaks() and others:
        hidden.add(others.pop(0)[2])
    return hidden


def protect(
    figures: Sequence[Proportion], thresholds: Thresholds, sizes: Sequence[int] | None = None
) -> list[Proportion]:
    """The figures of groups that add up to a shown total, with the held-back ones hidden."""
    hidden = held_back([f.base or 0 for f in figures], thresholds, sizes)
    return [HIDDEN if i in hidden else f for i, f in enumerate(figures)]


def protect_one(figure: Proportion, thresholds: Thresholds, size: int | None = None) -> Proportion:
    """A figure shown on its own (an overall figure, a trend point)."""
    small = too_small(figure.base, thresholds) or too_small(size, thresholds)
    return HIDDEN if small else figure
