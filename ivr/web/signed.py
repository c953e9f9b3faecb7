"""Twilio's requests to the app: refused unless signed, answered with TwiML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Response, abort, request

from ivr.services import current_services
from ivr.telephony.signature import public_url

log = logging.getLogger(__name__)
TWIML = "text/xml; charset=utf-8"
#: The largest webhook body taken (413 past it): Twilio's are a few kilobytes at most.
WEBHOOK_BODY_LIMIT = 64 * 1024


def signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403, no side effect) any request without a valid X-Twilio-Signature, then
    (400) one whose body or query string is not UTF-8 form encoding."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        svc = current_services()
        request.max_content_length = WEBHOOK_BODY_LIMIT
        # Read once and kept, so that the form parser reads the same bytes after this.
        body = request.get_data(cache=True)
        url = public_url(
            svc.settings.public_base_url, request.path, request.query_string.decode("latin-1")
        )
        if not svc.signatures.valid(url, request.form, request.headers.get("X-Twilio-Signature")):
            log.warning("refused unsigned or forged request to %s", request.path)
            abort(403)
        if not (_utf8_form(body) and _utf8_form(request.query_string)):
            abort(400, "the request is not UTF-8 form encoding")
        return view(*args, **kwargs)

    return checked


def _utf8_form(data: bytes) -> bool:
    """Whether ``data`` is form encoding whose every name and value is UTF-8 (the form
    parser would quietly drop or keep undecoded what is not)."""
    # Separators are ASCII, so every name and value decodes exactly when the whole does, as
    # written and once percent-decoded: two C-speed decodes instead of parsing the form.
    try:
        data.decode("utf-8")
        unquote_to_bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def twiml_response(body: str) -> Response:
    """A TwiML document as Twilio expects it."""
    return Response(body, mimetype="text/xml", content_type=TWIML)
