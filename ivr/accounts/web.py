"""Signing in and out: the sign-in page, its limits and where each role lands."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
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
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit, second_factor, sessions
from ivr.accounts.guards import THROTTLE, StaffUser, safe_next
from ivr.accounts.staff import AccountError, authenticate, set_password
from ivr.accounts.throttle import Attempt, SignInThrottle
from ivr.services import current_services
from ivr.store import staff as staff_store
from ivr.store.models import User

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
WRONG_CODE = "That code is not right, or it has been used. Wait for the next code and try it"
NOT_YOUR_PASSWORD = "That is not your current password"
#: In the browser's session between a right password and a right code (or enrolment):
#: the account's id and when its password was given. Nothing else is signed in by it.
PENDING = "second_factor_pending"
#: How long a right password waits for its second factor (installing an app takes a while).
PENDING_FOR = timedelta(minutes=10)
#: Pages that show a second factor's key or recovery codes: no browser or proxy keeps
#: them (a person part-way through signing in is not yet covered by the signed-in rule).
NOT_KEPT = {"Cache-Control": "no-store"}
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
        target = safe_next(request.form.get("next")) or ""
        enrolled = second_factor.is_enabled(user)
        if enrolled or second_factor.must_enrol(user.role, svc.settings.require_2fa):
            # Not signed in yet: the password alone opens no page but the next step.
            session.clear()
            step = "code" if enrolled else "enrol"
            session[PENDING] = {
                "user": user.id,
                "at": int(now.timestamp()),
                "step": step,
                "next": target,
            }
            return redirect(url_for(f"auth.{step}"))
        signed_in = _begin(db, user, now, tried.attempt.address)
    login_user(signed_in, remember=False)
    return redirect(target or _landing())


def _begin(db: Session, user: User, now: datetime, address: str, **details: Any) -> StaffUser:
    """Sign ``user`` in, in the database and this browser's session (the caller then
    calls ``login_user`` with what this gives back)."""
    audit.record(db, user, "sign_in", now=now, **details)
    # A fresh session on sign-in, so that nothing set before it (a fixed session, a
    # password's pending second factor) carries over.
    session.clear()
    sessions.begin(db, user.id, now, address)
    return StaffUser.of(user)


def _pending(now: datetime) -> dict[str, Any] | None:
    """The right password waiting for its second factor in this browser, if not too old."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int):
        return None
    if now.timestamp() - pending["at"] >= PENDING_FOR.total_seconds():
        session.pop(PENDING, None)
        return None
    return pending


def _start_again() -> BaseResponse:
    session.pop(PENDING, None)
    flash("Sign in again: it took too long, or the sign-in had not started.", "info")
    return redirect(url_for("auth.login"))


def _code_page(errors: list[tuple[str | None, str]], status: int = 200) -> tuple[str, int]:
    return render_template(
        "second_factor_code.html",
        errors=errors,
        field_errors={field: text for field, text in errors if field},
    ), status


@bp.route("/login/code", methods=["GET", "POST"])
def code() -> Any:
    """The second step of signing in: a code from the account's app, or a recovery code.
    Wrong and replayed codes count as failed sign-ins."""
    svc = current_services()
    now = svc.clock()
    pending = _pending(now)
    if pending is None:
        return _start_again()
    if pending.get("step") != "code":
        return redirect(url_for("auth.enrol"))
    if request.method == "GET":
        return _code_page([])
    typed = request.form.get("code", "").strip()
    if not typed:
        return _code_page([("code", "Enter the code from your app")])
    with svc.db.reading() as conn:
        account = staff_store.account(conn, pending["user"])
    if account is None or not account.active:
        return _start_again()
    throttle: SignInThrottle = current_app.extensions[THROTTLE]
    tried = _tried(account.email, now)
    if throttle.refuses(tried.attempt):
        log.warning("second-factor code refused: too many failures")
        with svc.db.transaction() as db:
            _audit_refused(db, "sign_in_throttled", tried, now)
        return _code_page([(None, TOO_MANY_ATTEMPTS)], 429)
    with svc.db.transaction() as db:
        user = staff_store.user_for_update(db, account.id)
        if user is None or not user.active or not second_factor.is_enabled(user):
            return _start_again()
        outcome = second_factor.check(user, typed, now)
        if outcome in (second_factor.Outcome.WRONG, second_factor.Outcome.REPLAYED):
            throttle.failed(tried.attempt)
            audit.record(
                db,
                None,
                "sign_in_failed",
                object_type="user",
                object_id=user.id,
                now=now,
                reason=outcome.value,
            )
            return _code_page([("code", WRONG_CODE)])
        used = "recovery_code" if outcome is second_factor.Outcome.RECOVERY_CODE_USED else "app"
        signed_in = _begin(db, user, now, tried.attempt.address, second_factor=used)
        left = second_factor.recovery_codes_left(user)
    login_user(signed_in, remember=False)
    if used == "recovery_code":
        flash(
            f"You used a recovery code: {left} left. If your phone is lost, ask an "
            "administrator to reset your second factor.",
            "info",
        )
    return redirect(pending.get("next") or _landing())


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


