"""Signing in and out: the sign-in page, its limits and where each role lands."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Flask,
    flash,
    redirect,
    render_template,
    render_template_string,
    request,
    session,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit
from ivr.accounts.guards import StaffUser, limiter, safe_next
from ivr.accounts.staff import authenticate
from ivr.services import current_services

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__, template_folder="templates")

#: Where people who work referrals land after signing in.
QUEUE_PATH = "/queue"
#: Where interviewers land: the assisted-call console.
CONSOLE_PATH = "/console"
#: Where the Commissioner's analysts work: they see results, nothing else.
RESULTS_PATH = "/results"
#: Sign-in attempts allowed per client address, and separately per email tried.
LOGIN_LIMIT = "5 per minute"
#: The longest email kept in the audit trail from a failed attempt (the column's width).
MAX_EMAIL_LENGTH = 254
BAD_CREDENTIALS = "The email address or password is not right"
TOO_MANY_ATTEMPTS = "Too many attempts to sign in. Wait a minute, then try again."
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


def _email_key() -> str:
    return "email:" + request.form.get("email", "").strip().lower()[:MAX_EMAIL_LENGTH]


def _login_page(errors: list[tuple[str | None, str]], status: int = 200) -> tuple[str, int]:
    return render_template(
        "login.html",
        errors=errors,
        field_errors={field: text for field, text in errors if field},
        email=request.form.get("email", ""),
        next=safe_next(request.values.get("next")) or "",
    ), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], key_func=_email_key)
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
    with current_services().db.transaction() as db:
        user = authenticate(db, email, password)
        # The same message whichever was wrong, so the page does not say who has an account.
        if user is None:
            audit.record(db, None, "sign_in_failed", email=email[:MAX_EMAIL_LENGTH])
            return _login_page([("email", BAD_CREDENTIALS)])
        audit.record(db, user, "sign_in")
        signed_in = StaffUser.of(user)
    # A fresh session on sign-in, so that nothing set before it (a fixed session) carries over.
    session.clear()
    login_user(signed_in, remember=False)
    return redirect(safe_next(request.form.get("next")) or _landing())


@bp.post("/logout")
def logout() -> BaseResponse:
    """Sign out and go back to the sign-in page."""
    if current_user.is_authenticated:
        with current_services().db.transaction() as db:
            audit.record(db, current_user, "sign_out")
        logout_user()
    session.clear()
    flash("You have signed out.", "info")
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


def _too_many_attempts(_error: RateLimitExceeded) -> tuple[str, int]:
    log.warning("sign-in attempts limited for %s", request.remote_addr)
    return _login_page([(None, TOO_MANY_ATTEMPTS)], 429)


def init_app(app: Flask) -> None:
    """Add the sign-in pages to ``app``."""
    app.register_blueprint(bp)
    app.register_error_handler(RateLimitExceeded, _too_many_attempts)
