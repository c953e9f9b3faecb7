"""Twilio's requests to the app: refused unless signed, answered with TwiML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, abort, request

from ivr.services import current_services
from ivr.telephony.signature import public_url

log = logging.getLogger(__name__)
TWIML = "text/xml; charset=utf-8"


def signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403, no side effect) any request without a valid X-Twilio-Signature."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        svc = current_services()
        url = public_url(
            svc.settings.public_base_url, request.path, request.query_string.decode("latin-1")
        )
        if not svc.signatures.valid(url, request.form, request.headers.get("X-Twilio-Signature")):
            log.warning("refused unsigned or forged request to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


def twiml_response(body: str) -> Response:
    """A TwiML document as Twilio expects it."""
    return Response(body, mimetype="text/xml", content_type=TWIML)
