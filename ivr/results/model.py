"""What a results report holds: plain, frozen values that pages, files and commands render.

Everything here is already counted, tested and suppressed: a renderer shows what it is
given and never computes a figure. Percentages and interval ends are percentage points
(0-100). A suppressed cell keeps its flag and loses its numbers (``None``), so nothing
downstream can leak what was held back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from ivr.store.results import INTERVIEW_DIMENSIONS

#: The breakdowns a figure can be split by, in the order reports show them: the store's.
DIMENSIONS = INTERVIEW_DIMENSIONS
DIMENSION_LABELS = {
    "crime_type": "Crime type",
    "district": "District",
    "mode": "Mode",
    "questionnaire_version": "Questionnaire version",
    "ethnicity": "Ethnicity",
    "age_band": "Age band",
    "sex": "Sex",
    "disability": "Disability",
}
#: A survey of the public's weighting margins, named as the breakdowns are.
MARGIN_LABELS = {**DIMENSION_LABELS, "age_sex": "Age band and sex"}
Dimension = Literal[
    "crime_type",
    "district",
    "mode",
    "questionnaire_version",
    "ethnicity",
    "age_band",
    "sex",
    "disability",
]

_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)


class PeriodError(ValueError):
    """A period that cannot be read or makes no sense; the message says why."""


@dataclass(frozen=True)
class Period:
    """A span of days (both ends included) that interviews are counted in, by the London
    date the interview started."""

    start: date
    end: date
    label: str
    #: Set for a calendar quarter: (year, quarter 1-4).
    quarter: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"the period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def of_quarter(cls, year: int, quarter: int) -> Period:
        """Calendar quarter ``quarter`` (1-4) of ``year``: Q1 is January to March."""
        if not 1 <= quarter <= 4:
            raise PeriodError(f"a quarter is 1 to 4, not {quarter}")
        start = date(year, 3 * quarter - 2, 1)
        end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - (
            timedelta(days=1)
        )
        return cls(start, end, f"{year} Q{quarter}", (year, quarter))

    @classmethod
    def parse_quarter(cls, text: str) -> Period:
        """'2026Q3' (or '2026 Q3', '2026-q3') as that quarter."""
        found = _QUARTER.match(text.strip())
        if not found:
            raise PeriodError(f"'{text}' is not a quarter: write it as 2026Q3")
        return cls.of_quarter(int(found.group(1)), int(found.group(2)))

    @classmethod
    def rolling_year(cls, year: int, quarter: int) -> Period:
        """The 12 months to the end of a quarter."""
        last = cls.of_quarter(year, quarter)
        first = cls.of_quarter(year - 1, quarter).shifted(1)
        return cls(first.start, last.end, f"12 months to {last.label}")

    @classmethod
    def between(cls, start: date, end: date) -> Period:
        """Any span of days."""
        return cls(start, end, f"{_day(start)} to {_day(end)}")

    def shifted(self, quarters: int) -> Period:
        """The quarter ``quarters`` later (earlier when negative); only for a quarter."""
        if self.quarter is None:
            raise PeriodError(f"{self.label} is not a quarter")
        index = self.quarter[0] * 4 + self.quarter[1] - 1 + quarters
        return Period.of_quarter(index // 4, index % 4 + 1)


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


@dataclass(frozen=True)
class Proportion:
    """A share of a base, with its 95% interval; numbers are None when suppressed."""

    base: int | None
    positive: int | None
    percent: float | None
    low: float | None
    high: float | None
    #: Held back: the base is under the suppression threshold, or the cell had to be
    #: hidden so that a suppressed one cannot be worked out from a total.
    suppressed: bool = False
    #: The base is under the low-base threshold: show it, marked.
    low_base: bool = False
    #: Weighted figures only: the effective base (Kish), the base the interval used.
    effective_base: float | None = None


@dataclass(frozen=True)
class Difference:
    """A change or a gap in percentage points, with its 95% interval (Newcombe's hybrid
    score method), significant when the interval excludes zero; None when either side is
    suppressed or empty."""

    points: float | None
    low: float | None
    high: float | None
    significant: bool = False
    #: What it compares, in words: "against 2026 Q2", "White minus ethnic minority".
    against: str = ""


@dataclass(frozen=True)
class GroupFigure:
    """One group's figure in a breakdown: 'Burglary', 'Stockton', 'phone'..."""

    group: str
    figure: Proportion
    #: Non-substantive answers by kind ("dont_know", ...), None when suppressed.
    not_counted: dict[str, int] | None = None


@dataclass(frozen=True)
class Breakdown:
    """A question's figure split by one dimension, groups in a stable order."""

    dimension: str
    label: str
    groups: tuple[GroupFigure, ...]


@dataclass(frozen=True)
class TrendPoint:
    period: str
    figure: Proportion


@dataclass(frozen=True)
class QuestionResult:
    """One core question over the period."""

    question_id: str
    #: The question as the report names it ("Ease of contact").
    title: str
    #: What counts as positive, in words ("satisfied: completely, very or fairly").
    counts_as: str
    overall: Proportion
    #: Non-substantive answers by kind, outside the base; None when suppressed.
    not_counted: dict[str, int] | None
    #: Asked but never answered (the call ended), outside the base.
    no_answer: int | None
    breakdowns: tuple[Breakdown, ...] = ()
    #: Against the previous quarter and the same quarter a year before (quarters only).
    changes: tuple[Difference, ...] = ()
    #: White minus ethnic minority, this period, and its change against the same comparisons.
    ethnicity_gap: Difference | None = None
    ethnicity_gap_changes: tuple[Difference, ...] = ()
    #: The last 8 quarters to this one, oldest first (quarters only).
    trend: tuple[TrendPoint, ...] = ()
    #: Weighted to the eligible sample's crime type by district mix, when asked for.
    weighted: Proportion | None = None


