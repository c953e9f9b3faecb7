"""Weights for a survey of the public: each counted interview raked to the population's
margins (area, age band by sex, ethnicity), and the weighted figures built from them.

A survey with quotas has no eligible sample to weight to (its cases are telephone
numbers); its population file says who lives in each area. The interviews of a period
are raked together (:func:`ivr.results.raking.rake`, trimmed to [floor, cap] times the
mean weight) to three force-wide margins: each area's share of all the areas' residents
(so force-wide figures count each area as much as its residents), and the age band by
sex and the ethnicity shares of those residents. The respondent's groups come from their
answers to the quota questions, the area from their case.

The same weights go to the export (each interview its quarter's weight), so a reader can
recompute every weighted figure from the export alone, or rake the export again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from ivr.calendar import ZONE
from ivr.engine.interpreter import respondent_groups
from ivr.questionnaire.population import AGE_SEX_GROUPS, ETHNICITY_GROUPS, Population
from ivr.questionnaire.population import age_sex_group as _age_sex
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.results import disclosure
from ivr.results.groups import group_label
from ivr.results.model import (
    MARGIN_LABELS,
    Period,
    Proportion,
    PublicWeighting,
    Representation,
    Representativeness,
    Thresholds,
    WeightedFigure,
)
from ivr.results.raking import Margin, Raking, rake
from ivr.results.reports import counted
from ivr.results.statistics import weighted_proportion
from ivr.store import results as store

#: Trimming: no weight above CAP or below FLOOR times the mean weight, so that a few
#: respondents of a rare group cannot carry an estimate.
CAP = 5.0
FLOOR = 0.2
#: The margins, in the order a respondent's profile lists their groups.
MARGINS = ("district", "age_sex", "ethnicity")
MARGIN_WORDS = "area, age band by sex, and ethnicity (residents aged 16 and over)"

Profile = tuple[str | None, str | None, str | None]
RakedProfile = tuple[Hashable | None, ...]


@dataclass(frozen=True)
class Respondent:
    """One counted interview of a survey of the public, as the weighting sees it."""

    case_ref: str
    area: str | None
    profile: Profile
    version_id: int
    #: The core questions' answer codes (None: asked, never answered).
    codes: Mapping[str, str | None]


def groups_of(q: Questionnaire, codes: Mapping[str, str | None]) -> dict[str, str | None]:
    """The respondent's demographic groups from their answer codes (None: not stated),
    with their age band by sex cell as ``age_sex``."""
    groups = respondent_groups(q, {qid: {"code": code} for qid, code in codes.items()})
    groups["age_sex"] = _age_sex(groups.get("age_band"), groups.get("sex"))
    return groups


def respondent_of(
    row: store.ExportRow, q: Questionnaire, areas: Iterable[str]
) -> Respondent | None:
    """The interview as a respondent to weight; None when it does not count."""
    codes = {qid: a.code for qid, a in row.answers.items()}
    if counted(q, row.status, codes) is None:
        return None
    groups = groups_of(q, codes)
    # An area the population file does not have cannot be weighted to: not stated.
    area = row.district if row.district in set(areas) else None
    age_sex = groups.get("age_sex")
    ethnicity = groups.get("ethnicity")
    return Respondent(
        row.case_ref,
        row.district,
        (
            area,
            age_sex if age_sex in AGE_SEX_GROUPS else None,
            ethnicity if ethnicity in ETHNICITY_GROUPS else None,
        ),
        row.questionnaire_version_id,
        {qid: codes.get(qid) for qid in q.core_ids if qid in codes},
    )


def respondents(
    conn: Connection,
    survey: str,
    span: store.Window,
    versions: dict[int, Questionnaire],
    areas: Iterable[str],
) -> list[Respondent]:
    """The counted interviews started in ``span``: one per case, as the report counts."""
    return list(each_respondent(conn, survey, span, versions, areas))


def each_respondent(
    conn: Connection,
    survey: str,
    span: store.Window,
    versions: dict[int, Questionnaire],
    areas: Iterable[str],
) -> Iterator[Respondent]:
    """The counted interviews started in ``span``, one at a time as the store streams
    them (one per case, as the report counts)."""
    areas = list(areas)
    for row in store.export_rows(conn, survey, start=span.start, end=span.end):
        q = versions.get(row.questionnaire_version_id)
        if q is None:
            continue  # pinned after the report's versions were read: not in its figures
        r = respondent_of(row, q, areas)
        if r is not None:
            yield r


def population_of(
    registry: QuestionnaireRegistry, survey: str
) -> tuple[Population, list[str]] | None:
    """A survey of the public's population and the areas it is weighted over (its quota
    areas that the population file has); None for a survey without quotas."""
    quotas = registry.current(survey).questionnaire.quotas
    if quotas is None:
        return None
    population = registry.population(survey)
    return population, [a for a in quotas.areas if a in population.counts]


# --- the margins and the raking -----------------------------------------------------------


def residents(population: Population, areas: Iterable[str], cell: str) -> dict[str, int]:
    """Residents of ``areas`` together by group of ``cell`` (``district``: by area)."""
    totals: Counter[str] = Counter()
    for area in areas:
        if cell == "district":
            totals[area] += sum(population.counts[area]["age_sex"].values())
        else:
            totals.update(population.counts[area][cell])
    return dict(totals)


def margins(population: Population, areas: Sequence[str]) -> list[Margin]:
    """The raking margins over ``areas``: each group's share of their residents."""
    found = []
    for cell in MARGINS:
        counts = residents(population, areas, cell)
        total = sum(counts.values())
        found.append(Margin(cell, {g: n / total for g, n in counts.items()}))
    return found


