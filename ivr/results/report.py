"""A survey's results for a period, as one reader may see them.

The store counts (in SQL: one interview per case, the counting rule, the answers' coding
by each interview's own questionnaire version); this module turns those counts into
figures with their intervals, comparisons, response rates and the rest, and holds back
what may not be shown (:mod:`ivr.results.disclosure`). Renderers get a finished
:class:`~ivr.results.model.Report` and never compute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import Connection

from ivr.calendar import ZONE
from ivr.questionnaire.options import (
    declared_not_counted,
    positive_keys,
    substantive_options,
)
from ivr.questionnaire.population import Population
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.results import public_weights
from ivr.results.model import (
    DIMENSIONS,
    Period,
    PublicWeighting,
    QuestionResult,
    Reason,
    Report,
    Scope,
    ServiceRecovery,
    Thresholds,
)
from ivr.results.questions import COMPARED, WEIGHT_CELL, question_result, tallies, weights_of
from ivr.results.recovery import recovery
from ivr.results.response import REPRESENTED, representativeness, response_rates
from ivr.store import results as store
from ivr.store.db import Database
from ivr.store.interviews import pinned_questionnaire

#: How many quarters a trend shows, this one included.
TREND_QUARTERS = 8
#: Memory for each sort and hash of the report's statements (PostgreSQL's work_mem).
REPORT_WORK_MEM = "64MB"


def build_report(
    db: Database,
    registry: QuestionnaireRegistry,
    survey: str,
    period: Period,
    *,
    scope: Scope,
    thresholds: Thresholds,
    weighted: bool = False,
    now: datetime,
) -> Report:
    """The survey's report for ``period`` as a reader with ``scope`` may see it."""
    current = registry.current(survey).questionnaire
    main = window(period)
    quarters = _trend_windows(period)
    public = current.quotas is not None
    # A survey of the public is raked to its population (below), never weighted to an
    # eligible sample's crime type by district mix: it has none.
    weighted = weighted and not public
    # One snapshot: every figure of the report counts the same interviews, however many
    # calls finish while it is built. Its hash aggregates over two years' interviews fit
    # in memory instead of spilling to disk, and JIT compiling its statements would cost
    # more than it saves (measured: scripts/bench_results.py).
    with db.snapshot(work_mem=REPORT_WORK_MEM, jit=False) as conn:
        versions = {
            vid: pinned_questionnaire(conn, vid) for vid in store.versions_of_survey(conn, survey)
        }
        coding, rules = coding_of(versions)
        every = [main, *quarters[:-1]] if quarters else [main]
        reads = _Reads(survey, coding, rules, main, every, bool(quarters), weighted, scope)
        # The period's breakdowns and the trend over the quarters run side by side on two
        # connections that see the same snapshot (one after the other on SQLite).
        with db.alongside(conn) as other:
            if other is None:
                counted, trend_rows = reads.period(conn), reads.trend(conn)
            else:
                with ThreadPoolExecutor(max_workers=1) as pool:
                    period_reads = pool.submit(reads.period, other)
                    trend_rows = reads.trend(conn)
                    counted = period_reads.result()
        raked = _public_reads(conn, registry, survey, versions, period) if public else None

    interviews, cases, referrals, reasons = (
        counted.interviews,
        counted.cases,
        counted.referrals,
        counted.reasons,
    )
    answers = tallies([*counted.answers, *trend_rows])
    case_trend = [row for row in counted.case_trend if row.grouping == ()] if quarters else []
    weights = weights_of(interviews, cases) if weighted else None
    complete = sum(r.complete for r in interviews if r.grouping == ())
    partial = sum(r.partial for r in interviews if r.grouping == ())
    questions = tuple(
        question_result(
            qid,
            versions,
            current,
            answers,
            answers,
            main.label,
            quarters,
            thresholds,
            weights,
        )
        for qid in _core_ids(current, versions)
    )
    notes = list(_notes(thresholds))
    if weights is not None and weights.unweighted:
        notes.append(
            f"{weights.unweighted} interviews are in crime type and district cells with no "
            "eligible case closed in the period: the weighted figures leave them out."
        )
    weighting = weighting_year = None
    representation = representativeness(cases, thresholds)
    if raked is not None:
        weighting, weighting_year = _public_weighting(raked, scope, coding, questions, thresholds)
        by_question = {f.question_id: f.figure for f in weighting.figures}
        questions = tuple(replace(q, weighted=by_question.get(q.question_id)) for q in questions)
        representation = weighting.representativeness
        notes.extend(_public_notes(weighting))
    return Report(
        survey=survey,
        survey_title=current.title,
        period=period,
        scope=scope.label,
        generated_at=f"{now.astimezone(ZONE):%d %b %Y, %H:%M}",
        thresholds=thresholds,
        complete=complete,
        partial=partial,
        method=_method(versions, period),
        questions=questions,
        response=response_rates(cases, case_trend, main.label, thresholds),
        representativeness=representation,
        recovery=ServiceRecovery(
            rows=recovery(referrals, thresholds),
            reasons=tuple(Reason(r.district or "", r.question, r.answer, r.text) for r in reasons),
        ),
        weighted=weighted or raked is not None,
        notes=tuple(notes),
        weighting=weighting,
        weighting_year=weighting_year,
    )