@dataclass(frozen=True)
class RateRow:
    """AAPOR outcome rates for one slice of the sample ("all", a quarter, a district)."""

    slice: str
    #: Cases by AAPOR final disposition code ("1.1": 120, ...).
    dispositions: dict[str, int]
    #: RR1-RR6, COOP1-COOP4, REF1-REF3, CON1-CON3 as percentages; None when undefined.
    rates: dict[str, float | None]
    #: The share of unknown-eligibility cases taken as eligible in RR3, RR4, REF2, CON2.
    e: float | None


@dataclass(frozen=True)
class ResponseRates:
    """Dispositions and rates of the cases whose calling closed in the period."""

    overall: RateRow
    by_district: tuple[RateRow, ...]
    by_quarter: tuple[RateRow, ...]
    #: How ``e`` was estimated, in words, as AAPOR asks a report to state.
    e_method: str


@dataclass(frozen=True)
class Representation:
    """One group's share of the interviews against its share of the eligible sample."""

    dimension: str
    group: str
    interviewed: int | None
    eligible: int | None
    interviewed_percent: float | None
    eligible_percent: float | None
    #: Interviewed share minus eligible share, in points.
    gap: float | None
    under_represented: bool = False


@dataclass(frozen=True)
class Representativeness:
    rows: tuple[Representation, ...]
    #: The margin in points beyond which a group is named as under-represented.
    margin: float
    #: The under-represented groups in words, for the consultation plan.
    summary: str
    #: What the interviews are set against: the "eligible sample" (victims) or the
    #: "population" (a survey of the public: residents, from its population file).
    against: str = "eligible sample"


@dataclass(frozen=True)
class WeightedFigure:
    """A core question's weighted figure (the rolling year's, beside the period's)."""

    question_id: str
    title: str
    figure: Proportion


@dataclass(frozen=True)
class PublicWeighting:
    """A survey of the public's weighting for one span: raking to the population's
    margins, with trimming, and what it cost in precision."""

    #: The span raked: a quarter, the period, or "12 months to 2026 Q2".
    period: str
    #: The margins raked to, in words.
    margins: str
    #: Counted interviews in the figures (the reader's areas).
    respondents: int
    #: Kish's effective base of the weights, (Σw)² / Σw², and the design effect n / it.
    effective_base: float
    design_effect: float
    #: Trimming bounds, as multiples of the mean weight.
    cap: float
    floor: float
    #: Respondents whose weight was held at the cap or the floor.
    trimmed: int
    #: The largest miss, in points, of a margin's group after trimming.
    largest_gap: float
    #: Population groups with no respondent (no weight can reach them), in words.
    unreachable: str
    #: Achieved against population share per group, the under-represented named.
    representativeness: Representativeness
    #: Each core question weighted.
    figures: tuple[WeightedFigure, ...] = ()


@dataclass(frozen=True)
class RecoveryRow:
    """Service recovery for one district (or "all")."""

    district: str
    service_recovery: int | None
    action_alerts: int | None
    #: Referrals whose first contact was due in the period (those with a target).
    with_target: int | None
    contacted_in_time: Proportion
    median_hours_to_contact: float | None
    outcomes: dict[str, int] | None


@dataclass(frozen=True)
class Reason:
    """One dissatisfied victim's reason, for roles allowed to read them."""

    district: str
    question: str
    answer: str
    #: The words: a transcription or the interviewer's typed note; None if not given.
    text: str | None


@dataclass(frozen=True)
class ServiceRecovery:
    rows: tuple[RecoveryRow, ...]
    #: Empty unless the reader may see reasons (never in what leaves the building).
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Scope:
    """Whose results a reader may see: every district, or only some (a district research
    officer's own); ``label`` says which in words."""

    districts: tuple[str, ...] | None = None
    label: str = "all districts"
    #: Whether the reader may see dissatisfied victims' reasons (never in a download).
    reasons: bool = False


@dataclass(frozen=True)
class Thresholds:
    """Disclosure thresholds, from the settings."""

    suppress_below: int = 10
    low_base_below: int = 30
    #: Points by which a group's share of interviews may fall below its share of the
    #: eligible sample before it is named as under-represented.
    representation_margin: float = 5.0


@dataclass(frozen=True)
class Report:
    """A survey's results for a period, as one reader may see them."""

    survey: str
    survey_title: str
    period: Period
    #: Whose figures: "all districts", or the districts a district officer works.
    scope: str
    generated_at: str
    thresholds: Thresholds
    #: Interviews in the figures: complete and partial (past the threshold).
    complete: int
    partial: int
    #: The counting rules in words (one interview per case, the partial rule, the base).
    method: tuple[str, ...]
    questions: tuple[QuestionResult, ...]
    response: ResponseRates
    representativeness: Representativeness
    recovery: ServiceRecovery
    weighted: bool = False
    #: Where the report's numbers were held back or marked, in words.
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: A survey of the public only: the period's raking to the population, and the
    #: rolling year's (the four quarters to a quarter's end; None for other periods).
    weighting: PublicWeighting | None = None
    weighting_year: PublicWeighting | None = None
