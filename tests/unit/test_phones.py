"""Callers' numbers as Twilio sends them, and as people write them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.telephony.numbers import PhoneError, caller_e164, national_writing, to_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+441134960001", "+441134960001"),  # Leeds, as Twilio sends From
        ("+447700900123", "+447700900123"),  # a mobile
        ("+441481960123", "+441481960123"),  # Guernsey
        ("+441534960123", "+441534960123"),  # Jersey
        ("+441624960123", "+441624960123"),  # Isle of Man
        ("0113 496 0001", "+441134960001"),  # written by hand
        ("+44 (0)113 496 0001", "+441134960001"),
        ("+4401134960001", "+441134960001"),  # a stray trunk zero is dropped
    ],
)
def test_uk_callers_are_in_e164(raw: str, expected: str) -> None:
    assert caller_e164(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "anonymous",
        "Restricted",
        "+266696687",
        "unknown",
        "+12025550123",  # a North American caller
        "+33612345678",  # a French mobile
        "+44113",  # too short
        "+4411349600011234",  # too long
    ],
)
def test_withheld_foreign_and_malformed_callers_have_no_number(raw: str | None) -> None:
    assert caller_e164(raw) is None


def test_a_number_outside_the_uk_is_refused_with_its_region() -> None:
    with pytest.raises(PhoneError, match="in US"):
        to_e164("+1 202 555 0123")


@pytest.mark.parametrize(
    "raw",
    [
        "0113 496 0001",
        "01134960001",
        "(0113) 4960001",
        "0113-496-0001",
        "+44 113 496 0001",
        "(+44) 113 496 0001",
        "0044 113 496 0001",
        "+44 (0)113 496 0001",
        "0044 (0)113 496 0001",
    ],
)
def test_every_plain_writing_of_a_number_has_one_national_writing(raw: str) -> None:
    assert national_writing(raw) == "01134960001"


@pytest.mark.parametrize(
    "raw",
    [
        "+353 1 234 5678",  # another country: left to phonenumbers as written
        "00353 1 234 5678",
        "+44",
        "0113 496 0001 ext 12",  # an extension, letters, a second plus: not plain
        "0800 FLOWERS",
        "+44 +113",
        "+44 1800 20 113 496 0001",  # after +44, 180020 is a prefix GB strips; after 0, not
        "0" * 101,  # phonenumbers refuses overlong input; the digits alone might pass
    ],
)
def test_writings_that_may_mean_something_else_have_no_national_writing(raw: str) -> None:
    assert national_writing(raw) is None


def _verdict(raw: str) -> str | None:
    try:
        return to_e164(raw)
    except PhoneError:
        return None


_PREFIXES = ["", "0", "00", "+", "44", "+44", "0044", "+44 (0)", "+4400", "+44180020", "0180020"]
_DIGITS = st.text(alphabet="0123456789", max_size=12)
#: National numbers (without the trunk 0) that are valid, so that writings of real
#: numbers are drawn as often as random digits, which are almost never valid.
_VALID = st.sampled_from(["1134960001", "2079460006", "7700900123", "1481960123", "8081570000"])


@st.composite
def _plain_writings(draw: st.DrawFn) -> str:
    """A prefix and digits with separators anywhere, as people and systems write them."""
    text = draw(st.sampled_from(_PREFIXES)) + draw(_VALID | _DIGITS)
    gaps = draw(st.lists(st.sampled_from(" -.()"), min_size=len(text), max_size=len(text)))
    keep = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(ch + (gap if k else "") for ch, gap, k in zip(text, gaps, keep, strict=True))


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(_plain_writings() | _DIGITS.map(lambda d: "+441" + d) | _DIGITS.map(lambda d: "07" + d))
def test_a_national_writing_gets_the_verdict_its_writing_gets(raw: str) -> None:
    """The import parses each national writing once for all the writings that share it:
    the number stored, or the refusal, must be the one the writing itself would get."""
    national = national_writing(raw)
    if national is not None:
        assert _verdict(national) == _verdict(raw)
