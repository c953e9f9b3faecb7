"""Check ``X-Twilio-Signature`` over the public URL Twilio used, not the Host we received."""

from __future__ import annotations

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
        """True when ``signature`` is Twilio's signature of ``url`` and ``form``."""
        if self._validator is None or not signature:
            return False
        return bool(self._validator.validate(url, dict(form), signature))
