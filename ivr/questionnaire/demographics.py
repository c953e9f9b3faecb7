"""The demographic groups a sample may carry and results are broken down by, defined once.

Values in a sample file are read case-insensitively, as the words below or their short
keys; the key is what is stored with the case and what reports group by. Ethnicity uses
the five high-level groups of the ONS 2021 Census question for England and Wales.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    #: Other ways a force's crime system writes it.
    also: tuple[str, ...] = ()


NOT_STATED = Group("not_stated", "Not stated", ("prefer not to say", "not known", "unknown"))

ETHNICITY = (
    Group("white", "White", ("white british", "white irish", "white other")),
    Group("mixed", "Mixed or Multiple ethnic groups", ("mixed or multiple",)),
    Group("asian", "Asian, Asian British or Asian Welsh", ("asian or asian british",)),
    Group(
        "black",
        "Black, Black British, Black Welsh, Caribbean or African",
        ("black or black british",),
    ),
    Group("other", "Other ethnic group", ("other",)),
    NOT_STATED,
)
#: The force's equality measure compares White victims with those of every other stated
#: group together.
WHITE = "white"
ETHNIC_MINORITY = ("mixed", "asian", "black", "other")

SEX = (Group("female", "Female", ("f",)), Group("male", "Male", ("m",)), NOT_STATED)

DISABILITY = (
    Group("yes", "Disabled", ("y", "disabled")),
    Group("no", "Not disabled", ("n", "not disabled")),
    NOT_STATED,
)

#: Age bands as (key, lowest age, highest age or None for no upper end).
AGE_BANDS = (
    ("16-24", 16, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65-74", 65, 74),
    ("75+", 75, None),
)

VOCABULARIES: dict[str, tuple[Group, ...]] = {
    "ethnicity": ETHNICITY,
    "sex": SEX,
    "disability": DISABILITY,
}


def group_key(field: str, value: str) -> str | None:
    """The stored key for a sample's ``value`` of ``field``, or None if it is not one of
    the accepted values."""
    wanted = " ".join(value.strip().lower().replace("_", " ").split())
    for group in VOCABULARIES[field]:
        if wanted in (group.key.replace("_", " "), group.label.lower(), *group.also):
            return group.key
    return None


def accepted(field: str) -> str:
    """The accepted values of ``field``, in words, for an error message."""
    return ", ".join(g.key for g in VOCABULARIES[field])


def label(field: str, key: str | None) -> str:
    """A group's words for a report ('Not stated' when there is none)."""
    if field == "age_band":
        return key or NOT_STATED.label
    if key is None:
        return NOT_STATED.label
    for group in VOCABULARIES.get(field, ()):
        if group.key == key:
            return group.label
    return key


def age_band(age: int | None) -> str | None:
    """The band an age falls in; None for no age or under 16."""
    if age is None:
        return None
    for key, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return key
    return None
