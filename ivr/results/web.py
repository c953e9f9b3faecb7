"""The results pages: choose a survey and a period, read its report, download it as files.

Every view needs a signed-in account that may read results (everyone but interviewers);
whose figures it sees is :func:`ivr.accounts.staff.results_scope`: a district research
officer's own districts, the victim service's managers their own survey, everyone else
all. Dissatisfied victims' reasons are shown on the page to roles that work referrals,
and never put in a download; every download is written to the audit trail.

The page renders a finished report (:func:`_report_for`) and computes no figure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit
from ivr.accounts.guards import results_access_required
from ivr.accounts.staff import results_scope, results_surveys
from ivr.calendar import ZONE
from ivr.results import files
from ivr.results.model import Period, PeriodError, Report, Scope
from ivr.results.report import build_report
from ivr.results.settings import thresholds_of
from ivr.services import current_services

bp = Blueprint("results", __name__, url_prefix="/results", template_folder="templates")

#: How the period is chosen, as the form's radio buttons say it.
PERIOD_KINDS = {
    "quarter": "A quarter",
    "year": "The 12 months to the end of a quarter",
    "dates": "Any two dates",
}
#: The years a report can be asked for (a typing slip should not reach the database).
FIRST_YEAR, LAST_YEAR = 2000, 2099
#: The whole report's downloads, by extension.
DOWNLOADS = {"html": "text/html", "pdf": "application/pdf", "json": "application/json"}


class FormError(ValueError):
    """A field of the period form that cannot be read; ``field`` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _me() -> Any:
    return current_user._get_current_object()


# --- the period ----------------------------------------------------------------------------


def _quarter(text: str, field: str = "quarter") -> Period:
    if not text.strip():
        raise FormError(field, "Enter a quarter, for example 2026Q3")
    try:
        period = Period.parse_quarter(text)
    except PeriodError:
        raise FormError(
            field,
            f"'{text.strip()[:20]}' is not a quarter: write it as a year and quarter, "
            "for example 2026Q3",
        ) from None
    _check_years(period, field)
    return period


def _day(args: Mapping[str, str], field: str, which: str) -> date:
    text = args.get(field, "").strip()
    if not text:
        raise FormError(field, f"Enter the {which} day, for example 2026-07-01")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormError(
            field,
            f"'{text[:20]}' is not a date: write the {which} day as year-month-day, "
            "for example 2026-07-01",
        ) from None


def _check_years(period: Period, field: str) -> None:
    if period.start.year < FIRST_YEAR or period.end.year > LAST_YEAR:
        raise FormError(field, f"Results can be shown for {FIRST_YEAR} to {LAST_YEAR} only")


def period_from(args: Mapping[str, str]) -> Period:
    """The period a query string asks for: ``period=quarter&quarter=2026Q3``,
    ``period=year&quarter=2026Q3`` (the 12 months to it) or
    ``period=dates&from=2026-07-01&to=2026-08-15``; FormError says what is wrong."""
    kind = args.get("period", "quarter")
    if kind == "quarter":
        return _quarter(args.get("quarter", ""))
    if kind == "year":
        quarter = _quarter(args.get("quarter", ""))
        assert quarter.quarter is not None
        period = Period.rolling_year(*quarter.quarter)
        _check_years(period, "quarter")
        return period
    if kind == "dates":
        start = _day(args, "from", "first")
        end = _day(args, "to", "last")
        if end < start:
            raise FormError("to", "The last day is before the first day: swap them round")
        period = Period.between(start, end)
        _check_years(period, "from")
        return period
    raise FormError("period", "Choose a quarter, the 12 months to a quarter, or two dates")


def _period_query(args: Mapping[str, str]) -> dict[str, Any]:
    """The query string that asks for the same period (and weighting) again."""
    kind = args.get("period", "quarter")
    query: dict[str, Any] = {"period": kind}
    if kind == "dates":
        query |= {"from": args.get("from", "").strip(), "to": args.get("to", "").strip()}
    else:
        query["quarter"] = args.get("quarter", "").strip().upper().replace(" ", "")
    if _weighted(args):
        query["weighted"] = "1"
    return query


def _weighted(args: Mapping[str, str]) -> bool:
    return args.get("weighted") in ("1", "on", "yes", "true")


def _last_full_quarter() -> str:
    today = current_services().clock().astimezone(ZONE).date()
    index = today.year * 4 + (today.month - 1) // 3 - 1
    return f"{index // 4}Q{index % 4 + 1}"


# --- reports -------------------------------------------------------------------------------


def _surveys(user: Any) -> dict[str, str]:
    """The surveys ``user`` may read, with their titles."""
    registry = current_services().questionnaires
    return {
        survey: registry.current(survey).questionnaire.title
        for survey in results_surveys(user, registry.surveys())
    }


def _allowed(survey: str, user: Any) -> None:
    if survey not in current_services().questionnaires.surveys():
        abort(404)
    if not results_surveys(user, [survey]):
        abort(403)


