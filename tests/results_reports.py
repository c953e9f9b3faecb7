"""Finished results reports built by hand, as the report builder would return them, for
testing what renders them (pages, charts, files) apart from what counts them.

The figures are consistent (each percentage is its positive answers over its base, with
its Wilson interval) and cover every case a renderer meets: five core questions, every
breakdown, held-back ("fewer than 10") and low-base cells, significant and not significant
changes, a comparison that cannot be made, the ethnicity gap, an 8-quarter trend with a
held-back quarter, response rates, an under-represented group, service recovery, and
dissatisfied victims' reasons carrying personal details that must never be shown to an
analyst nor leave the building.
"""

from __future__ import annotations

import math
from datetime import datetime

from ivr.results.model import (
    DIMENSION_LABELS,
    Breakdown,
    Difference,
    GroupFigure,
    Period,
    Proportion,
    QuestionResult,
    RateRow,
    Reason,
    RecoveryRow,
    Report,
    Representation,
    Representativeness,
    ResponseRates,
    Scope,
    ServiceRecovery,
    Thresholds,
    TrendPoint,
)

DISTRICTS = ("Hartlepool", "Middlesbrough", "Redcar and Cleveland", "Stockton")
QUESTIONS = (
    ("ease_of_contact", "Ease of contact", "satisfied: completely, very or fairly"),
    ("actions_taken", "Actions taken", "satisfied: completely, very or fairly"),
    ("kept_informed", "Kept informed", "satisfied: completely, very or fairly"),
    ("treatment", "Treatment", "satisfied: completely, very or fairly"),
    ("whole_experience", "Whole experience", "satisfied: completely, very or fairly"),
)
#: Personal details that reach the report only inside reasons (a victim's own words).
VICTIM_NAME = "Alexandra Quinnell"
VICTIM_PHONE = "07700 900461"
CASE_REF = "CLE/26/400123"
REASON_WORDS = f"Nobody rang back. Ask for {VICTIM_NAME} on {VICTIM_PHONE} about {CASE_REF}."
#: A sample's district written by someone hoping a spreadsheet runs it.
HOSTILE_DISTRICT = '=HYPERLINK("http://evil.example","Stockton")'
THRESHOLDS = Thresholds(suppress_below=10, low_base_below=30, representation_margin=5.0)


def wilson(positive: int, base: int) -> tuple[float, float, float]:
    z = 1.959963984540054
    p = positive / base
    centre = (p + z * z / (2 * base)) / (1 + z * z / base)
    half = z * math.sqrt(p * (1 - p) / base + z * z / (4 * base * base)) / (1 + z * z / base)
    return 100 * p, 100 * (centre - half), 100 * (centre + half)


def shown(positive: int, base: int) -> Proportion:
    if base < THRESHOLDS.suppress_below:
        return held_back()
    percent, low, high = wilson(positive, base)
    return Proportion(base, positive, percent, low, high, low_base=base < THRESHOLDS.low_base_below)


def held_back() -> Proportion:
    return Proportion(None, None, None, None, None, suppressed=True)


def _groups(dimension: str, districts: tuple[str, ...], shift: int) -> list[tuple[str, int, int]]:
    """(group, positive, base) per group of a breakdown."""
    if dimension == "district":
        bases = {"Hartlepool": 96, "Middlesbrough": 140, "Redcar and Cleveland": 7, "Stockton": 24}
        return [
            (d, int(bases.get(d, 40) * (0.62 + 0.02 * shift)) + 1, bases.get(d, 40))
            for d in districts
        ]
    table: dict[str, list[tuple[str, int, int]]] = {
        "crime_type": [
            ("Burglary", 70 + shift, 96),
            ("Vehicle crime", 51, 80),
            ("Violent crime", 40 - shift, 66),
            ("Hate crime", 5, 8),
            ("Domestic abuse", 12, 17),
        ],
        "mode": [("Phone (automated)", 140 + shift, 209), ("Interviewer", 38, 58)],
        "questionnaire_version": [("2026-01", 30, 44), ("2026-07", 148 + shift, 223)],
        "ethnicity": [
            ("White", 150 + shift, 210),
            ("Mixed or Multiple ethnic groups", 4, 6),
            ("Asian, Asian British or Asian Welsh", 12, 23),
            ("Black, Black British, Black Welsh, Caribbean or African", 3, 5),
            ("Other ethnic group", 2, 4),
            ("Not stated", 11, 19),
        ],
        "age_band": [
            ("16-24", 9, 21),
            ("25-34", 30, 44),
            ("35-44", 33, 49),
            ("45-54", 36 + shift, 52),
            ("55-64", 30, 41),
            ("65-74", 26, 33),
            ("75+", 8, 9),
            ("Not stated", 10, 18),
        ],
        "sex": [("Female", 96 + shift, 139), ("Male", 78, 118), ("Not stated", 6, 10)],
        "disability": [
            ("Disabled", 22, 41),
            ("Not disabled", 140 + shift, 204),
            ("Not stated", 14, 22),
        ],
    }
    return table[dimension]


