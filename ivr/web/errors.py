"""Error pages in the product's layout: what went wrong, in plain words, and a way back.

Twilio's webhooks keep the framework's bare answers (Twilio reads only the status), and
responses a view built itself (``/healthz``'s JSON, a download's plain-text error) are
left as they are: only errors raised with ``abort`` or by routing reach these handlers.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Flask, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response as BaseResponse

#: Paths whose errors stay bare: Twilio's webhooks.
BARE_PREFIXES = ("/twilio/",)


class Explanation(NamedTuple):
    """The heading and the plain explanation of one kind of error."""

    heading: str
    explanation: str


EXPLANATIONS = {
    400: Explanation(
        "Something in the request was not right",
        "The page could not use what was sent. Go back, check what you entered and try again.",
    ),
    403: Explanation(
        "You do not have access to this page",
        "Your account's role does not allow this. If you need it, ask an administrator.",
    ),
    404: Explanation(
        "Page not found",
        "There is nothing here, or nothing you may see. If you typed the address, check it.",
    ),
    405: Explanation(
        "That cannot be done here",
        "This page does not take that kind of request. Use the page's own links and buttons.",
    ),
    413: Explanation(
        "What was sent is too large",
        "The file or text sent is larger than this service accepts. Send something smaller.",
    ),
    500: Explanation(
        "Sorry, something went wrong",
        "The service could not finish this. Nothing more was saved. Try again in a moment.",
    ),
}


def _bare() -> bool:
    return request.path.startswith(BARE_PREFIXES)


def _way_back() -> tuple[str, str]:
    """The link back: the signed-in person's home, or signing in."""
    if current_user.is_authenticated:
        return "/", "Go to your home page"
    return "/login", "Sign in"


def error_page(
    error: HTTPException, explained: Explanation | None = None
) -> HTTPException | BaseResponse:
    """The error in the product's layout, with the same status code."""
    code = error.code or 500
    if _bare() or code not in EXPLANATIONS:
        return error
    heading, explanation = explained or EXPLANATIONS[code]
    href, label = _way_back()
    page = render_template(
        "error.html", code=code, heading=heading, explanation=explanation, href=href, label=label
    )
    response = error.get_response()
    # Keep what the framework said besides the body (405's Allow header).
    response.set_data(page)
    response.mimetype = "text/html"
    return response


def _internal_error(error: InternalServerError) -> HTTPException | BaseResponse:
    # The original exception is logged by Flask; the person sees no detail of it.
    return error_page(error)


def init_app(app: Flask) -> None:
    """Serve the error pages for 400, 403, 404, 405, 413 and 500."""
    for code in EXPLANATIONS:
        if code != 500:
            app.register_error_handler(code, error_page)
    app.register_error_handler(InternalServerError, _internal_error)