def raked(
    found: Sequence[Respondent],
    population: Population,
    areas: Sequence[str],
    *,
    cap: float = CAP,
    floor: float = FLOOR,
) -> dict[str, float]:
    """Each respondent's raked weight by case reference (mean weight 1); none with no
    respondents. Everyone takes part in one raking, whatever a reader's scope."""
    if not found:
        return {}
    raking = _rake(found, population, areas, cap, floor)
    return {r.case_ref: raking.weight(r.profile) for r in found}


def _rake(
    found: Sequence[Respondent],
    population: Population,
    areas: Sequence[str],
    cap: float,
    floor: float,
) -> Raking:
    counts: dict[RakedProfile, int] = dict(Counter(r.profile for r in found))
    return rake(counts, margins(population, areas), cap=cap, floor=floor)


# --- the weighted figures -----------------------------------------------------------------


def weighted_figure(
    qid: str,
    found: Sequence[Respondent],
    weights: Mapping[str, float],
    classes: Mapping[tuple[int, str, str], str],
    thresholds: Thresholds,
) -> Proportion:
    """A core question's weighted share positive over the respondents' substantive
    answers, with the Wilson interval at Kish's effective base of those answers."""
    positive = total = squared = 0.0
    base = 0
    for r in found:
        code = r.codes.get(qid)
        klass = None if code is None else classes.get((r.version_id, qid, code))
        if klass not in ("positive", "negative"):
            continue
        w = weights[r.case_ref]
        base += 1
        total += w
        squared += w * w
        if klass == "positive":
            positive += w
    if disclosure.too_small(base, thresholds):
        return disclosure.HIDDEN
    if total <= 0:
        return Proportion(base, None, None, None, None)
    effective = total * total / squared
    p, low, high = weighted_proportion(positive, total, effective)
    return Proportion(
        base,
        None,
        100 * p,
        100 * low,
        100 * high,
        low_base=base < thresholds.low_base_below,
        effective_base=effective,
    )


def representativeness(
    found: Sequence[Respondent],
    population: Population,
    areas: Sequence[str],
    thresholds: Thresholds,
) -> Representativeness:
    """Each group's share of the interviews against its share of the residents, and the
    groups whose share falls more than the margin short named in words (the eligible
    sample's rule, with the population in its place)."""
    rows: list[Representation] = []
    named: list[str] = []
    for i, dimension in enumerate(MARGINS):
        people = residents(population, areas, dimension)
        achieved: Counter[str] = Counter(
            group for r in found if (group := r.profile[i]) is not None and group in people
        )
        total_p, total_i = sum(people.values()), sum(achieved.values())
        keys = list(people)
        hidden = disclosure.held_back([achieved[k] for k in keys], thresholds)
        for j, key in enumerate(keys):
            p_share = 100 * people[key] / total_p if total_p else None
            i_share = 100 * achieved[key] / total_i if total_i else None
            gap = None if p_share is None or i_share is None else i_share - p_share
            under = gap is not None and gap < -thresholds.representation_margin
            label = _label(dimension, key)
            if under:
                named.append(f"{MARGIN_LABELS[dimension].lower()} {label}")
            shown = j not in hidden
            rows.append(
                Representation(
                    dimension,
                    label,
                    achieved[key] if shown else None,
                    people[key],
                    i_share if shown else None,
                    p_share,
                    gap if shown else None,
                    under,
                )
            )
    margin = thresholds.representation_margin
    summary = (
        f"Under-represented by more than {margin:g} points against the population: "
        + "; ".join(named)
        + "."
        if named
        else f"No group is under-represented by more than {margin:g} points against the population."
    )
    return Representativeness(tuple(rows), margin, summary, against="population")


