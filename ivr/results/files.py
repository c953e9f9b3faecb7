"""The report as files that leave the building: one self-contained HTML file, a PDF, a CSV
per table, and JSON; and the report's figures as HTML for the results page.

Renderers write what the :class:`~ivr.results.model.Report` holds and compute nothing.
Nothing here ever writes a dissatisfied victim's reasons, whatever the report carries:
they are for the page, for roles that work referrals, and never leave the building.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ivr.campaigns.dispositions import Disposition
from ivr.results import charts
from ivr.results.model import (
    MARGIN_LABELS,
    Breakdown,
    Proportion,
    QuestionResult,
    RateRow,
    RecoveryRow,
    Report,
)
from ivr.spreadsheet import text_cell
from ivr.wording import sentence, words

TEMPLATES = Path(__file__).parent / "templates"
#: The report's tables as CSV downloads, by file name (without ``.csv``), in page order.
TABLES = {
    "questions": "Core questions",
    "breakdowns": "Breakdowns of each question",
    "changes": "Changes and ethnicity gaps",
    "trend": "Trend by quarter",
    "dispositions": "Final dispositions",
    "rates": "Outcome rates",
    "representativeness": "Representativeness",
    "service_recovery": "Service recovery",
}
#: AAPOR's outcome rates, in the order of the Standard Definitions, each in a few words.
RATE_NAMES = {
    "RR1": "complete interviews over all eligible and unknown-eligibility cases",
    "RR2": "RR1 counting partial interviews too",
    "RR3": "RR1 counting only the estimated eligible share (e) of unknown cases",
    "RR4": "RR2 counting only the estimated eligible share (e) of unknown cases",
    "RR5": "RR1 counting no unknown cases",
    "RR6": "RR2 counting no unknown cases",
    "COOP1": "complete interviews over all eligible cases contacted",
    "COOP2": "COOP1 counting partial interviews too",
    "COOP3": "COOP1 leaving out those contacted but unable to take part",
    "COOP4": "COOP2 leaving out those contacted but unable to take part",
    "REF1": "refusals and break-offs over all eligible and unknown-eligibility cases",
    "REF2": "REF1 counting only the estimated eligible share (e) of unknown cases",
    "REF3": "REF1 counting no unknown cases",
    "CON1": "cases contacted over all eligible and unknown-eligibility cases",
    "CON2": "CON1 counting only the estimated eligible share (e) of unknown cases",
    "CON3": "CON1 counting no unknown cases",
}
#: Non-substantive answers in words, in the order the questionnaire schema lists them.
NOT_COUNTED = {
    "dont_know": "Don't know",
    "does_not_apply": "Does not apply",
    "prefer_not_to_say": "Prefer not to say",
}
MINUS = "\u2212"


# --- words and numbers for people ---------------------------------------------------------


def pct(value: float) -> str:
    return f"{value:.1f}%"


def interval(low: float, high: float) -> str:
    return f"{low:.1f}% to {high:.1f}%"


def points(value: float) -> str:
    """A difference in points, its sign always shown (a true minus sign)."""
    text = f"{abs(value):.1f}"
    if text == "0.0":
        return text
    return ("+" if value > 0 else MINUS) + text


def count(n: int) -> str:
    return f"{n:,}"


def decimal(value: float, places: int = 1) -> str:
    return f"{value:,.{places}f}"


def day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def kind_words(kind: str) -> str:
    return NOT_COUNTED.get(kind, words(kind))


def dimension_label(dimension: str) -> str:
    return MARGIN_LABELS.get(dimension, words(dimension))


def disposition_label(code: str) -> str:
    try:
        return str(Disposition.from_code(code).label)
    except (KeyError, ValueError):
        return code


def disposition_codes(rows: Iterable[RateRow]) -> list[str]:
    """Every disposition code in the rows, in AAPOR's order (1.1, 1.2, 2.11, ...)."""
    found = {code for row in rows for code in row.dispositions}
    return sorted(found, key=lambda code: tuple(int(part) for part in code.split(".")))


def outcome_keys(rows: Iterable[RecoveryRow]) -> list[str]:
    return sorted({key for row in rows for key in (row.outcomes or {})})


# --- the figures as HTML ------------------------------------------------------------------

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _chart_title(report: Report, q: QuestionResult, what: str) -> str:
    return f"{q.title}: % positive {what}, {report.period.label}"


def _helpers(report: Report) -> dict[str, Any]:
    suppress = report.thresholds.suppress_below

    def trend_svg(q: QuestionResult) -> Markup:
        return Markup(  # noqa: S704 - charts.py builds the SVG and escapes its text
            charts.trend_chart(
                q.trend,
                title=f"{q.title}: % positive by quarter, the last {len(q.trend)} quarters",
                chart_id=f"chart-{q.question_id}-trend",
                suppress_below=suppress,
            )
        )

    def breakdown_svg(q: QuestionResult, b: Breakdown) -> Markup:
        return Markup(  # noqa: S704 - charts.py builds the SVG and escapes its text
            charts.breakdown_chart(
                b,
                title=_chart_title(report, q, f"by {b.label.lower()}"),
                chart_id=f"chart-{q.question_id}-{b.dimension}",
                suppress_below=suppress,
            )
        )

    return {
        "report": report,
        "pct": pct,
        "interval": interval,
        "points": points,
        "count": count,
        "decimal": decimal,
        "day": day,
        "sentence": sentence,
        "kind_words": kind_words,
        "dimension_label": dimension_label,
        "disposition_label": disposition_label,
        "disposition_codes": disposition_codes,
        "outcome_keys": outcome_keys,
        "rate_names": RATE_NAMES,
        "trend_svg": trend_svg,
        "breakdown_svg": breakdown_svg,
    }


