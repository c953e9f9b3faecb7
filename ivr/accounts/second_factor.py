"""The second factor: a TOTP app (RFC 6238) enrolled by each member of staff, and one-time
recovery codes for the day the phone is lost.

A code is accepted within one time step either side of now (phones' clocks drift), and
never twice: the step of the last code accepted is kept, and only a later one passes. The
caller holds the account's row locked (:func:`ivr.store.staff.user_for_update`), so two
requests racing with one code cannot both pass.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg

from ivr.accounts.staff import Role
from ivr.store.models import User

#: The name authenticator apps show beside the account's email.
ISSUER = "ivr"
#: Steps either side of now a code may come from (pyotp's ``valid_window``).
VALID_WINDOW = 1
#: How many recovery codes an enrolment gives.
RECOVERY_CODES = 10
#: Recovery code letters: no 0/o or 1/l/i to misread from paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: 16 letters of 31: about 79 bits each, too many to guess or to reverse from a digest,
#: so a plain SHA-256 digest keeps them as well as a slow password hash would.
_RECOVERY_LENGTH = 16
#: Roles that must have a second factor when ``REQUIRE_2FA`` is set.
MUST_ENROL = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value})


class Outcome(StrEnum):
    """What became of a code offered at sign-in."""

    ACCEPTED = "accepted"
    RECOVERY_CODE_USED = "recovery_code_used"
    WRONG = "wrong_code"
    REPLAYED = "replayed_code"


def is_enabled(user: Any) -> bool:
    """Whether the account signs in with a second factor."""
    return user.totp_secret is not None and user.totp_enabled_at is not None


def must_enrol(role: str, required: bool) -> bool:
    """Whether an account of ``role`` must enrol before it can sign in (``required``: the
    ``REQUIRE_2FA`` setting)."""
    return required and role in MUST_ENROL


def start_enrolment(user: User) -> str:
    """A new secret to show for enrolment, kept on the account but not switched on until
    a code from it is given. Always new: a key someone else saw earlier (on a session
    left open) is never the one the owner then sets up."""
    if is_enabled(user):
        raise ValueError("the account already has a second factor")
    user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """``uri`` as a QR code: an SVG element to put in a page (no image library needed)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    return image.to_string(encoding="unicode")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _digits(code: str) -> str:
    return "".join(code.split())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step within the window whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret)
    if not (code.isascii() and code.isdigit() and len(code) == totp.digits):
        return None
    current = totp.timecode(now)
    found = None
    # Every step is compared, so the time taken does not say which one matched.
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def confirm_enrolment(user: User, code: str, now: datetime) -> list[str] | None:
    """Switch the second factor on if ``code`` is right for the secret being enrolled:
    the new recovery codes (to show once; only their digests are kept), or None."""
    if user.totp_secret is None or is_enabled(user):
        return None
    step = _matching_step(user.totp_secret, _digits(code), now)
    if step is None:
        return None
    user.totp_enabled_at = now
    # The confirming code is used: it cannot also sign someone in.
    user.totp_last_step = step
    return new_recovery_codes(user)


def new_recovery_codes(user: User) -> list[str]:
    """A fresh set of recovery codes for the account (any older ones stop working)."""
    codes = [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4))
            for _ in range(_RECOVERY_LENGTH // 4)
        )
        for _ in range(RECOVERY_CODES)
    ]
    user.recovery_code_hashes = [_recovery_digest(code) for code in codes]
    return codes


def _recovery_digest(code: str) -> str:
    text = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(text.encode()).hexdigest()


def check(user: User, code: str, now: datetime) -> Outcome:
    """Check a code offered at sign-in: an app's code, or a recovery code (which is then
    spent). The account's row must be locked by the caller."""
    if not is_enabled(user) or user.totp_secret is None:
        return Outcome.WRONG
    typed = _digits(code)
    step = _matching_step(user.totp_secret, typed, now)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return Outcome.REPLAYED
        user.totp_last_step = step
        return Outcome.ACCEPTED
    digest = _recovery_digest(typed)
    left = [kept for kept in user.recovery_code_hashes if not hmac.compare_digest(kept, digest)]
    if len(left) == len(user.recovery_code_hashes):
        return Outcome.WRONG
    # A new list, so that the JSON column is seen to change.
    user.recovery_code_hashes = left
    return Outcome.RECOVERY_CODE_USED


def recovery_codes_left(user: Any) -> int:
    """How many recovery codes the account has not used."""
    return len(user.recovery_code_hashes or [])


def reset(user: User) -> None:
    """Take the account's second factor away: it enrols again at its next sign-in (if its
    role must) or when it chooses to."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_code_hashes = []
