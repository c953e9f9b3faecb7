"""The service-recovery queue: the list, one referral's page and actions, the dashboard.

Every view needs a signed-in account whose role works the queue, and every referral is
looked up through :func:`may_see`: one the account may not see is "not found" (404), so
that its existence is not revealed, whatever the URL or method.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit
from ivr.accounts.guards import queue_access_required
from ivr.accounts.staff import Role, may_hear_recordings, may_see
from ivr.engine.script import render
from ivr.questionnaire.schema import Questionnaire
from ivr.referrals import workflow
from ivr.referrals.workflow import (
    CLOSING_OUTCOMES,
    CONTACT_OUTCOMES,
    KINDS,
    QueueFilters,
    QueueListing,
    QueueRow,
    Status,
    WorkflowError,
)
from ivr.services import current_services
from ivr.spreadsheet import text_cell
from ivr.store import referrals as referral_store
from ivr.store import staff as staff_store
from ivr.store.interviews import pinned_questionnaire
from ivr.store.models import Referral, User
from ivr.telephony.media import media_hosts, on_media_host
from ivr.telephony.numbers import PhoneError, to_e164
from ivr.wording import language_name, local_time, sentence, words

bp = Blueprint("queue", __name__, template_folder="templates")
#: Dashboard column headings, after "Closed this quarter:".
_OUTCOME_COLUMNS = {
    "contacted_resolved": "resolved",
    "contacted_escalated": "escalated",
    "not_contactable": "not contactable",
    "declined": "declined",
}
_FILTERS = ("kind", "district", "survey", "crime_type", "status", "case_ref")


def _me() -> Any:
    # The account is read before any transaction opens, and then used as a plain object.
    return current_user._get_current_object()


@contextmanager
def _reading() -> Iterator[Session]:
    # Lists and figures only read: outside a transaction they take no SQLite write lock,
    # which the webhooks would otherwise wait for.
    with current_services().db.reading() as conn, Session(bind=conn) as session:
        yield session


def _visible(session: Session, referral_id: int, user: Any, *, lock: bool = False) -> Referral:
    # Actions lock the row, so two people closing it at once take turns (PostgreSQL).
    referral = referral_store.referral_by_id(session, referral_id, lock=lock)
    if referral is None or not may_see(user, referral):
        abort(404)
    return referral


class Surveys(NamedTuple):
    """What the pages say of the surveys: each one's title, and the services (not police
    districts) that some survey's referrals are routed to."""

    titles: dict[str, str]
    services: frozenset[str]
    #: Each survey's own language: an interview with none stored was held in it.
    languages: dict[str, str]

    def language_of(self, row: QueueRow) -> str:
        """The language a referral's interview was held in, by its tag."""
        return row.language or self.languages.get(row.survey, "en-GB")

    def other_language(self, row: QueueRow) -> str | None:
        """The interview's language where it is not its questionnaire's own, else None."""
        language = self.language_of(row)
        return None if language == self.languages.get(row.survey, "en-GB") else language


def _surveys() -> Surveys:
    registry = current_services().questionnaires
    titles: dict[str, str] = {}
    services: set[str] = set()
    languages: dict[str, str] = {}
    for survey in registry.surveys():
        questionnaire = registry.current(survey).questionnaire
        titles[survey] = questionnaire.title
        languages[survey] = questionnaire.language
        if questionnaire.routing.to == "service" and questionnaire.routing.service:
            services.add(questionnaire.routing.service)
    return Surveys(titles, frozenset(services), languages)


class Asked(NamedTuple):
    """The queue's filters as asked in the address, checked."""

    #: Each filter's value as given (None: any), to show in the form and keep in links.
    chosen: dict[str, str | None]
    overdue: bool
    filters: QueueFilters
    page: int
    #: What was wrong with the address, if anything (the rest of it is still used).
    error: str | None = None


def _asked(args: Mapping[str, str]) -> Asked:
    # No NUL byte reaches a query (PostgreSQL refuses one in any text it is sent).
    chosen = {name: args.get(name, "").replace("\x00", "").strip() or None for name in _FILTERS}
    overdue = args.get("overdue") == "1"
    errors: list[str] = []
    # Each checked filter on its own, so that one bad value leaves the others in use.
    checks: dict[str, Callable[[str | None], QueueFilters]] = {
        "status": lambda value: QueueFilters(status=value),
        "kind": lambda value: QueueFilters(kind=value),
        "case_ref": lambda value: QueueFilters(case_ref=value),
    }
    for name, check in checks.items():
        try:
            check(chosen[name])
        except WorkflowError as error:
            errors.append(str(error))
            chosen[name] = None
    filters = QueueFilters(**chosen, overdue=overdue)
    page_text = args.get("page", "1").strip() or "1"
    page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 0
    if page < 1:
        errors.append(f"'{page_text[:20]}' is not a page number: showing page 1")
        page = 1
    return Asked(chosen, overdue, filters, page, "; ".join(errors) or None)


