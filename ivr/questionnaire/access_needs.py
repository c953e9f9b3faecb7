"""A victim's access needs, as a sample's ``access_needs`` column gives them.

Values are separated by ``;``: ``relay_uk``, ``textphone``, ``hearing``, ``speech``,
``slow_speech`` and ``other:<free text>``. Some needs mean an automated call cannot serve
the victim at all: those cases go only to interviewers. Others only slow the reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Each need and how the console shows it to an interviewer.
NEEDS = {
    "relay_uk": "Uses Relay UK: call through Relay UK, 18001 + number",
    "textphone": "Uses a textphone: call through Relay UK, 18001 + number",
    "hearing": "Hearing need: speak clearly, and check they heard each question",
    "speech": "Speech need: give them time, and let them key answers if easier",
    "slow_speech": "Asked for slower speech: read each question slowly",
}
OTHER = "other"
#: Needs an automated call cannot meet: the dialler never rings these cases.
INTERVIEWER_ONLY = frozenset({"relay_uk", "textphone", "hearing", "speech"})
#: Needs for which the automated call reads more slowly (on any call, inbound included).
SLOW_READING = frozenset({"slow_speech", "hearing"})
#: The longest free text after ``other:``.
MAX_OTHER = 100


class AccessNeedError(ValueError):
    """A value that is not an access need; the message says which and what is accepted."""


def parse(text: str) -> tuple[str, ...]:
    """The needs in a cell, in the canonical spelling; AccessNeedError for an unknown one."""
    found: list[str] = []
    for part in text.split(";"):
        value = part.strip()
        if not value:
            continue
        name, colon, detail = value.partition(":")
        name = name.strip().lower().replace(" ", "_").replace("-", "_")
        if name == OTHER and colon:
            said = " ".join(detail.split())
            if not said:
                raise AccessNeedError("access_needs 'other:' needs words after the colon")
            if len(said) > MAX_OTHER:
                raise AccessNeedError(
                    f"access_needs 'other:' is longer than {MAX_OTHER} characters"
                )
            found.append(f"{OTHER}:{said}")
        elif name in NEEDS and not colon:
            found.append(name)
        else:
            raise AccessNeedError(
                f"access_needs '{value}' is not one of: {', '.join(NEEDS)}, other:<words>"
            )
    return tuple(dict.fromkeys(found))


def needs_of(case: Mapping[str, Any]) -> tuple[str, ...]:
    """The needs a case's fields hold (as stored by the import: canonical, ``;``-joined)."""
    text = case.get("access_needs")
    if not isinstance(text, str):
        return ()
    try:
        return parse(text)
    except AccessNeedError:
        return ()


def interviewer_only(case: Mapping[str, Any]) -> bool:
    """Whether only an interviewer can serve this case (never the automated dialler)."""
    return bool(INTERVIEWER_ONLY.intersection(needs_of(case)))


def reads_slowly(case: Mapping[str, Any]) -> bool:
    """Whether the automated call reads this case's questions more slowly from the start."""
    return bool(SLOW_READING.intersection(needs_of(case)))


def described(case: Mapping[str, Any]) -> list[str]:
    """Each of the case's needs in words for an interviewer."""
    return [
        f"Other need: {need.partition(':')[2]}" if need.startswith(f"{OTHER}:") else NEEDS[need]
        for need in needs_of(case)
    ]
