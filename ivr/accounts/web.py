"""Signing in and out: the sign-in page, its limits and where each role lands."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NamedTuple

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    render_template_string,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit, sessions
from ivr.accounts.guards import THROTTLE, StaffUser, safe_next
from ivr.accounts.staff import AccountError, authenticate, set_password
from ivr.accounts.throttle import Attempt, SignInThrottle
from ivr.services import current_services
from ivr.store import staff as staff_store

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__, template_folder="templates")

#: Where people who work referrals land after signing in.
QUEUE_PATH = "/queue"
#: Where interviewers land: the assisted-call console.
CONSOLE_PATH = "/console"
#: Where the Commissioner's analysts work: they see results, nothing else.
RESULTS_PATH = "/results"
#: The longest email kept in the audit trail from a failed attempt (the column's width).
MAX_EMAIL_LENGTH = 254
BAD_CREDENTIALS = "The email address or password is not right"
TOO_MANY_ATTEMPTS = (
    "Too many attempts to sign in. Wait 15 minutes, then try again, or ask an "
    "administrator to help."
)
NO_QUEUE_PAGE = """{% extends "base.html" %}
{% block title %}Signed in{% endblock %}
{% block content %}
<h1>You are signed in</h1>
<p>You are signed in as {{ current_user.email }} ({{ current_user.role_label }}).</p>
<p>Your account has no access to the service-recovery queue. If you need it, ask an
administrator to change your role.</p>
{% endblock %}
"""


def _landing() -> str:
    if current_user.works_queue:
        return QUEUE_PATH
    if current_user.role == "analyst":
        return RESULTS_PATH
    return CONSOLE_PATH if current_user.role == "interviewer" else "/"


class _Tried(NamedTuple):
    attempt: Attempt
    #: The account the email names, if any: the audit names it, not the text typed (which
    #: may be a password typed in the wrong box).
    account_id: int | None


def _tried(email: str, now: datetime) -> _Tried:
    account = email.strip().lower()[:MAX_EMAIL_LENGTH]
    address = audit.client_address() or "-"
    with current_services().db.reading() as conn:
        usual = staff_store.signed_in_from(conn, account, address, now - sessions.KEPT_FOR)
        account_id = staff_store.account_id_by_email(conn, account)
    return _Tried(Attempt(account=account, address=address, usual_address=usual), account_id)


def _audit_refused(db: Session, action: str, tried: _Tried, now: datetime) -> None:
    if tried.account_id is not None:
        audit.record(db, None, action, object_type="user", object_id=tried.account_id, now=now)
    else:
        audit.record(db, None, action, unknown_account=True, now=now)


def _login_page(errors: list[tuple[str | None, str]], status: int = 200) -> tuple[str, int]:
    return render_template(
        "login.html",
        errors=errors,
        field_errors={field: text for field, text in errors if field},
        email=request.form.get("email", ""),
        next=safe_next(request.values.get("next")) or "",
    ), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; on success go to ``next`` (a path on this site) or the queue."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or _landing())
    if request.method == "GET":
        return _login_page([])
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    errors: list[tuple[str | None, str]] = []
    if not email:
        errors.append(("email", "Enter your email address"))
    if not password:
        errors.append(("password", "Enter your password"))
    if errors:
        return _login_page(errors)
    svc = current_services()
    throttle: SignInThrottle = current_app.extensions[THROTTLE]
    now = svc.clock()
    tried = _tried(email, now)
    if throttle.refuses(tried.attempt):
        # Not tried, and not counted: waiting is all it takes to be let in again.
        log.warning("sign-in attempt refused: too many failures")
        with svc.db.transaction() as db:
            _audit_refused(db, "sign_in_throttled", tried, now)
        return _login_page([(None, TOO_MANY_ATTEMPTS)], 429)
    with svc.db.transaction() as db:
        user = authenticate(db, email, password)
        # The same message whichever was wrong, so the page does not say who has an account.
        if user is None:
            throttle.failed(tried.attempt)
            _audit_refused(db, "sign_in_failed", tried, now)
            return _login_page([("email", BAD_CREDENTIALS)])
        audit.record(db, user, "sign_in", now=now)
        signed_in = StaffUser.of(user)
        # A fresh session on sign-in, so that nothing set before it (a fixed session)
        # carries over.
        session.clear()
        sessions.begin(db, user.id, now, tried.attempt.address)
    login_user(signed_in, remember=False)
    return redirect(safe_next(request.form.get("next")) or _landing())


@bp.post("/logout")
def logout() -> BaseResponse:
    """Sign out (ending the session on the server too) and go back to the sign-in page."""
    if current_user.is_authenticated:
        svc = current_services()
        with svc.db.transaction() as db:
            now = svc.clock()
            sessions.end_this(db, now)
            audit.record(db, current_user, "sign_out", now=now)
        logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


def _password_page(errors: list[tuple[str, str]], status: int = 200) -> tuple[str, int]:
    return render_template("change_password.html", errors=errors, field_errors=dict(errors)), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """A signed-in person changes their own password: the current one first (a session
    left open is not enough), then a new one good enough to keep. Every session of the
    account ends, this one too."""
    if request.method == "GET":
        return _password_page([])
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    again = request.form.get("confirm_password", "")
    errors: list[tuple[str, str]] = []
    if not current:
        errors.append(("current_password", "Enter your current password"))
    if not new:
        errors.append(("new_password", "Enter a new password"))
    elif new != again:
        errors.append(("confirm_password", "The two new passwords are not the same"))
    if errors:
        return _password_page(errors)
    svc = current_services()
    now = svc.clock()
    with svc.db.transaction() as db:
        user = authenticate(db, current_user.email, current)
        if user is None:
            audit.record(db, current_user, "change_password_refused", now=now)
            return _password_page([("current_password", "That is not your current password")])
        try:
            set_password(db, user, new, now)
        except AccountError as exc:
            return _password_page([("new_password", str(exc).capitalize())])
        audit.record(db, user, "change_password", now=now)
    logout_user()
    session.clear()
    flash("Your password is changed. Sign in with the new one.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
@login_required
def home() -> Any:
    """Where accounts without queue access land; the others go on to the queue."""
    if current_user.works_queue:
        return redirect(QUEUE_PATH)
    if current_user.role == "interviewer":
        return redirect(CONSOLE_PATH)
    if current_user.role == "analyst":
        return redirect(RESULTS_PATH)
    return render_template_string(NO_QUEUE_PAGE)


def init_app(app: Flask) -> None:
    """Add the sign-in pages to ``app``."""
    app.register_blueprint(bp)
