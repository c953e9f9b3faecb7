"""Signing in and out, and what guards every page: CSRF, rate limits, security headers.

The Twilio webhooks are left alone: they are signature-checked instead of CSRF-checked,
are not rate-limited here, and get none of the browser headers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    render_template_string,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import (
    AnonymousUserMixin,
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ivr.app import services
from ivr.store.models import User
from ivr.supervision import audit
from ivr.supervision.accounts import Role, authenticate

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__, template_folder="templates")
#: The web pages' own folder: templates and the stylesheet.

#: Where people who work referrals land after signing in.
QUEUE_PATH = "/queue"
#: Where interviewers land: the assisted-call console.
CONSOLE_PATH = "/console"
#: Sign-in attempts allowed per client address, and separately per email tried.
LOGIN_LIMIT = "5 per minute"
#: The longest email kept in the audit trail from a failed attempt (the column's width).
MAX_EMAIL_LENGTH = 254
BAD_CREDENTIALS = "The email address or password is not right"
TOO_MANY_ATTEMPTS = "Too many attempts to sign in. Wait a minute, then try again."
CSRF_FAILED = (
    "The form could not be accepted: it expired, or did not come from this site. "
    "Go back, reload the page and try again.\n"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "media-src 'self' https:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"

NO_QUEUE_PAGE = """{% extends "base.html" %}
{% block title %}Signed in{% endblock %}
{% block content %}
<h1>You are signed in</h1>
<p>You are signed in as {{ current_user.email }} ({{ current_user.role_label }}).</p>
<p>Your account has no access to the service-recovery queue. If you need it, ask an
administrator to change your role.</p>
{% endblock %}
"""

# Extensions are created here and bound to each app in init_app (the limiter keeps the
# storage of the app bound last: one app per process, outside tests).
#: Twilio's webhooks: no browser sessions, no sign-in limits, no page headers.
WEBHOOK_PREFIX = "/twilio/"
csrf = CSRFProtect()
limiter = Limiter(
    key_func=lambda: f"address:{request.remote_addr or '-'}",
    strategy="moving-window",
    key_prefix="ivr",
)
login_manager = LoginManager()


@limiter.request_filter
def _is_webhook() -> bool:
    # Twilio's requests are signature-checked and never limited; this also spares each
    # webhook turn most of the limiter's per-request work.
    return request.path.startswith(WEBHOOK_PREFIX)


class StaffUser(UserMixin):
    """The signed-in account as views see it: a copy of the row, read on every request."""

    def __init__(
        self,
        *,
        id: int,
        email: str,
        role: str,
        districts: list[str] | None,
        active: bool,
        name: str | None = None,
    ):
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.districts = list(districts or [])
        self.active = active

    @classmethod
    def of(cls, user: Any) -> StaffUser:
        """The signed-in view of a ``User`` row (or any row with the same columns)."""
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            districts=user.districts,
            active=user.active,
            name=user.name,
        )

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def works_queue(self) -> bool:
        """Whether the account's role works referrals (interviewers do not)."""
        return Role(self.role).works_queue

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)


class Visitor(AnonymousUserMixin):
    """Nobody signed in: the same attributes as a StaffUser, granting nothing."""

    id = None
    email = ""
    name = None
    role = ""
    role_label = ""
    districts: tuple[str, ...] = ()
    active = False
    works_queue = False


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """The active account with this id, read afresh, or None (which signs the session out)."""
    try:
        key = int(user_id)
    except ValueError:
        key = None
    row = None
    if key is not None:
        # A lone read without a transaction: on SQLite a transaction takes the write lock,
        # which every page load would then contend for with the webhooks.
        with services().db.reading() as conn:
            row = conn.execute(
                select(
                    User.id, User.email, User.name, User.role, User.districts, User.active
                ).where(User.id == key)
            ).one_or_none()
    if row is None or not row.active:
        # Disabled or deleted: forget the session so that re-enabling the account later
        # does not sign this browser back in.
        session.clear()
        return None
    return StaffUser.of(row)


_View = TypeVar("_View", bound=Callable[..., Any])


def access_required(allowed: Callable[[Any], bool]) -> Callable[[_View], _View]:
    """A view decorator: sign-in required, then 403 unless ``allowed(current_user)``."""

    def decorate(view: _View) -> _View:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not allowed(current_user):
                abort(403)
            return view(*args, **kwargs)

        return cast(_View, login_required(checked))

    return decorate


#: Sign-in required, then 403 unless the account's role works the queue.
queue_access_required = access_required(lambda user: user.works_queue)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no other host, no scheme)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read a backslash as a slash and drop tabs and newlines, so "/\\evil" and
    # "/\t/evil" would leave the site.
    if "\\" in target or any(ord(c) < 0x21 or c == "\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _landing() -> str:
    if current_user.works_queue:
        return QUEUE_PATH
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
    with services().db.transaction() as db:
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
        with services().db.transaction() as db:
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
    return render_template_string(NO_QUEUE_PAGE)


def _too_many_attempts(_error: RateLimitExceeded) -> tuple[str, int]:
    log.warning("sign-in attempts limited for %s", request.remote_addr)
    return _login_page([(None, TOO_MANY_ATTEMPTS)], 429)


def _csrf_failed(_error: CSRFError) -> Response:
    return Response(CSRF_FAILED, status=400, mimetype="text/plain")


def _security_headers(response: Response) -> Response:
    if request.path.startswith(WEBHOOK_PREFIX):
        return response
    response.headers.update(SECURITY_HEADERS)
    if services().settings.production:
        response.headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static" and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Set up sign-in, CSRF, rate limits and security headers on ``app``."""
    from ivr.web import twilio

    settings = app.extensions["ivr"].settings
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        # The strict check wants a Referer from the same host, and Referrer-Policy
        # no-referrer means browsers send none: the token and SameSite=Lax guard instead.
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_HEADERS_ENABLED=False,
    )
    csrf.init_app(app)
    csrf.exempt(twilio.bp)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = Visitor
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(RateLimitExceeded, _too_many_attempts)
    app.after_request(_security_headers)
