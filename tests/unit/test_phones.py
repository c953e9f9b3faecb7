"""Callers' numbers as Twilio sends them, and as people write them."""

from __future__ import annotations

import pytest

from ivr.telephony.numbers import PhoneError, caller_e164, to_e164


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