# --- a survey of the public -------------------------------------------------------------


class _Raked(NamedTuple):
    """What a survey of the public's weighting reads: its population, its areas, and the
    counted interviews of the period and of the rolling year (a quarter's only)."""

    population: Population
    areas: list[str]
    period: tuple[str, list[public_weights.Respondent]]
    year: tuple[str, list[public_weights.Respondent]] | None


def _public_reads(
    conn: Connection,
    registry: QuestionnaireRegistry,
    survey: str,
    versions: dict[int, Questionnaire],
    period: Period,
) -> _Raked:
    public = public_weights.population_of(registry, survey)
    assert public is not None
    population, areas = public
    main = window(period)
    found = public_weights.respondents(conn, survey, main, versions, areas)
    year = None
    if period.quarter is not None:
        rolling = Period.rolling_year(*period.quarter)
        year = (
            rolling.label,
            public_weights.respondents(conn, survey, window(rolling), versions, areas),
        )
    return _Raked(population, areas, (main.label, found), year)


def _public_weighting(
    raked: _Raked,
    scope: Scope,
    coding: list[store.Coding],
    questions: Sequence[QuestionResult],
    thresholds: Thresholds,
) -> tuple[PublicWeighting, PublicWeighting | None]:
    """The period's and the rolling year's weighting, everyone raked together and the
    figures of the reader's areas (a district officer's own)."""
    classes = {(c.version_id, c.question_id, c.code): c.klass for c in coding}
    core = [(q.question_id, q.title) for q in questions]
    shown = [a for a in raked.areas if scope.districts is None or a in scope.districts]

    def one(label: str, everyone: list[public_weights.Respondent]) -> PublicWeighting:
        found = [r for r in everyone if scope.districts is None or r.area in scope.districts]
        return public_weights.weighting(
            label,
            found,
            everyone,
            raked.population,
            raked.areas,
            shown,
            core,
            classes,
            thresholds,
        )

    return one(*raked.period), (None if raked.year is None else one(*raked.year))


def _public_notes(weighting: PublicWeighting) -> Iterable[str]:
    yield (
        f"Weighted figures: the interviews are raked to the population's margins "
        f"({weighting.margins}), each weight held between {weighting.floor:g} and "
        f"{weighting.cap:g} times the mean; the interval uses the effective base (Kish)."
    )
    if weighting.trimmed:
        yield (
            f"{weighting.trimmed} interviews' weights were held at the cap or the floor: "
            f"the weighted margins miss the population by up to {weighting.largest_gap:.1f} "
            "points."
        )
    if weighting.unreachable:
        yield (
            f"No interview in {weighting.unreachable}: no weight can reach these groups, "
            "and the other groups of their margin share their part."
        )


class _Counted(NamedTuple):
    """What the store counted for the period itself."""

    answers: list[store.AnswerCount]
    interviews: list[store.InterviewCount]
    cases: list[store.CaseCount]
    #: Cases closed by window, every window (the response rates per quarter).
    case_trend: list[store.CaseCount]
    referrals: list[store.ReferralFacts]
    reasons: list[store.ReasonText]


