"""The one rule every CSV the product writes follows: a spreadsheet never runs a cell.

A cell that starts with one of OWASP's formula characters is written behind a single
quote, so that a case reference, a district, an answer or an email typed by anyone is
shown as the text it is (OWASP, "CSV Injection").
"""

from __future__ import annotations

#: What a spreadsheet takes as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
