"""What guards every staff page: sign-in and its sessions, roles, CSRF, security headers.

The Twilio webhooks are left alone: they are signature-checked instead of CSRF-checked,
and get none of the browser headers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Flask,
    Request,
    Response,
    abort,
    request,
    session,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import (
    AnonymousUserMixin,
    LoginManager,
    UserMixin,
    current_user,
    login_required,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from ivr.accounts import sessions
from ivr.accounts.staff import Role, may_see_results
from ivr.accounts.throttle import SignInThrottle
from ivr.services import current_services

log = logging.getLogger(__name__)

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

# Extensions are created here and bound to each app in init_app.
#: Twilio's webhooks: no browser sessions, no page headers.
WEBHOOK_PREFIX = "/twilio/"
#: Where each app keeps its sign-in throttle.
THROTTLE = "ivr.sign_in_throttle"
csrf = CSRFProtect()
login_manager = LoginManager()


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
    def sees_results(self) -> bool:
        """Whether the account may open the results pages."""
        return may_see_results(self)

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
    sees_results = False


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """The account this browser is signed in to, read afresh, or None (which signs the
    session out): its session ended, expired, or the account is disabled or deleted."""
    account = sessions.signed_in_account(user_id)
    if account is None:
        # Forget the whole session, so that nothing of it outlives the sign-in.
        session.clear()
        return None
    return StaffUser.of(account)


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
#: Sign-in required, then 403 unless the account may read survey results.
results_access_required = access_required(lambda user: user.sees_results)


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


def _csrf_failed(_error: CSRFError) -> Response:
    return Response(CSRF_FAILED, status=400, mimetype="text/plain")


class StaffSessionInterface(SecureCookieSessionInterface):
    """Staff's signed session cookie; none for Twilio's webhooks, which are signed requests
    of their own and never carry a cookie, so that they do not pay for reading one."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(WEBHOOK_PREFIX):
            # Flask then gives the request a null session: empty, and refusing to be set.
            return None
        return super().open_session(app, request)


def _security_headers(response: Response) -> Response:
    if request.path.startswith(WEBHOOK_PREFIX):
        return response
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if current_services().settings.production:
        response.headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static" and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Set up sign-in, CSRF, the sign-in throttle and security headers on ``app``; blueprints that
    must not be CSRF-checked (signed webhooks) are exempted with ``csrf.exempt``."""
    settings = app.extensions["ivr"].settings
    app.config.from_mapping(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        # The strict check wants a Referer from the same host, and Referrer-Policy
        # no-referrer means browsers send none: the token and SameSite=Lax guard instead.
        WTF_CSRF_SSL_STRICT=False,
        # The signature of a session cookie expires with the longest session (the
        # server's own checks of each session are what sign it out, to the minute).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
    )
    if settings.production and not settings.redis_url:
        log.warning("REDIS_URL is not set: each web process counts failed sign-ins alone")
    app.extensions[THROTTLE] = SignInThrottle(settings.redis_url or "memory://")
    app.session_interface = StaffSessionInterface()
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = Visitor
    app.register_error_handler(CSRFError, _csrf_failed)
    app.after_request(_security_headers)
