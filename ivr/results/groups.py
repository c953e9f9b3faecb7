"""How the groups of a breakdown are named and ordered in a report."""

from __future__ import annotations

from collections.abc import Iterable

from ivr.questionnaire import demographics

#: How crime types are named in reports (the questionnaire's choices are spoken phrases).
CRIME_TYPES = {
    "burglary": "Burglary",
    "vehicle": "Vehicle crime",
    "violent": "Violent crime",
    "domestic_abuse": "Domestic abuse",
    "racist": "Racist or hate incident",
}
MODES = {"phone": "Phone (automated)", "interviewer": "Interviewer"}


def order(dimension: str, groups: Iterable[str | None]) -> list[str | None]:
    """Groups in the order readers expect: a vocabulary's own order, else by name; the
    group with no value ("Not stated") last."""
    known: list[str] = []
    if dimension in demographics.VOCABULARIES:
        known = [g.key for g in demographics.VOCABULARIES[dimension]]
    elif dimension == "age_band":
        known = [key for key, _, _ in demographics.AGE_BANDS]
    elif dimension == "mode":
        known = list(MODES)
    elif dimension == "crime_type":
        known = list(CRIME_TYPES)
    rank = {key: i for i, key in enumerate(known)}
    return sorted(
        groups, key=lambda g: (g is None, rank.get(g, len(rank)) if g is not None else 0, g or "")
    )


def group_label(dimension: str, key: str | None) -> str:
    """A group's name in a report."""
    if key is None:
        return demographics.NOT_STATED.label
    if dimension == "crime_type":
        return CRIME_TYPES.get(key, key.replace("_", " ").capitalize())
    if dimension == "mode":
        return MODES.get(key, key)
    if dimension in demographics.VOCABULARIES or dimension == "age_band":
        return demographics.label(dimension, key)
    return key