def _kept(asked: Asked) -> dict[str, str]:
    """The filters to keep in a link: the previous and next pages, the download."""
    kept = {name: value for name, value in asked.chosen.items() if value}
    if asked.overdue:
        kept["overdue"] = "1"
    return kept


@bp.get("/queue")
@queue_access_required
def index() -> Any:
    """The referrals the account may see, filtered or searched by case reference, one
    page at a time, with counts per status."""
    user, svc = _me(), current_services()
    asked = _asked(request.args)
    if asked.error:
        flash(asked.error, "error")
    surveys = _surveys()
    with _reading() as session:
        listing = workflow.list_referrals(
            session, user, asked.filters, svc.clock(), page=asked.page
        )
    listing.choices["district"] = [
        d for d in listing.choices.get("district", []) if d not in surveys.services
    ]
    return render_template(
        "queue.html",
        listing=listing,
        chosen=asked.chosen,
        overdue=asked.overdue,
        statuses=list(Status),
        kinds=KINDS,
        surveys=surveys,
        kept=_kept(asked),
        filtered=any(asked.chosen.values()) or asked.overdue,
    ), 400 if asked.error else 200


#: The download's columns, in order.
CSV_COLUMNS = (
    "referral",
    "case_ref",
    "kind",
    "district",
    "routed_to",
    "survey",
    "language",
    "crime_type",
    "status",
    "raised",
    "first_contact_due",
    "first_contact_made",
    "overdue",
    "assigned_to",
)


def _csv_row(row: QueueRow, surveys: Surveys) -> list[str]:
    routed = row.district in surveys.services

    def when(moment: datetime | None) -> str:
        return local_time(moment) if moment else ""

    cells = [
        str(row.id),
        # As on the page: without consent to contact, the case is not named.
        row.case_ref if row.consented else "",
        KINDS.get(row.kind, row.kind),
        "" if routed else row.district,
        row.district if routed else "",
        surveys.titles.get(row.survey, row.survey),
        language_name(surveys.language_of(row)),
        words(row.crime_type) if row.crime_type else "",
        Status(row.status).label if row.status in set(Status) else row.status,
        when(row.created_at),
        when(row.due_at),
        when(row.first_contact_at),
        "yes" if row.overdue else "no",
        row.assigned_to or "",
    ]
    return [text_cell(cell) for cell in cells]