def _label(dimension: str, key: str) -> str:
    if dimension == "age_sex":
        band, sex = key.rsplit(" ", 1)
        return f"{group_label('age_band', band)} {group_label('sex', sex).lower()}"
    return group_label(dimension, key)


def weighting(
    label: str,
    found: Sequence[Respondent],
    everyone: Sequence[Respondent],
    population: Population,
    areas: Sequence[str],
    shown_areas: Sequence[str],
    core: Sequence[tuple[str, str]],
    classes: Mapping[tuple[int, str, str], str],
    thresholds: Thresholds,
) -> PublicWeighting:
    """One period's weighting: ``everyone`` raked together, the figures of ``found`` (the
    reader's areas), each core question (id, title) weighted."""
    if not everyone:
        return PublicWeighting(
            period=label,
            margins=MARGIN_WORDS,
            respondents=0,
            effective_base=0.0,
            design_effect=1.0,
            cap=CAP,
            floor=FLOOR,
            trimmed=0,
            largest_gap=0.0,
            unreachable="",
            representativeness=representativeness(found, population, shown_areas, thresholds),
            figures=(),
        )
    raking = _rake(everyone, population, areas, CAP, FLOOR)
    weights = {r.case_ref: raking.weight(r.profile) for r in everyone}
    mine = [weights[r.case_ref] for r in found]
    total, squared = sum(mine), sum(w * w for w in mine)
    effective = total * total / squared if squared else 0.0
    unreachable = "; ".join(
        f"{MARGIN_LABELS[d].lower()} {', '.join(_label(d, str(g)) for g in groups)}"
        for d, groups in raking.unreachable.items()
    )
    return PublicWeighting(
        period=label,
        margins=MARGIN_WORDS,
        respondents=len(found),
        effective_base=effective,
        design_effect=len(found) / effective if effective else 1.0,
        cap=CAP,
        floor=FLOOR,
        trimmed=raking.trimmed,
        largest_gap=raking.largest_gap,
        unreachable=unreachable,
        representativeness=representativeness(found, population, shown_areas, thresholds),
        figures=tuple(
            WeightedFigure(qid, title, weighted_figure(qid, found, weights, classes, thresholds))
            for qid, title in core
        ),
    )


# --- the export's weights -----------------------------------------------------------------


class PublicQuarterWeights:
    """Each counted interview's raked weight in the quarter it started in, raked once per
    quarter as the export's rows need them (all areas together, as the report rakes).

    A raked weight depends only on the respondent's profile (area, age band by sex,
    ethnicity), so a quarter keeps only its raking, fitted to the count of respondents
    per profile: a few hundred cells, never a weight per interview, whatever the export's
    size. The quarter's interviews are read once, streamed, to count them."""

    def __init__(
        self,
        conn: Connection,
        survey: str,
        versions: dict[int, Questionnaire],
        population: Population,
        areas: Sequence[str],
    ):
        self.conn, self.survey, self.versions = conn, survey, versions
        self.population, self.areas = population, list(areas)
        self.by_quarter: dict[tuple[int, int], Raking | None] = {}

    def weight(self, row: store.ExportRow) -> float | None:
        """The raked weight of the exported interview ``row`` in its quarter; None when it
        does not count, or its version came after the export's versions were read (the
        report's raking did not have it)."""
        q = self.versions.get(row.questionnaire_version_id)
        respondent = None if q is None else respondent_of(row, q, self.areas)
        if respondent is None:
            return None
        day = row.started_at.astimezone(ZONE).date()
        quarter = (day.year, (day.month - 1) // 3 + 1)
        if quarter not in self.by_quarter:
            self.by_quarter[quarter] = self._raking(Period.of_quarter(*quarter))
        raking = self.by_quarter[quarter]
        return None if raking is None else raking.weight(respondent.profile)

    def _raking(self, period: Period) -> Raking | None:
        span = store.london_window(period.label, period.start, period.end)
        counts: Counter[RakedProfile] = Counter(
            r.profile
            for r in each_respondent(self.conn, self.survey, span, self.versions, self.areas)
        )
        if not counts:
            return None
        return rake(dict(counts), margins(self.population, self.areas), cap=CAP, floor=FLOOR)