class _Refusal(NamedTuple):
    """Why a password given again was not accepted, and the page's status."""

    message: str
    status: int


def _confirm_password(
    db: Session, password: str, tried: _Tried, now: datetime, action: str
) -> User | _Refusal:
    """The signed-in account if ``password`` is its own, else a refusal. Wrong passwords
    count as failed sign-ins, so that a session left open is no way to guess one."""
    throttle: SignInThrottle = current_app.extensions[THROTTLE]
    if throttle.refuses(tried.attempt):
        audit.record(db, current_user, f"{action}_throttled", now=now)
        return _Refusal(TOO_MANY_ATTEMPTS, 429)
    user = authenticate(db, current_user.email, password)
    if user is None:
        throttle.failed(tried.attempt)
        audit.record(db, current_user, f"{action}_refused", now=now)
        return _Refusal(NOT_YOUR_PASSWORD, 200)
    return user


def _enrol_page(
    secret: str, email: str, errors: list[tuple[str, str]], status: int = 200
) -> tuple[str, int, dict[str, str]]:
    uri = second_factor.provisioning_uri(secret, email)
    return (
        render_template(
            "second_factor_enrol.html",
            errors=errors,
            field_errors=dict(errors),
            # Safe as markup: the library writes only its own elements and path data, never
            # the text it encodes.
            qr_code=Markup(second_factor.qr_code_svg(uri)),
            secret=second_factor.grouped(secret),
            issuer=second_factor.ISSUER,
            email=email,
            ask_password=current_user.is_authenticated,
        ),
        status,
        NOT_KEPT,
    )


@bp.route("/account/second-factor", methods=["GET", "POST"])
def enrol() -> Any:
    """Set up a second factor: scan the QR code (or type the secret) into an app, then
    give its code to switch it on; the recovery codes are shown once. Reached after the
    password by roles that must have one, or by anyone signed in who chooses to."""
    svc = current_services()
    now = svc.clock()
    pending = None if current_user.is_authenticated else _pending(now)
    if pending is None and not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for("auth.enrol")))
    user_id = pending["user"] if pending else current_user.id
    typed = request.form.get("code", "").strip()
    password = request.form.get("current_password", "")
    tried = None
    if request.method == "POST" and current_user.is_authenticated:
        tried = _tried(current_user.email, now)
    with svc.db.transaction() as db:
        user = staff_store.user_for_update(db, user_id)
        if user is None or not user.active:
            return _start_again()
        if second_factor.is_enabled(user):
            if pending:
                return redirect(url_for("auth.code"))
            return render_template(
                "second_factor_on.html", left=second_factor.recovery_codes_left(user)
            )
        if request.method == "GET":
            return _enrol_page(second_factor.start_enrolment(user), user.email, [])
        secret = user.totp_secret
        if secret is None:
            # Reset since the page was shown (or never shown): show a new key.
            return redirect(url_for("auth.enrol"))
        errors: list[tuple[str, str]] = []
        if tried is not None and not password:
            errors.append(("current_password", "Enter your current password"))
        if not typed:
            errors.append(("code", "Enter the code from your app"))
        if errors:
            return _enrol_page(secret, user.email, errors)
        if tried is not None:
            confirmed = _confirm_password(db, password, tried, now, "enrol_second_factor")
            if isinstance(confirmed, _Refusal):
                return _enrol_page(
                    secret, user.email, [("current_password", confirmed.message)], confirmed.status
                )
        codes = second_factor.confirm_enrolment(user, typed, now)
        if codes is None:
            return _enrol_page(secret, user.email, [("code", WRONG_CODE)])
        audit.record(
            db, user, "second_factor_enabled", object_type="user", object_id=user.id, now=now
        )
        if pending:
            address = audit.client_address() or "-"
            signed_in = _begin(db, user, now, address, second_factor="enrolled")
    if pending:
        login_user(signed_in, remember=False)
    page = render_template(
        "second_factor_recovery_codes.html",
        codes=codes,
        next=(pending or {}).get("next") or _landing(),
    )
    return page, 200, NOT_KEPT


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
    tried = _tried(current_user.email, now)
    with svc.db.transaction() as db:
        user = _confirm_password(db, current, tried, now, "change_password")
        if isinstance(user, _Refusal):
            return _password_page([("current_password", user.message)], user.status)
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