def queue_csv(listing: QueueListing, surveys: Surveys) -> str:
    """The listing as CSV, every cell one a spreadsheet shows as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(row, surveys) for row in listing.rows)
    return buffer.getvalue()


@bp.get("/queue.csv")
@queue_access_required
def download() -> BaseResponse:
    """Every referral the queue's filters find, on all pages, as CSV (audited)."""
    user, svc = _me(), current_services()
    asked = _asked(request.args)
    if asked.error:
        return Response(f"{sentence(asked.error)}\n", status=400, mimetype="text/plain")
    surveys = _surveys()
    with _reading() as session:
        listing = workflow.list_referrals(session, user, asked.filters, svc.clock(), page=None)
    with svc.db.transaction() as session:
        audit.record(
            session,
            user,
            "download_queue",
            now=svc.clock(),
            referrals=len(listing.rows),
            filters=_kept(asked),
        )
    response = Response(queue_csv(listing, surveys), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="referrals.csv"'
    return response


def _questionnaire_of(session: Session, referral: Referral) -> Questionnaire | None:
    interview = referral_store.interview_of(session, referral)
    if interview is None:
        return None
    try:
        return pinned_questionnaire(session, interview.questionnaire_version_id)
    except (LookupError, ValueError):
        return None


def _whom_to_contact(
    session: Session, referral: Referral, questionnaire: Questionnaire | None
) -> dict[str, str | None]:
    """Who to contact and on which number: the sample's, or (a survey of the public) the
    name and better number the respondent gave when they asked to be contacted."""
    case = referral.case
    rule = next(
        (r for r in (questionnaire.referrals if questionnaire else ()) if r.kind == referral.kind),
        None,
    )
    asked = [qid for qid in (rule.contact_name, rule.contact_number) if qid] if rule else []
    said = referral_store.answer_words(session, referral.interview_id, asked) if asked else {}
    name = case.first_name
    if name is None and rule is not None and rule.contact_name in said:
        name = said[rule.contact_name] or "Recorded: play the recording"
    phone = case.phone
    if rule is not None and rule.contact_number and said.get(rule.contact_number):
        typed = str(said[rule.contact_number])
        try:
            phone = to_e164(typed)
        except PhoneError:
            # Keyed on the phone, so shown as keyed: the officer can still read it.
            phone = typed
    return {"name": name, "phone": phone}


def _reasons(
    session: Session, referral: Referral, questionnaire: Questionnaire | None
) -> list[dict[str, Any]]:
    values = referral.case.field_values()
    # A recorded or typed reason has no option's words: its words are the answer's own,
    # shown only when the respondent agreed to be contacted.
    free = [str(r.get("question")) for r in referral.reasons or () if r.get("answer") is None]
    said = (
        referral_store.answer_words(session, referral.interview_id, free)
        if free and referral.consented
        else {}
    )
    reasons = []
    for reason in referral.reasons or ():
        question_id = str(reason.get("question"))
        prompt = None
        if questionnaire is not None:
            try:
                prompt = render(questionnaire, questionnaire.question(question_id).prompt, values)
            except KeyError:
                prompt = None
        reasons.append(
            {
                "question": question_id,
                "prompt": prompt,
                "answer": reason.get("answer") or said.get(question_id),
                "code": reason.get("code"),
            }
        )
    return reasons


def _assignable(session: Session, referral: Referral) -> list[User]:
    staff = staff_store.active_users_without_role(session, Role.INTERVIEWER.value)
    return [u for u in staff if may_see(u, referral)]


def _referral_page(
    referral_id: int,
    user: Any,
    *,
    form: Mapping[str, str] | None = None,
    error_for: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    svc = current_services()
    now = svc.clock()
    with svc.db.transaction() as session:
        referral = _visible(session, referral_id, user)
        audit.record(
            session, user, "view_referral", object_type="referral", object_id=referral.id, now=now
        )
        questionnaire = _questionnaire_of(session, referral)
        surveys = _surveys()
        page = render_template(
            "referral.html",
            referral=referral,
            kinds=KINDS,
            survey_title=surveys.titles.get(referral.survey, referral.survey),
            routed=referral.district in surveys.services,
            case=referral.case,
            contact=_whom_to_contact(session, referral, questionnaire)
            if referral.consented
            else {},
            reasons=_reasons(session, referral, questionnaire),
            recording=referral.consented
            and may_hear_recordings(user)
            and referral_store.recording_url(session, referral) is not None,
            events=list(referral.events),
            assignable=_assignable(session, referral),
            overdue=workflow.is_overdue(referral, now),
            no_contact_tries=workflow.no_contact_tries(referral),
            not_contactable=workflow.may_close_not_contactable(referral),
            tries_needed=workflow.NO_CONTACT_TRIES,
            max_text=workflow.MAX_TEXT,
            contact_outcomes=CONTACT_OUTCOMES,
            closing_outcomes=CLOSING_OUTCOMES,
            closed=referral.status == Status.CLOSED,
            form=form or {},
            error_for=error_for,
            error=error,
        )
    return page, status


@bp.get("/queue/referrals/<int:referral_id>")
@queue_access_required
def referral(referral_id: int) -> Any:
    """One referral: why it was raised, the victim's words, case details, timeline, actions."""
    return _referral_page(referral_id, _me())


@bp.get("/queue/referrals/<int:referral_id>/recording")
@queue_access_required
def recording(referral_id: int) -> BaseResponse:
    """The victim's recorded words: checked, audited, then the stored recording as MP3."""
    user, svc = _me(), current_services()
    with svc.db.transaction() as session:
        referral = _visible(session, referral_id, user)
        if not may_hear_recordings(user):
            abort(403)
        if not referral.consented:
            abort(404)  # the victim's words go with their consent to be contacted
        url = referral_store.recording_url(session, referral)
        if url is None or not on_media_host(url, media_hosts(svc.settings.twilio_api_base_url)):
            abort(404)  # a recording kept before webhooks checked its host goes nowhere
        audit.record(
            session,
            user,
            "play_recording",
            object_type="referral",
            object_id=referral.id,
            now=svc.clock(),
        )
    return redirect(url if url.endswith(".mp3") else url + ".mp3")


Action = Callable[[Session, Referral, Any, datetime], tuple[str, dict[str, Any]]]


def _act(referral_id: int, action: str, form_name: str, do: Action) -> Any:
    """Run one action on a visible referral, audited; WorkflowError re-renders the page
    with the error and the input kept (400)."""
    user, svc = _me(), current_services()
    now = svc.clock()
    try:
        with svc.db.transaction() as session:
            referral = _visible(session, referral_id, user, lock=True)
            message, details = do(session, referral, user, now)
            audit.record(
                session,
                user,
                action,
                object_type="referral",
                object_id=referral.id,
                now=now,
                **details,
            )
    except WorkflowError as error:
        flash(f"Not done: {error}.", "error")
        return _referral_page(
            referral_id,
            user,
            form=request.form,
            error_for=form_name,
            error=sentence(str(error)),
            status=400,
        )
    flash(message, "success")
    return redirect(url_for("queue.referral", referral_id=referral_id))


def _assign(
    session: Session, referral: Referral, user: Any, now: datetime
) -> tuple[str, dict[str, Any]]:
    chosen = request.form.get("user_id", "")
    to_user = staff_store.user_by_id(session, int(chosen)) if chosen.isdigit() else None
    if to_user is None:
        raise WorkflowError("choose someone to assign it to")
    workflow.assign(referral, to_user, user, now=now)
    who = "you" if to_user.id == user.id else to_user.email
    return f"Referral #{referral.id} is assigned to {who}.", {"to_user_id": to_user.id}


def _note(
    session: Session, referral: Referral, user: Any, now: datetime
) -> tuple[str, dict[str, Any]]:
    workflow.add_note(referral, request.form.get("note_text", ""), user, now=now)
    return "Your note is added.", {}


def _contact(
    session: Session, referral: Referral, user: Any, now: datetime
) -> tuple[str, dict[str, Any]]:
    outcome = request.form.get("contact_outcome", "")
    workflow.record_contact(referral, outcome, user, request.form.get("contact_note"), now=now)
    message = f"Contact attempt recorded: {CONTACT_OUTCOMES[outcome].lower()}."
    if outcome == "no_contact" and workflow.may_close_not_contactable(referral):
        message += (
            f" After {workflow.no_contact_tries(referral)} tries without contact, "
            "you may close it as not contactable."
        )
    return message, {"outcome": outcome}


def _close(
    session: Session, referral: Referral, user: Any, now: datetime
) -> tuple[str, dict[str, Any]]:
    outcome = request.form.get("close_outcome", "")
    workflow.close(referral, outcome, user, request.form.get("close_note"), now=now)
    return f"Referral #{referral.id} is closed: {CLOSING_OUTCOMES[outcome].lower()}.", {
        "outcome": outcome
    }


def _reopen(
    session: Session, referral: Referral, user: Any, now: datetime
) -> tuple[str, dict[str, Any]]:
    workflow.reopen(referral, user, request.form.get("reopen_reason", ""), now=now)
    return f"Referral #{referral.id} is open again.", {}


_ACTIONS: dict[str, tuple[str, Action]] = {
    "assign": ("assign", _assign),
    "note": ("note", _note),
    "contact": ("contact_attempt", _contact),
    "close": ("close", _close),
    "reopen": ("reopen", _reopen),
}


@bp.post("/queue/referrals/<int:referral_id>/<any(assign, note, contact, close, reopen):form>")
@queue_access_required
def act(referral_id: int, form: str) -> Any:
    """Assign, add a note, record a contact attempt, close or reopen; then back to the page."""
    action, do = _ACTIONS[form]
    return _act(referral_id, action, form, do)


@bp.get("/dashboard")
@queue_access_required
def dashboard() -> Any:
    """Open, overdue, speed of first contact and this quarter's outcomes, per district."""
    user, svc = _me(), current_services()
    with _reading() as session:
        board = workflow.dashboard(session, user, svc.clock())
    return render_template(
        "dashboard.html",
        board=board,
        outcome_columns=_OUTCOME_COLUMNS,
        services=_surveys().services,
        working_days=svc.settings.referral_due_working_days,
    )


def init_app(app: Flask) -> None:
    """Add the queue and dashboard pages to ``app``."""
    app.register_blueprint(bp)
    app.add_template_filter(words, "words")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(language_name, "language_name")
