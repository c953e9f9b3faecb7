"""The administrator's pages: the audit log (search, page through, download), a victim's
data (see it, download it, erase it) and the staff accounts (sign out everywhere,
disable, enable, reset a password). Every one of them is written to the audit log."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

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
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit
from ivr.accounts.guards import access_required
from ivr.accounts.staff import AccountError, Role
from ivr.admin import accounts, user_pages
from ivr.admin import campaigns as campaign_pages
from ivr.admin import questionnaires as questionnaire_pages
from ivr.admin.audit_log import (
    PAGE_SIZE,
    SearchError,
    described,
    entry_row,
    local_time,
    search_from,
    to_csv,
)
from ivr.privacy.subject import SubjectError, erase_subject, export_subject, find_case
from ivr.services import current_services, recording_store
from ivr.store import audit as audit_store

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

#: Sign-in required, then 403 unless the account is an administrator's.
admin_access_required = access_required(lambda user: user.role == Role.ADMIN.value)
#: The largest id a row can have (the columns are 32-bit integers on PostgreSQL).
MAX_ID = 2**31 - 1
#: The furthest page asked for that is read as a page at all (beyond: the last page).
MAX_PAGE = 1_000_000
#: The longest case reference a case can have.
MAX_CASE_REF = 64
#: Written in the audit entries of what is done on these pages.
VIA = accounts.VIA


def _me() -> Any:
    # The account as a plain object, read before the domain opens any transaction.
    return current_user._get_current_object()


def _attachment(body: str, mimetype: str, name: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("")
@admin_access_required
def index() -> Any:
    """Where the data-protection pages start."""
    return render_template("admin/index.html")


# --- the audit log ------------------------------------------------------------------------


def _page_number(args: Mapping[str, str]) -> int:
    text = args.get("page", "")
    if not (text.isascii() and text.isdigit()):
        return 1
    # Never int() of a thousand digits: any page that long is past the end.
    return max(1, min(int(text) if len(text) <= 10 else MAX_PAGE, MAX_PAGE))


def _filters(args: Mapping[str, str]) -> dict[str, str]:
    """The search's fields as given, for the form and the paging links."""
    return {
        name: args.get(name, "").strip()
        for name in ("user", "case_ref", "action", "from", "to")
        if args.get(name, "").strip()
    }


def _audit_page(
    filters: dict[str, str],
    actions: list[str],
    *,
    lines: list[audit_store.AuditLine] | None = None,
    total: int = 0,
    page: int = 1,
    pages: int = 1,
    error: SearchError | None = None,
) -> tuple[str, int]:
    return render_template(
        "admin/audit.html",
        filters=filters,
        actions=actions,
        lines=lines or [],
        error_for=error.field if error else None,
        error=str(error) if error else None,
        total=total,
        page=page,
        pages=pages,
        local_time=local_time,
    ), (400 if error else 200)