def report_body(report: Report, *, with_reasons: bool = False) -> Markup:
    """The report's sections as HTML for a page: figures, tables and their charts;
    dissatisfied victims' reasons only when ``with_reasons`` (and the report has them)."""
    template = _env.get_template("results/_report.html")
    return Markup(template.render(**_helpers(report), with_reasons=with_reasons))  # noqa: S704


def title(report: Report) -> str:
    """The report's title: the survey and the period."""
    return f"{report.survey_title}: {report.period.label}"


def file_name(report: Report, extension: str) -> str:
    """A download's file name: the survey, the period's dates, weighted or not."""
    weighted = "-weighted" if report.weighted else ""
    return (
        f"{report.survey}-results-{report.period.start.isoformat()}-to-"
        f"{report.period.end.isoformat()}{weighted}.{extension}"
    )


def report_html(report: Report) -> str:
    """The whole report as ONE self-contained HTML file: its stylesheet and charts inline,
    no script, nothing fetched from anywhere; never the reasons."""
    return _env.get_template("results/report_file.html").render(
        title=title(report),
        report=report,
        css=Markup((TEMPLATES / "results" / "report_file.css").read_text(encoding="utf-8")),  # noqa: S704
        body=report_body(report, with_reasons=False),
    )


def _fetch_nothing(url: str, *_: Any, **__: Any) -> dict[str, Any]:
    # The file is self-contained: anything it would fetch is a mistake, never a request.
    raise ValueError(f"the report fetches nothing ({url[:40]})")


def _no_fetching() -> Any:
    """A WeasyPrint URL fetcher that fetches nothing, whatever a report holds."""
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint 68 on: fetchers are objects
    except ImportError:
        return _fetch_nothing
    return URLFetcher(allowed_protocols=())


def report_pdf(report: Report) -> bytes:
    """The self-contained HTML file printed to PDF by WeasyPrint (A4, landscape)."""
    from weasyprint import HTML  # loaded on first use: it is slow to import

    pdf = HTML(string=report_html(report), url_fetcher=_no_fetching()).write_pdf()
    assert pdf is not None
    return bytes(pdf)


