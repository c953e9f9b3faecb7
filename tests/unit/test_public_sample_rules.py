"""The small rules of a public sample: generated case_refs and a number's line type."""

from __future__ import annotations

import pytest

from ivr.campaigns.public_sample import case_ref_prefix, line_type_of


@pytest.mark.parametrize(
    ("area", "prefix"),
    [
        ("Hartlepool", "LPCS-H-"),
        ("Redcar and Cleveland", "LPCS-RAC-"),
        ("Stockton-on-Tees", "LPCS-SOT-"),
        ("  ", "LPCS-X-"),
    ],
)
def test_a_case_ref_starts_with_the_survey_and_the_areas_initials(area: str, prefix: str) -> None:
    assert case_ref_prefix("lpcs", area) == prefix


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("+441429200001", "landline"),
        ("+442079460000", "landline"),
        ("+447400123456", "mobile"),
        ("+443001234567", None),  # a non-geographic 03 number: could be anywhere
        ("+448001234567", None),  # freephone
    ],
)
def test_the_numbering_plan_says_landline_or_mobile(number: str, kind: str | None) -> None:
    assert line_type_of(number) == kind