@dataclass(frozen=True)
class _Reads:
    """A report's reads of the store, in two parts that can run at once: the period's
    own figures, and every quarter's overall and ethnicity figures (the trend, the
    changes, the gap). Each answer count comes from one of them, never both."""

    survey: str
    coding: list[store.Coding]
    rules: list[store.CountingRule]
    main: store.Window
    every: list[store.Window]
    quarterly: bool
    weighted: bool
    scope: Scope

    def period(self, conn: Connection) -> _Counted:
        this = (self.main.label,)
        groupings: list[tuple[str, ...]] = [(d,) for d in DIMENSIONS if d != "ethnicity"]
        if self.weighted:
            groupings.append(WEIGHT_CELL)
        answers, interviews = store.counts(
            conn,
            self.survey,
            coding=self.coding,
            rules=self.rules,
            windows=[self.main],
            answers=groupings,
            interviews=[(), WEIGHT_CELL] if self.weighted else [()],
            districts=self.scope.districts,
        )
        case_rows = store.case_counts(
            conn,
            self.survey,
            windows=self.every,
            groupings=[
                store.Grouping(()),
                *(
                    store.Grouping(g, this)
                    for g in [
                        ("district",),
                        *((d,) for d in REPRESENTED if d != "district"),
                        WEIGHT_CELL,
                    ]
                ),
            ],
            districts=self.scope.districts,
        )
        main = self.main
        return _Counted(
            answers=answers,
            interviews=interviews,
            cases=[row for row in case_rows if row.window == main.label],
            case_trend=case_rows,
            referrals=store.referrals_raised(
                conn, self.survey, start=main.start, end=main.end, districts=self.scope.districts
            ),
            reasons=(
                store.dissatisfied_reasons(
                    conn,
                    self.survey,
                    start=main.start,
                    end=main.end,
                    districts=self.scope.districts,
                )
                if self.scope.reasons
                else []
            ),
        )

    def trend(self, conn: Connection) -> list[store.AnswerCount]:
        """Every window's overall figures, and its ethnicity figures where the gap is
        shown or compared with (this period, the previous quarter, a year before)."""
        compared = [self.every[0].label]
        if self.quarterly:
            labels = [w.label for w in sorted(self.every, key=lambda w: w.start)]
            compared += [labels[-1 - back] for back, _ in COMPARED if back < len(labels)]
        return store.answer_counts(
            conn,
            self.survey,
            coding=self.coding,
            rules=self.rules,
            windows=self.every,
            groupings=[store.Grouping(()), store.Grouping(("ethnicity",), tuple(compared))],
            districts=self.scope.districts,
        )


# --- periods ----------------------------------------------------------------------------


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)


def window(period: Period) -> store.Window:
    """The period as UTC instants: from London midnight on its first day to London
    midnight after its last."""
    return store.Window(
        period.label, _london_midnight(period.start), _london_midnight(period.end + timedelta(1))
    )


def _trend_windows(period: Period) -> list[store.Window]:
    """The last quarters to this one, oldest first; none for a period that is not a quarter."""
    if period.quarter is None:
        return []
    return [window(period.shifted(-back)) for back in range(TREND_QUARTERS - 1, -1, -1)]


# --- coding -------------------------------------------------------------------------------


def coding_of(
    versions: dict[int, Questionnaire],
) -> tuple[list[store.Coding], list[store.CountingRule]]:
    """How each version's core answers count (positive, negative, or which kind of
    non-substantive answer), and each version's counting rule."""
    coding: list[store.Coding] = []
    rules: list[store.CountingRule] = []
    for vid, q in sorted(versions.items()):
        rules.append(store.CountingRule(vid, tuple(q.core_ids), q.partial_threshold))
        for qid in q.core_ids:
            question = q.question(qid)
            positive = positive_keys(question)
            for option in substantive_options(question):
                klass = "positive" if option.key in positive else "negative"
                coding.append(store.Coding(vid, qid, option.key, klass))
            for declared in declared_not_counted(question):
                coding.append(store.Coding(vid, qid, declared.key, declared.answer.value))
    return coding, rules


def _core_ids(current: Questionnaire, versions: dict[int, Questionnaire]) -> list[str]:
    """The current version's core questions, then any only older versions asked."""
    ids = list(current.core_ids)
    for _, q in sorted(versions.items()):
        ids.extend(qid for qid in q.core_ids if qid not in ids)
    return ids


# --- words --------------------------------------------------------------------------------


def _method(versions: dict[int, Questionnaire], period: Period) -> tuple[str, ...]:
    rules = sorted({(q.partial_threshold, len(q.core_ids)) for q in versions.values()})
    partial = "; ".join(f"at least {t} of the {n} core questions" for t, n in rules) or "none"
    return (
        "One interview per victim's case: an interview carried on over several calls is one "
        "interview.",
        "Interviews counted: those completed, and those that stopped early with "
        f"{partial} answered (AAPOR 1.2).",
        "A question's base is its substantive answers: don't know, does not apply and "
        "prefer not to say are counted beside it, never in it.",
        f"Interviews are counted in {period.label} by the day they took place (UK time); "
        "cases, for response rates and representativeness, by the day their calling closed.",
        "95% intervals: Wilson score for a percentage; Newcombe's hybrid score method for a "
        "difference; significant when the interval for a difference leaves out zero.",
        "The ethnicity gap sets White victims against victims of every other stated ethnic "
        "group together (ONS 2021 groups).",
    )


def _notes(thresholds: Thresholds) -> Iterable[str]:
    yield (
        f'Figures with a base under {thresholds.suppress_below} are not shown ("fewer than '
        f'{thresholds.suppress_below}"), with another beside them where one could be worked '
        f"out from a total; bases under {thresholds.low_base_below} are marked low."
    )
