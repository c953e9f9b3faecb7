"""Check ``X-Twilio-Signature`` over the public URL Twilio used, not the Host we received."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def public_url(public_base_url: str, path: str, query_string: str) -> str:
    """The URL Twilio requested: ``PUBLIC_BASE_URL`` + path + query string."""
    return public_base_url + path + (f"?{query_string}" if query_string else "")


class SignatureChecker:
    """Validates Twilio request signatures with one auth token."""

    def __init__(self, auth_token: str):
        self._validator = RequestValidator(auth_token) if auth_token else None

    def valid(self, url: str, form: Mapping[str, str], signature: str | None) -> bool:
        """True when ``signature`` is Twilio's signature of ``url`` and ``form`` (every value
        of a repeated parameter included, when ``form`` is a multi-dict)."""
        if self._validator is None or not signature:
            return False
        # One HMAC over the URL exactly as configured: PUBLIC_BASE_URL is the canonical
        # address Twilio was given, so RequestValidator.validate's second try with the
        # default port added or removed would only double the cost of every webhook.
        # twilio's validator reads every value of a parameter through the form's getlist
        # (werkzeug's MultiDict has it), so a value added to a signed request breaks it.
        try:
            expected = self._validator.compute_signature(url, form)
            return hmac.compare_digest(expected.encode(), signature.encode())
        except UnicodeEncodeError:
            return False  # a lone surrogate in the URL or a value: nothing Twilio signs
