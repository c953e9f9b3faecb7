"""Phone numbers as staff read them: UK national format ("0113 496 0001").

Numbers are stored in E.164 (``+441134960001``), which is right for Twilio and wrong for
a person dialling by hand or reading a number back to a victim; every page shows them
through :func:`uk_phone`.
"""

from __future__ import annotations

import phonenumbers
from flask import Flask


def uk_phone(number: str | None) -> str:
    """``number`` in UK national format; anything that is not a valid number as given.

    A number keyed by a victim that never parsed is shown as keyed, so the officer can
    still read it; an empty value is an empty string.
    """
    text = (number or "").strip()
    if not text:
        return ""
    try:
        parsed = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(parsed):
        return text
    if parsed.country_code != 44:
        # Not a UK number: the national format would hide the country to dial.
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def init_app(app: Flask) -> None:
    """Make ``uk_phone`` a template filter."""
    app.add_template_filter(uk_phone, "uk_phone")
