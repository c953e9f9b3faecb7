"""One core question's figures: overall, by group, against earlier quarters, the
ethnicity gap, the trend, and weighted to the eligible sample's mix."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ivr.questionnaire import demographics
from ivr.questionnaire.options import counted_as
from ivr.questionnaire.schema import Questionnaire
from ivr.results import disclosure
from ivr.results.groups import group_label, order
from ivr.results.model import (
    DIMENSION_LABELS,
    DIMENSIONS,
    Breakdown,
    Difference,
    GroupFigure,
    Proportion,
    QuestionResult,
    Thresholds,
    TrendPoint,
)
from ivr.results.response import is_eligible
from ivr.results.statistics import (
    cell_weights,
    kish_effective_base,
    mover_difference,
    newcombe_difference,
    weighted_proportion,
)
from ivr.store import results as store

#: The comparisons a quarter's figures are tested against, in quarters back.
COMPARED = ((1, "the previous quarter"), (4, "the same quarter last year"))
#: The cells weights are made for: the eligible sample's crime type by district mix.
WEIGHT_CELL = ("crime_type", "district")


# --- tallies ------------------------------------------------------------------------------


@dataclass
class Tally:
    """A question's answers in one window and group."""

    positive: int = 0
    negative: int = 0
    not_counted: Counter[str] = field(default_factory=Counter)
    no_answer: int = 0

    @property
    def base(self) -> int:
        return self.positive + self.negative

    @property
    def size(self) -> int:
        """Everyone asked: the base, the non-substantive answers and the unanswered."""
        return self.base + sum(self.not_counted.values()) + self.no_answer

    def add(self, other: Tally) -> None:
        self.positive += other.positive
        self.negative += other.negative
        self.not_counted.update(other.not_counted)
        self.no_answer += other.no_answer


TallyKey = tuple[str, tuple[str, ...], tuple[str | None, ...], str]


def tallies(rows: Iterable[store.AnswerCount]) -> dict[TallyKey, Tally]:
    """Counts by (window, grouping, groups, question)."""
    tallies: dict[TallyKey, Tally] = defaultdict(Tally)
    for row in rows:
        t = tallies[(row.window, row.grouping, row.groups, row.question_id)]
        if row.klass == "positive":
            t.positive += row.n
        elif row.klass == "negative":
            t.negative += row.n
        elif row.klass == "no_answer":
            t.no_answer += row.n
        else:
            t.not_counted[row.klass] += row.n
    return tallies


def _groups(
    tallies: dict[TallyKey, Tally], window_label: str, dimension: str, qid: str
) -> dict[str | None, Tally]:
    return {
        groups[0]: t
        for (w, grouping, groups, q), t in tallies.items()
        if w == window_label and grouping == (dimension,) and q == qid
    }


# --- questions ----------------------------------------------------------------------------


def question_result(
    qid: str,
    versions: dict[int, Questionnaire],
    current: Questionnaire,
    answers: dict[TallyKey, Tally],
    trend: dict[TallyKey, Tally],
    main: str,
    quarters: Sequence[store.Window],
    thresholds: Thresholds,
    weights: Weights | None,
) -> QuestionResult:
    title, counts_as = _question_of(qid, current, versions)
    overall_tally = answers.get((main, (), (), qid), Tally())
    overall = disclosure.protect_one(
        disclosure.shown(overall_tally.base, overall_tally.positive, thresholds),
        thresholds,
        overall_tally.size,
    )
    hidden = overall.suppressed
    breakdowns = tuple(
        _breakdown(dimension, _groups(answers, main, dimension, qid), thresholds)
        for dimension in DIMENSIONS
    )
    changes: tuple[Difference, ...] = ()
    gap: Difference | None = None
    gap_changes: tuple[Difference, ...] = ()
    points: tuple[TrendPoint, ...] = ()
    if quarters:
        labels = [w.label for w in quarters]
        by_quarter = [trend.get((label, (), (), qid), Tally()) for label in labels]
        points = tuple(
            TrendPoint(
                label,
                disclosure.protect_one(
                    disclosure.shown(t.base, t.positive, thresholds), thresholds, t.size
                ),
            )
            for label, t in zip(labels, by_quarter, strict=True)
        )
        this = by_quarter[-1]
        changes = tuple(
            _difference(
                this, by_quarter[-1 - back], f"against {labels[-1 - back]} ({words})", thresholds
            )
            for back, words in COMPARED
            if back < len(by_quarter)
        )
        gaps = [_gap(_groups(trend, label, "ethnicity", qid), thresholds) for label in labels]
        gap = gaps[-1]
        gap_changes = tuple(
            _gap_change(gaps[-1], gaps[-1 - back], labels[-1 - back], words)
            for back, words in COMPARED
            if back < len(gaps)
        )
    else:
        gap = _gap(_groups(answers, main, "ethnicity", qid), thresholds)
    return QuestionResult(
        question_id=qid,
        title=title,
        counts_as=counts_as,
        overall=overall,
        not_counted=None if hidden else dict(sorted(overall_tally.not_counted.items())),
        no_answer=None if hidden else overall_tally.no_answer,
        breakdowns=breakdowns,
        changes=changes,
        ethnicity_gap=gap,
        ethnicity_gap_changes=gap_changes,
        trend=points,
        weighted=(
            None
            if weights is None
            else _weighted(_cells(answers, main, qid), weights, hidden, overall_tally.base)
        ),
    )