# --- the tables as CSV --------------------------------------------------------------------


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def cell(value: Any) -> str:
    """One CSV cell: numbers as numbers ("-3.2" stays a number), text that a spreadsheet
    would run as a formula behind a leading ``'``, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _number(value)
    text = str(value)
    return text_cell(text)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


_FIGURE = ("base", "positive", "percent", "low", "high", "low_base", "suppressed")


def _figure(p: Proportion) -> list[Any]:
    return [p.base, p.positive, p.percent, p.low, p.high, p.low_base, p.suppressed]


def _kinds(report: Report) -> list[str]:
    found = {
        kind
        for q in report.questions
        for counts in (q.not_counted, *(g.not_counted for b in q.breakdowns for g in b.groups))
        for kind in (counts or {})
    }
    return [*(k for k in NOT_COUNTED if k in found), *sorted(found - set(NOT_COUNTED))]


def _counts(counts: Mapping[str, int] | None, kinds: Sequence[str]) -> list[int | None]:
    return [None if counts is None else counts.get(kind, 0) for kind in kinds]


def _questions_table(report: Report) -> str:
    kinds = _kinds(report)
    header = ["question_id", "question", "counts_as", *_FIGURE, *kinds, "no_answer"]
    if report.weighted:
        header += ["weighted_percent", "weighted_low", "weighted_high", "effective_base"]
    rows = []
    for q in report.questions:
        row = [q.question_id, q.title, q.counts_as, *_figure(q.overall)]
        row += [*_counts(q.not_counted, kinds), q.no_answer]
        if report.weighted:
            w = q.weighted
            row += (
                [None, None, None, None]
                if w is None
                else [
                    w.percent,
                    w.low,
                    w.high,
                    w.effective_base,
                ]
            )
        rows.append(row)
    if report.weighting is not None:
        header, rows = _with_public_weighting(report, header, rows)
    return _csv(header, rows)


def _with_public_weighting(
    report: Report, header: list[str], rows: list[list[Any]]
) -> tuple[list[str], list[list[Any]]]:
    """A survey of the public's questions table: the period's design effect, and the
    rolling year's weighted figures beside the period's."""
    assert report.weighting is not None
    year = report.weighting_year
    header = [*header, "design_effect"]
    if year is not None:
        header += [
            "year",
            "year_base",
            "year_weighted_percent",
            "year_weighted_low",
            "year_weighted_high",
            "year_effective_base",
            "year_design_effect",
        ]
    by_question = {} if year is None else {f.question_id: f.figure for f in year.figures}
    extended = []
    for q, row in zip(report.questions, rows, strict=True):
        row = [*row, report.weighting.design_effect]
        if year is not None:
            f = by_question.get(q.question_id)
            row += [year.period]
            row += [None] * 5 if f is None else [f.base, f.percent, f.low, f.high, f.effective_base]
            row += [year.design_effect]
        extended.append(row)
    return header, extended


def _breakdowns_table(report: Report) -> str:
    kinds = _kinds(report)
    header = ["question_id", "question", "dimension", "group", *_FIGURE, *kinds]
    rows = [
        [q.question_id, q.title, b.dimension, g.group, *_figure(g.figure)]
        + _counts(g.not_counted, kinds)
        for q in report.questions
        for b in q.breakdowns
        for g in b.groups
    ]
    return _csv(header, rows)


def _changes_table(report: Report) -> str:
    header = ["question_id", "question", "comparison", "against", "points", "low", "high"]
    rows = []
    for q in report.questions:
        differences = [("change", d) for d in q.changes]
        if q.ethnicity_gap is not None:
            differences.append(("ethnicity gap", q.ethnicity_gap))
        differences += [("change in ethnicity gap", d) for d in q.ethnicity_gap_changes]
        rows += [
            [q.question_id, q.title, kind, d.against, d.points, d.low, d.high, d.significant]
            for kind, d in differences
        ]
    return _csv([*header, "significant"], rows)


def _trend_table(report: Report) -> str:
    header = ["question_id", "question", "quarter", *_FIGURE]
    rows = [
        [q.question_id, q.title, point.period, *_figure(point.figure)]
        for q in report.questions
        for point in q.trend
    ]
    return _csv(header, rows)


def _slices(report: Report) -> list[tuple[str, RateRow]]:
    r = report.response
    return [
        ("all", r.overall),
        *(("district", row) for row in r.by_district),
        *(("quarter", row) for row in r.by_quarter),
    ]


def _dispositions_table(report: Report) -> str:
    rows = [
        [kind, row.slice, code, disposition_label(code), n]
        for kind, row in _slices(report)
        for code, n in sorted(row.dispositions.items())
    ]
    return _csv(["slice_kind", "slice", "code", "disposition", "cases"], rows)


def _rates_table(report: Report) -> str:
    names = list(RATE_NAMES)
    rows = [
        [kind, row.slice, row.e, *(row.rates.get(name) for name in names)]
        for kind, row in _slices(report)
    ]
    return _csv(["slice_kind", "slice", "e", *names], rows)


def _representativeness_table(report: Report) -> str:
    header = [
        "dimension",
        "group",
        "interviewed",
        "eligible",
        "interviewed_percent",
        "eligible_percent",
        "gap",
        "under_represented",
    ]
    rows = [
        [
            r.dimension,
            r.group,
            r.interviewed,
            r.eligible,
            r.interviewed_percent,
            r.eligible_percent,
            r.gap,
            r.under_represented,
        ]
        for r in report.representativeness.rows
    ]
    return _csv(header, rows)


def _recovery_table(report: Report) -> str:
    outcomes = outcome_keys(report.recovery.rows)
    header = [
        "district",
        "service_recovery",
        "action_alerts",
        "with_target",
        "contacted_in_time",
        "contacted_in_time_percent",
        "low",
        "high",
        "suppressed",
        "median_hours_to_contact",
        *(f"outcome_{o}" for o in outcomes),
    ]
    rows = []
    for row in report.recovery.rows:
        c = row.contacted_in_time
        rows.append(
            [
                row.district,
                row.service_recovery,
                row.action_alerts,
                row.with_target,
                c.positive,
                c.percent,
                c.low,
                c.high,
                c.suppressed,
                row.median_hours_to_contact,
                *_counts(row.outcomes, outcomes),
            ]
        )
    return _csv(header, rows)


_TABLE_WRITERS: dict[str, Callable[[Report], str]] = {
    "questions": _questions_table,
    "breakdowns": _breakdowns_table,
    "changes": _changes_table,
    "trend": _trend_table,
    "dispositions": _dispositions_table,
    "rates": _rates_table,
    "representativeness": _representativeness_table,
    "service_recovery": _recovery_table,
}


def report_tables(report: Report) -> dict[str, str]:
    """Each of the report's tables as CSV text, by name (the keys of :data:`TABLES`)."""
    return {name: _TABLE_WRITERS[name](report) for name in TABLES}


def report_table(report: Report, name: str) -> str:
    """One table as CSV text; KeyError for a name not in :data:`TABLES`."""
    return _TABLE_WRITERS[name](report)


# --- the report as JSON -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON values (dates as ISO strings), never the reasons."""
    data: dict[str, Any] = _plain(report)
    data["recovery"].pop("reasons", None)
    return data