def _breakdown(dimension: str, districts: tuple[str, ...], shift: int) -> Breakdown:
    groups = []
    for group, positive, base in _groups(dimension, districts, shift):
        figure = shown(positive, base)
        groups.append(
            GroupFigure(
                group,
                figure,
                None if figure.suppressed else {"dont_know": base // 20, "does_not_apply": 0},
            )
        )
    return Breakdown(dimension, DIMENSION_LABELS[dimension], tuple(groups))


def _question(
    index: int, districts: tuple[str, ...], period: Period, weighted: bool
) -> QuestionResult:
    qid, title, counts_as = QUESTIONS[index]
    base = 267 - 3 * index
    positive = 180 + 4 * index if index != 2 else 150
    overall = shown(positive, base)
    if period.quarter is None:
        # Any other span of days has no trend and no comparisons, as the builder gives it.
        return QuestionResult(
            question_id=qid,
            title=title,
            counts_as=counts_as,
            overall=overall,
            not_counted={"does_not_apply": 3, "dont_know": 11 + index},
            no_answer=2,
            breakdowns=tuple(_breakdown(d, districts, index) for d in DIMENSION_LABELS),
            ethnicity_gap=Difference(12.3, 2.1, 21.0, True, "White minus ethnic minority"),
        )
    quarters = [period.shifted(-back).label for back in range(7, -1, -1)]
    trend = []
    for i, label in enumerate(quarters):
        if i == 2:
            trend.append(TrendPoint(label, held_back()))
        elif i == 7:
            trend.append(TrendPoint(label, overall))
        else:
            trend.append(TrendPoint(label, shown(150 + 5 * i - index, 240 + i)))
    significant = index == 2
    changes = (
        Difference(
            -8.4 if significant else 1.6,
            -14.9 if significant else -6.1,
            -1.9 if significant else 9.2,
            significant,
            f"against {quarters[-2]} (the previous quarter)",
        ),
        Difference(None, None, None, False, f"against {quarters[-5]} (the same quarter last year)")
        if index == 4
        else Difference(
            -3.2, -10.8, 4.4, False, f"against {quarters[-5]} (the same quarter last year)"
        ),
    )
    gap = Difference(12.3, 2.1, 21.0, True, "White minus ethnic minority")
    gap_changes = (
        Difference(4.0, -9.5, 17.2, False, f"gap against {quarters[-2]} (the previous quarter)"),
        Difference(
            None, None, None, False, f"gap against {quarters[-5]} (the same quarter last year)"
        ),
    )
    p, low, high = wilson(positive, base)
    return QuestionResult(
        question_id=qid,
        title=title,
        counts_as=counts_as,
        overall=overall,
        not_counted={"does_not_apply": 3, "dont_know": 11 + index},
        no_answer=2,
        breakdowns=tuple(_breakdown(d, districts, index) for d in DIMENSION_LABELS),
        changes=changes,
        ethnicity_gap=gap,
        ethnicity_gap_changes=gap_changes,
        trend=tuple(trend),
        weighted=(
            Proportion(base, None, p - 1.3, low - 2.9, high + 0.4, effective_base=201.7)
            if weighted
            else None
        ),
    )


def _rates(name: str, scale: int) -> RateRow:
    counts = {"1.1": 60 * scale, "1.2": 5 * scale, "2.11": 14 * scale, "2.21": 20 * scale}
    counts |= {"3.13": 9 * scale, "3.21": 6 * scale, "3.91": 3 * scale, "4.10": 2 * scale}
    rates = {f"RR{i}": 50.0 + i for i in range(1, 7)}
    rates |= {f"COOP{i}": 70.0 + i for i in range(1, 5)}
    rates |= {"REF1": 11.9, "REF2": 12.4, "REF3": 13.1, "CON1": 84.7, "CON2": 86.0, "CON3": 90.2}
    rates["RR3"] = None if scale == 0 else rates["RR3"]
    return RateRow(name, counts, dict(rates), 0.912)


def make_report(
    *,
    scope: Scope | None = None,
    weighted: bool = False,
    period: Period | None = None,
    survey: str = "uss",
    hostile: bool = False,
    reasons: bool = True,
) -> Report:
    """A report as the builder would return it for ``scope``; its reasons are there
    whenever ``reasons`` is set, whatever the scope, so that renderers are tested on
    leaving them out themselves."""
    scope = scope or Scope()
    period = period or Period.of_quarter(2026, 3)
    districts = tuple(d for d in DISTRICTS if scope.districts is None or d in scope.districts)
    if hostile:
        districts = (*districts, HOSTILE_DISTRICT)
    trend_quarters = (
        [period.shifted(-back).label for back in range(7, -1, -1)] if period.quarter else []
    )
    representation = []
    for dimension, group, interviewed, eligible in (
        ("crime_type", "Burglary", 96, 300),
        ("crime_type", "Violent crime", 66, 290),
        ("age_band", "16-24", 21, 160),
        ("age_band", "65-74", 33, 80),
        ("sex", "Female", 139, 520),
        ("sex", "Male", 118, 480),
        ("ethnicity", "White", 210, 780),
        ("ethnicity", "Asian, Asian British or Asian Welsh", 23, 95),
    ):
        i_share, e_share = 100 * interviewed / 267, 100 * eligible / 1000
        representation.append(
            Representation(
                dimension,
                group,
                interviewed,
                eligible,
                i_share,
                e_share,
                i_share - e_share,
                i_share - e_share < -5.0,
            )
        )
    representation += [
        Representation("district", d, 40, 150, 15.0, 15.0, 0.0, False) for d in districts
    ]
    representation.append(Representation("sex", "Not stated", None, None, None, None, None))
    under = [r for r in representation if r.under_represented]
    summary = (
        "Under-represented by more than 5 points against the eligible sample: "
        + "; ".join(f"{DIMENSION_LABELS[r.dimension].lower()} {r.group}" for r in under)
        + "."
    )
    recovery_rows = [
        RecoveryRow(
            "All districts",
            41,
            6,
            38,
            shown(31, 38),
            19.5,
            {"contacted_resolved": 22, "contacted_escalated": 4, "declined": 3},
        )
    ] + [
        RecoveryRow(
            d,
            12 - i,
            1 + i % 2,
            11 - i,
            shown(9 - i, 11 - i),
            None if i == 3 else 17.0 + i,
            {"contacted_resolved": 6 - i, "declined": 1},
        )
        for i, d in enumerate(districts)
    ]
    reason_rows = (
        tuple(
            Reason(d, "Kept informed", "Very dissatisfied", REASON_WORDS if i == 0 else None)
            for i, d in enumerate(districts)
        )
        if reasons
        else ()
    )
    return Report(
        survey=survey,
        survey_title=(
            "Victim satisfaction survey (Home Office core questions)"
            if survey == "uss"
            else "Victim Care and Advice Service exit survey"
        ),
        period=period,
        scope=scope.label,
        generated_at=f"{datetime(2026, 10, 5, 9, 30):%d %b %Y, %H:%M}",
        thresholds=THRESHOLDS,
        complete=251,
        partial=16,
        method=(
            "One interview per victim's case: an interview carried on over several calls is "
            "one interview.",
            "Interviews counted: those completed, and those that stopped early with at least 3 "
            "of the 5 core questions answered (AAPOR 1.2).",
            "A question's base is its substantive answers: don't know, does not apply and "
            "prefer not to say are counted beside it, never in it.",
        ),
        questions=tuple(_question(i, districts, period, weighted) for i in range(5)),
        response=ResponseRates(
            overall=_rates("All", 4),
            by_district=tuple(_rates(d, 1) for d in districts),
            by_quarter=tuple(_rates(q, 4) for q in trend_quarters[-4:]),
            e_method=(
                "e, the share of cases of unknown eligibility taken to be eligible, is "
                "estimated by proportional allocation (the CASRO method)."
            ),
        ),
        representativeness=Representativeness(tuple(representation), 5.0, summary),
        recovery=ServiceRecovery(rows=tuple(recovery_rows), reasons=reason_rows),
        weighted=weighted,
        notes=(
            'Figures with a base under 10 are not shown ("fewer than 10"); bases under 30 '
            "are marked low.",
        ),
    )
