"""UK phone numbers in any common writing, normalised to E.164."""

from __future__ import annotations

import re

import phonenumbers

#: Regions whose numbers a UK force may ring: GB plus the Crown Dependencies.
ACCEPTED_REGIONS = frozenset({"GB", "GG", "JE", "IM"})
#: What Twilio sends as From for withheld or unknown caller ids.
WITHHELD = frozenset(
    {
        "",
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "+266696687",
        "+7378742833",
        "+2562533",
        "+8656696",
    }
)


#: A number already written as E.164 in the +44 range (GB, GG, JE, IM all use it), as
#: Twilio sends From: compared as it stands with the stored numbers, which are all valid.
_UK_E164 = re.compile(r"\+44[1-9]\d{8,9}")


class PhoneError(ValueError):
    """A phone number that is not a valid UK (or Crown Dependency) number."""


def to_e164(raw: str) -> str:
    """Normalise a UK number such as '0113 496 0001' or '+44 (0)117 ...' to E.164."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("phone number is empty")
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"'{raw}' is not a phone number ({exc})") from None
    # is_valid_number() finds the number's region and then checks it against that region;
    # finding the region once and checking it here halves the cost of a sample's import.
    region = phonenumbers.region_code_for_number(number)
    if region is None or not phonenumbers.is_valid_number_for_region(number, region):
        raise PhoneError(f"'{raw}' is not a valid phone number")
    if region not in ACCEPTED_REGIONS:
        raise PhoneError(
            f"'{raw}' is a number in {region}, not the UK, Guernsey, Jersey or the Isle of Man"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def caller_e164(raw: str | None) -> str | None:
    """A caller's number in E.164, or None when withheld or not a UK number."""
    if raw is None or raw.strip().lower() in WITHHELD:
        return None
    if _UK_E164.fullmatch(raw):
        # Parsing costs a fifth of a call's first webhook and could only confirm it.
        return raw
    try:
        return to_e164(raw)
    except PhoneError:
        return None
