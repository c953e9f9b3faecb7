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


#: A number written with nothing but digits, an optional leading plus and the separators
#: phonenumbers skips (spaces, dashes, dots, brackets): such a writing means its digits.
_PLAIN_WRITING = re.compile(r"[ ().-]*\+?[0-9 ().-]*")
_SEPARATORS = str.maketrans("", "", " ().-")
#: Longer writings are left to phonenumbers, which refuses any over 250 characters.
_PLAIN_WRITING_LIMIT = 100
#: Digits GB's metadata also strips as a national prefix (besides the trunk 0): after
#: +44 they make a different number from the same digits after a 0.
_OTHER_NATIONAL_PREFIX = "180020"


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
    if phonenumbers.is_valid_number_for_region(number, "GB"):
        # Most numbers are GB's: one check, where finding the region first (below) makes
        # phonenumbers match the number against GB's patterns twice.
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
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


def national_writing(raw: str) -> str | None:
    """The digits alone, as written in the UK, that :func:`to_e164` reads as the same
    number as ``raw``; None when ``raw`` is not a plain writing, or is one of another
    country's number.

    '0113 496 0001', '(0113) 4960001', '+44 113 496 0001', '0044 113 496 0001' and
    '+44 (0)113 496 0001' all give '01134960001', so parsing each national writing once
    parses each number once however many ways a sample writes it. Valid or not, the
    verdict on the national writing is the verdict on ``raw``: phonenumbers skips the
    separators, reads 00 as the international prefix, and strips the trunk 0 after +44
    as it does at the start of a national number.
    """
    text = raw.strip()
    if len(text) > _PLAIN_WRITING_LIMIT or not _PLAIN_WRITING.fullmatch(text):
        return None
    digits = text.translate(_SEPARATORS)
    if digits.startswith("+"):
        international = digits[1:]
    elif digits.startswith("00"):
        international = digits[2:]
    else:
        # No international prefix: the same digits without separators are the same number.
        return digits or None
    if not international.startswith("44"):
        return None
    national = international[2:]
    if national.startswith("0") and not national.startswith("00"):
        # '+44 (0)113...': the trunk 0 is read exactly as in '0113...'.
        return national
    if national[:1] in ("", "0") or national.startswith(_OTHER_NATIONAL_PREFIX):
        return None
    return "0" + national