def _breakdown(
    dimension: str, groups: dict[str | None, Tally], thresholds: Thresholds
) -> Breakdown:
    keys = order(dimension, groups)
    tallies = [groups[k] for k in keys]
    figures = disclosure.protect(
        [disclosure.shown(t.base, t.positive, thresholds) for t in tallies],
        thresholds,
        [t.size for t in tallies],
    )
    return Breakdown(
        dimension,
        DIMENSION_LABELS[dimension],
        tuple(
            GroupFigure(
                group_label(dimension, key),
                figure,
                None if figure.suppressed else dict(sorted(t.not_counted.items())),
            )
            for key, t, figure in zip(keys, tallies, figures, strict=True)
        ),
    )


def _visible(t: Tally, thresholds: Thresholds) -> bool:
    return t.base >= thresholds.suppress_below


def _difference(a: Tally, b: Tally, against: str, thresholds: Thresholds) -> Difference:
    """``a`` minus ``b`` in points, when both are shown."""
    if not (_visible(a, thresholds) and _visible(b, thresholds)):
        return Difference(None, None, None, False, against)
    d, low, high = newcombe_difference(a.positive, a.base, b.positive, b.base)
    return Difference(100 * d, 100 * low, 100 * high, low > 0 or high < 0, against)


GAP = "White minus ethnic minority"


def _gap(groups: dict[str | None, Tally], thresholds: Thresholds) -> Difference:
    """White victims' figure minus that of every other stated group together, unless it
    would give back a held-back group (their sum must reach the threshold too)."""
    white = groups.get(demographics.WHITE, Tally())
    minority = Tally()
    for key in demographics.ETHNIC_MINORITY:
        minority.add(groups.get(key, Tally()))
    keys = order("ethnicity", groups)
    hidden = disclosure.held_back(
        [groups[k].base for k in keys], thresholds, [groups[k].size for k in keys]
    )
    hidden_minority = sum(
        groups[k].base
        for i, k in enumerate(keys)
        if i in hidden and k in demographics.ETHNIC_MINORITY
    )
    if disclosure.too_small(hidden_minority, thresholds):
        return Difference(None, None, None, False, GAP)
    return _difference(white, minority, GAP, thresholds)


def _gap_change(now: Difference, then: Difference, label: str, words: str) -> Difference:
    against = f"gap against {label} ({words})"
    if None in (now.points, now.low, now.high, then.points, then.low, then.high):
        return Difference(None, None, None, False, against)
    d, low, high = mover_difference(
        (now.points, now.low, now.high),  # type: ignore[arg-type]
        (then.points, then.low, then.high),  # type: ignore[arg-type]
    )
    return Difference(d, low, high, low > 0 or high < 0, against)


# --- weighting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    by_cell: dict[tuple[str | None, ...], float]
    #: Interviews in cells that no eligible case of the period falls in.
    unweighted: int


def weights_of(
    interviews: Sequence[store.InterviewCount], cases: Sequence[store.CaseCount]
) -> Weights:
    """Cell weights to the eligible sample's crime type by district mix."""
    respondents = {
        r.groups: r.complete + r.partial for r in interviews if r.grouping == WEIGHT_CELL
    }
    population: Counter[tuple[str | None, ...]] = Counter()
    for row in cases:
        if row.grouping == WEIGHT_CELL and is_eligible(row.disposition):
            population[row.groups] += row.n
    # A cell can have interviews and no eligible case closed in the period (interviews are
    # dated by when they took place, cases by when their calling closed): it cannot be
    # weighted, and the report says how many interviews that leaves out.
    reachable = {cell: n for cell, n in respondents.items() if population.get(cell) and n}
    by_cell = cell_weights(dict(population), reachable) if reachable else {}
    unweighted = sum(n for cell, n in respondents.items() if cell not in by_cell)
    return Weights(by_cell, unweighted)


def _cells(
    tallies: dict[TallyKey, Tally], window_label: str, qid: str
) -> dict[tuple[str | None, ...], Tally]:
    return {
        groups: t
        for (w, grouping, groups, q), t in tallies.items()
        if w == window_label and grouping == WEIGHT_CELL and q == qid
    }


def _weighted(
    cells: dict[tuple[str | None, ...], Tally], weights: Weights, hidden: bool, base: int
) -> Proportion:
    if hidden:
        return disclosure.HIDDEN
    weighted_positive = sum(weights.by_cell.get(c, 0.0) * t.positive for c, t in cells.items())
    weighted_base = sum(weights.by_cell.get(c, 0.0) * t.base for c, t in cells.items())
    used = [
        (weights.by_cell[c], t.base) for c, t in cells.items() if c in weights.by_cell and t.base
    ]
    if weighted_base <= 0 or not used:
        return Proportion(base, None, None, None, None)
    effective = kish_effective_base(used)
    p, low, high = weighted_proportion(weighted_positive, weighted_base, effective)
    return Proportion(base, None, 100 * p, 100 * low, 100 * high, effective_base=effective)


def _question_of(
    qid: str, current: Questionnaire, versions: dict[int, Questionnaire]
) -> tuple[str, str]:
    """A question's title and what counts as positive, from the newest version asking it."""
    for q in (current, *(q for _, q in sorted(versions.items(), reverse=True))):
        if qid in q.core_ids:
            return qid.replace("_", " ").capitalize(), counted_as(q.question(qid))
    return qid.replace("_", " ").capitalize(), ""