@bp.get("/audit")
@admin_access_required
def audit_log() -> Any:
    """The audit log, newest first, 50 entries a page, searched by the query string."""
    svc, me = current_services(), _me()
    filters = _filters(request.args)
    with svc.db.reading() as conn:
        actions = audit_store.actions_in_log(conn)
    try:
        search = search_from(request.args)
    except SearchError as error:
        return _audit_page(filters, actions, error=error)
    wanted = _page_number(request.args)
    with svc.db.reading() as conn:
        total = audit_store.count_entries(conn, search)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        number = min(wanted, pages)
        lines = audit_store.find_entries(
            conn, search, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
    with svc.db.transaction() as session:
        audit.record(
            session,
            me,
            "view_audit_log",
            now=svc.clock(),
            page=number,
            entries=len(lines),
            search=described(search),
        )
    return _audit_page(filters, actions, lines=lines, total=total, page=number, pages=pages)


@bp.get("/audit.csv")
@admin_access_required
def audit_download() -> BaseResponse:
    """Every entry the search finds, newest first, as CSV (audited)."""
    svc, me = current_services(), _me()
    try:
        search = search_from(request.args)
    except SearchError as error:
        return Response(f"{error}\n", status=400, mimetype="text/plain")
    with svc.db.reading() as conn:
        lines = audit_store.find_entries(conn, search)
    with svc.db.transaction() as session:
        audit.record(
            session,
            me,
            "download_audit_log",
            now=svc.clock(),
            entries=len(lines),
            search=described(search),
        )
    return _attachment(to_csv(entry_row(line) for line in lines), "text/csv", "audit-log.csv")


# --- a victim's data ----------------------------------------------------------------------


def _case_asked(form: Mapping[str, str]) -> tuple[str, str]:
    """The survey and case reference asked for; 404 for a survey that does not exist."""
    # No NUL byte is stored anywhere (PostgreSQL refuses one in any text it is sent).
    survey = form.get("survey", "").replace("\x00", "").strip()
    case_ref = form.get("case_ref", "").replace("\x00", "").strip()[: MAX_CASE_REF + 1]
    if survey and survey not in current_services().questionnaires.surveys():
        abort(404)
    return survey, case_ref


def _subjects_page(
    *,
    survey: str = "",
    case_ref: str = "",
    held: dict[str, Any] | None = None,
    error_for: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "admin/subjects.html",
        surveys=current_services().questionnaires.surveys(),
        survey=survey,
        case_ref=case_ref,
        held=held,
        error_for=error_for,
        error=error,
        as_text=_as_text,
    ), status


def _as_text(value: Any) -> str:
    """A held value as a cell shows it: JSON for what has parts, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


@bp.get("/subjects")
@admin_access_required
def subjects() -> Any:
    """Find a case by survey and reference, and show everything held about it (audited)."""
    survey, case_ref = _case_asked(request.args)
    if not case_ref:
        return _subjects_page(survey=survey)
    if not survey:
        return _subjects_page(
            case_ref=case_ref, error_for="survey", error="Choose the survey.", status=400
        )
    svc = current_services()
    try:
        held = export_subject(svc.db, case_ref, survey, actor=_me(), now=svc.clock(), via=VIA)
    except SubjectError:
        return _subjects_page(
            survey=survey,
            case_ref=case_ref,
            error_for="case_ref",
            error="There is no case with this reference in this survey.",
            status=404,
        )
    return _subjects_page(survey=survey, case_ref=case_ref, held=held)


@bp.get("/subjects/download")
@admin_access_required
def subject_download() -> BaseResponse:
    """Everything held about one case as a JSON file, for the victim (audited)."""
    survey, case_ref = _case_asked(request.args)
    if not survey or not case_ref:
        abort(404)
    svc = current_services()
    try:
        held = export_subject(
            svc.db, case_ref, survey, actor=_me(), now=svc.clock(), via=f"{VIA}, download"
        )
    except SubjectError:
        abort(404)
    body = json.dumps(held, indent=2, ensure_ascii=False, default=str)
    # The file's name says the case's id, not its reference: a download folder is no
    # place for a police reference.
    return _attachment(
        body, "application/json", f"subject-access-case-{held['held']['case']['id']}.json"
    )


@bp.post("/subjects/erase")
@admin_access_required
def subject_erase() -> Any:
    """Erase one victim's personal data once the reference is typed again (audited)."""
    survey, case_ref = _case_asked(request.form)
    if not survey or not case_ref:
        abort(404)
    if request.form.get("confirm_ref", "").strip() != case_ref:
        return _subjects_page(
            survey=survey,
            case_ref=case_ref,
            error_for="confirm_ref",
            error="Nothing was erased: type the case reference exactly to confirm.",
            status=400,
        )
    svc = current_services()
    try:
        find_case(svc.db, case_ref, survey)
    except SubjectError:
        abort(404)
    answers = request.form.get("answers") == "remove"
    try:
        erased = erase_subject(
            svc.db,
            case_ref,
            survey,
            answers=answers,
            recordings=recording_store(svc),
            actor=_me(),
            now=svc.clock(),
            via=VIA,
        )
    except SubjectError as error:
        # A call under way, or a recording Twilio would not delete yet: its message
        # names only the reference the administrator typed.
        return _subjects_page(
            survey=survey, case_ref=case_ref, error_for="erase", error=str(error), status=409
        )
    kept = "removed too" if answers else "kept, with nothing to say whose they are"
    # Flashed messages live in the session cookie: no reference, name or number in it.
    flash(
        f"The case's personal data was erased: {erased.interviews} interview(s), "
        f"{erased.turns} call turn(s), {len(erased.recordings)} recording(s); "
        f"its {erased.answers} answer(s) {kept}.",
        "success",
    )
    return redirect(url_for("admin.subjects"))


# --- staff accounts -----------------------------------------------------------------------


def _users_page(
    *,
    error_for: int | None = None,
    error: str | None = None,
    field: str | None = None,
    typed: Mapping[str, Any] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The list of accounts; ``error`` is shown beside ``field`` of account ``error_for``'s
    forms, which keep what was ``typed``."""
    svc = current_services()
    return render_template(
        "admin/users.html",
        accounts=accounts.accounts(svc.db, svc.clock(), svc.settings.session_max_hours),
        phones=accounts.account_phones(svc.db),
        districts=accounts.sample_districts(svc.db),
        me=_me().id,
        roles={role.value: role.label for role in Role},
        error_for=error_for,
        error=error,
        field=field or "password",
        typed=typed or {},
        local_time=local_time,
    ), status


@bp.get("/users")
@admin_access_required
def users() -> Any:
    """Every account: role, districts, whether enabled, last sign-in and open sessions."""
    return _users_page()


def _check_id(user_id: int) -> None:
    if not 0 < user_id <= MAX_ID:
        abort(404)


def _user_action(user_id: int, do: Any) -> Any:
    """Run one change to an account; its refusal re-renders the list with the reason."""
    _check_id(user_id)
    try:
        message = do()
    except accounts.NoSuchAccount:
        abort(404)
    except AccountError as error:
        text = str(error)
        return _users_page(error_for=user_id, error=text[:1].upper() + text[1:] + ".", status=400)
    flash(message, "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/sign-out")
@admin_access_required
def user_sign_out(user_id: int) -> Any:
    """End every session of an account (it stays enabled)."""
    svc = current_services()

    def sign_out() -> str:
        ended = accounts.sign_out_everywhere(svc.db, _me(), user_id, svc.clock())
        return f"Signed out everywhere: {ended} session(s) ended."

    return _user_action(user_id, sign_out)


@bp.post("/users/<int:user_id>/disable")
@admin_access_required
def user_disable(user_id: int) -> Any:
    """Disable an account: it cannot sign in, and its sessions end."""
    svc = current_services()

    def disable() -> str:
        done = accounts.disable(svc.db, _me(), user_id, svc.clock())
        return "The account is disabled." if done else "The account was already disabled."

    return _user_action(user_id, disable)


@bp.post("/users/<int:user_id>/enable")
@admin_access_required
def user_enable(user_id: int) -> Any:
    """Let a disabled account sign in again."""
    svc = current_services()

    def enable() -> str:
        done = accounts.enable(svc.db, _me(), user_id, svc.clock())
        return "The account is enabled again." if done else "The account was already enabled."

    return _user_action(user_id, enable)


@bp.post("/users/<int:user_id>/password")
@admin_access_required
def user_password(user_id: int) -> Any:
    """Set a new password for an account; every session of it ends."""
    svc = current_services()
    password = request.form.get("password", "")
    again = request.form.get("password_again", "")

    def reset() -> str:
        if password != again:
            raise AccountError("the two passwords are not the same")
        accounts.reset_password(svc.db, _me(), user_id, password, svc.clock())
        return "The new password is set, and every session of the account has ended."

    return _user_action(user_id, reset)


@bp.post("/users/<int:user_id>/second-factor/reset")
@admin_access_required
def user_second_factor_reset(user_id: int) -> Any:
    """Take an account's second factor away; every session of it ends."""
    svc = current_services()

    def reset() -> str:
        had_one = accounts.reset_second_factor(svc.db, _me(), user_id, svc.clock())
        if had_one:
            return "The second factor is reset: the account sets up a new one at its next sign-in."
        return "The account had no second factor; any setup it had begun is cleared."

    return _user_action(user_id, reset)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_access_required
def user_add() -> Any:
    """Add an account: email, name, role, districts, phone and a password (typed, or made
    and shown once)."""
    return user_pages.add_page()


@bp.post("/users/<int:user_id>/role")
@admin_access_required
def user_role(user_id: int) -> Any:
    """Give an account another role, or a district research officer other districts."""
    _check_id(user_id)
    return user_pages.change_role(user_id, _users_page)


@bp.post("/users/<int:user_id>/phone")
@admin_access_required
def user_phone(user_id: int) -> Any:
    """Record, change or remove an account's own phone (the console rings it first)."""
    _check_id(user_id)
    return user_pages.set_phone(user_id, _users_page)


def init_app(app: Flask) -> None:
    """Register the administrator's pages on ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(campaign_pages.bp)
    app.register_blueprint(questionnaire_pages.bp)