def _report_for(survey: str, period: Period, scope: Scope, *, weighted: bool) -> Report:
    """The finished report for a reader with ``scope``: the one place pages get figures."""
    svc = current_services()
    return build_report(
        svc.db,
        svc.questionnaires,
        survey,
        period,
        scope=scope,
        thresholds=thresholds_of(svc.settings),
        weighted=weighted,
        now=svc.clock(),
    )


def _form_page(
    user: Any, args: Mapping[str, str], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    surveys = _surveys(user)
    chosen = {
        "survey": args.get("survey", "") or next(iter(surveys), ""),
        "period": args.get("period", "quarter"),
        "quarter": args["quarter"] if "quarter" in args else _last_full_quarter(),
        "from": args.get("from", ""),
        "to": args.get("to", ""),
        "weighted": _weighted(args),
    }
    return render_template(
        "results/index.html",
        surveys=surveys,
        chosen=chosen,
        errors=errors,
        kinds=PERIOD_KINDS,
        scope=results_scope(user),
    ), status


# --- pages ---------------------------------------------------------------------------------


@bp.get("")
@results_access_required
def index() -> Any:
    """Choose a survey and a period; a valid choice goes on to its report."""
    user = _me()
    if "survey" not in request.args:
        return _form_page(user, request.args, {})
    errors: dict[str, str] = {}
    survey = request.args.get("survey", "")
    if survey not in _surveys(user):
        errors["survey"] = "Choose one of the surveys listed"
    try:
        period_from(request.args)
    except FormError as error:
        errors[error.field] = str(error)
    if errors:
        return _form_page(user, request.args, errors, 400)
    return redirect(url_for("results.report", survey=survey, **_period_query(request.args)))


@bp.get("/<survey>")
@results_access_required
def report(survey: str) -> Any:
    """A survey's report for the period in the query string."""
    user = _me()
    _allowed(survey, user)
    try:
        period = period_from(request.args)
    except FormError as error:
        return _form_page(user, {**request.args, "survey": survey}, {error.field: str(error)}, 400)
    scope = results_scope(user)
    weighted = _weighted(request.args)
    found = _report_for(survey, period, scope, weighted=weighted)
    show_reasons = scope.reasons and bool(found.recovery.reasons)
    if show_reasons:
        # A victim's own words are personal details: reading them is on the record.
        svc = current_services()
        with svc.db.transaction() as session:
            audit.record(
                session,
                user,
                "view_results_reasons",
                now=svc.clock(),
                survey=survey,
                period=period.label,
                reasons=len(found.recovery.reasons),
            )
    query = _period_query(request.args)
    other = dict(query)
    if weighted:
        other.pop("weighted")
    else:
        other["weighted"] = "1"
    return render_template(
        "results/report.html",
        report=found,
        title=files.title(found),
        body=files.report_body(found, with_reasons=scope.reasons),
        query=query,
        weighting_link=url_for("results.report", survey=survey, **other),
        change_link=url_for("results.index", survey=survey, **query),
        tables=files.TABLES,
    )


# --- downloads -----------------------------------------------------------------------------


def _download_report(survey: str, what: str) -> Report:
    """The report for a download, never with reasons, and its audit entry written."""
    user = _me()
    _allowed(survey, user)
    try:
        period = period_from(request.args)
    except FormError as error:
        abort(Response(f"{error}\n", status=400, mimetype="text/plain"))
    # Downloads leave the building: the reasons are never even fetched for them.
    scope = replace(results_scope(user), reasons=False)
    weighted = _weighted(request.args)
    found = _report_for(survey, period, scope, weighted=weighted)
    svc = current_services()
    with svc.db.transaction() as session:
        audit.record(
            session,
            user,
            "download_results",
            now=svc.clock(),
            survey=survey,
            period=period.label,
            start=period.start.isoformat(),
            end=period.end.isoformat(),
            file=what,
            weighted=weighted,
            scope=scope.label,
        )
    return found


def _attachment(body: str | bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/<survey>/report.<extension>")
@results_access_required
def download(survey: str, extension: str) -> BaseResponse:
    """The whole report as one self-contained HTML file, a PDF, or JSON."""
    if extension not in DOWNLOADS:
        abort(404)
    found = _download_report(survey, f"report.{extension}")
    body: str | bytes
    if extension == "html":
        body = files.report_html(found)
    elif extension == "pdf":
        body = files.report_pdf(found)
    else:
        body = json.dumps(files.report_json(found), indent=2, ensure_ascii=False) + "\n"
    return _attachment(body, DOWNLOADS[extension], files.file_name(found, extension))


@bp.get("/<survey>/tables/<name>.csv")
@results_access_required
def table(survey: str, name: str) -> BaseResponse:
    """One of the report's tables as CSV."""
    if name not in files.TABLES:
        abort(404)
    found = _download_report(survey, f"tables/{name}.csv")
    return _attachment(
        files.report_table(found, name), "text/csv", files.file_name(found, f"{name}.csv")
    )


def init_app(app: Flask) -> None:
    """Add the results pages to ``app``."""
    app.register_blueprint(bp)
