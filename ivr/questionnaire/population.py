"""A survey of the public's population figures: residents aged 16 and over per area, by
age band and sex and by ethnicity, from the ONS (Census 2021, or the mid-year estimates).
A force edits the file to its own areas and the latest figures; quotas and weighting take
each group's share from it.

    source: ONS Census 2021, usual residents aged 16+ (TS007A age by sex, TS021 ethnicity)
    areas:
      Hartlepool:
        age_sex: {16-24 female: 5412, 16-24 male: 5630, ...}
        ethnicity: {white: 70981, mixed: 851, asian: 1240, black: 232, other: 240}

Every problem is reported as ``file:line: where: what``, as the questionnaire loader does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.questionnaire.demographics import AGE_BANDS, ETHNICITY, NOT_STATED, SEX
from ivr.questionnaire.loader import Problem, QuestionnaireError, located_yaml

AGE_SEX_GROUPS = tuple(f"{band} {sex.key}" for band, _l, _h in AGE_BANDS for sex in SEX[:2])
ETHNICITY_GROUPS = tuple(g.key for g in ETHNICITY if g is not NOT_STATED)
#: The groups each kind of cell must list, in this order.
CELL_GROUPS: dict[str, tuple[str, ...]] = {
    "age_sex": AGE_SEX_GROUPS,
    "ethnicity": ETHNICITY_GROUPS,
}


def age_sex_group(age_band: str | None, sex: str | None) -> str | None:
    """The age-by-sex cell of a respondent; None when either is not stated."""
    if age_band is None or sex is None or sex == NOT_STATED.key:
        return None
    return f"{age_band} {sex}"


#: A quota cell: (area, kind, group); an area's own total is (area, "area", area).
Cell = tuple[str, str, str]
AREA = "area"


def quota_cells(area: str, cells: tuple[str, ...], groups: Mapping[str, str | None]) -> list[Cell]:
    """The quota cells a respondent of ``area`` counts in, from their demographic groups
    (``groups``: age_band, sex, ethnicity, ... -> group key or None): the area's total and,
    per kind of cell, their group there (a group not stated counts in no cell of it)."""
    found: list[Cell] = [(area, AREA, area)]
    for cell in cells:
        if cell == "age_sex":
            group = age_sex_group(groups.get("age_band"), groups.get("sex"))
        else:
            group = groups.get(cell)
        if group is not None and group != NOT_STATED.key:
            found.append((area, cell, group))
    return found


@dataclass(frozen=True)
class Population:
    """Residents per area and cell group, as the file gives them."""

    source: str
    #: area -> cell kind ("age_sex", "ethnicity") -> group -> residents.
    counts: Mapping[str, Mapping[str, Mapping[str, int]]]

    def shares(self, area: str, cell: str) -> dict[str, float]:
        """Each group's share of the area's residents (adding up to 1)."""
        counts = self.counts[area][cell]
        total = sum(counts.values())
        return {group: n / total for group, n in counts.items()}


def parse_population(source: str, file: str = "<population>") -> Population:
    """Validate population YAML text; QuestionnaireError lists every problem by line."""
    data, located = located_yaml(source, file, "a population file")
    problems: list[Problem] = list(located.problems)

    def problem(path: tuple[Any, ...], where: str, message: str) -> None:
        problems.append(Problem(file, located.line_of(path), where, message))

    for key in data:
        if key not in ("source", "areas"):
            problem((key,), "", f"unknown key '{key}' (a population file has source and areas)")
    if not isinstance(data.get("source"), str) or not data["source"].strip():
        problem(("source",), "", "say where the figures come from: 'source: ONS Census 2021 ...'")
    areas = data.get("areas")
    counts: dict[str, dict[str, dict[str, int]]] = {}
    if not isinstance(areas, dict) or not areas:
        problem(("areas",), "", "'areas' must map each area to its figures")
        areas = {}
    for area, cells in areas.items():
        where = f"area '{area}'"
        if not isinstance(cells, dict):
            problem(("areas", area), where, "must map age_sex and ethnicity to their figures")
            continue
        counts[str(area)] = {}
        for cell, groups in cells.items():
            path = ("areas", area, cell)
            if cell not in CELL_GROUPS:
                problem(path, where, f"unknown cell '{cell}' (use {', '.join(CELL_GROUPS)})")
                continue
            if not isinstance(groups, dict):
                problem(path, where, f"'{cell}' must map each group to its residents")
                continue
            wanted = CELL_GROUPS[cell]
            for group in groups:
                if str(group) not in wanted:
                    problem(
                        path + (group,),
                        where,
                        f"'{group}' is not a {cell} group (use {', '.join(wanted)})",
                    )
            missing = [g for g in wanted if g not in groups]
            if missing:
                problem(path, where, f"{cell} is missing {', '.join(missing)}")
            for group, n in groups.items():
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    problem(path + (group,), where, f"'{group}': {n!r} is not a count of people")
            if not problems:
                counts[str(area)][cell] = {g: int(groups[g]) for g in wanted}
                if sum(counts[str(area)][cell].values()) == 0:
                    problem(path, where, f"{cell} counts nobody")
    if problems:
        raise QuestionnaireError(sorted(set(problems), key=lambda p: (p.line, p.message)))
    return Population(str(data["source"]).strip(), counts)


def load_population(path: str | Path) -> Population:
    """Read and validate one population file."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError([Problem(str(path), 1, "", f"cannot read: {exc}")]) from None
    return parse_population(source, str(path))


def check_against(
    population: Population, areas: Mapping[str, int], cells: tuple[str, ...]
) -> list[str]:
    """What the quotas ask of the figures that they do not have, in words."""
    found: list[str] = []
    for area in areas:
        if area not in population.counts:
            found.append(f"area '{area}' has no population figures")
            continue
        for cell in cells:
            if cell not in population.counts[area]:
                found.append(f"area '{area}' has no {cell} figures")
    return found


__all__ = [
    "AGE_SEX_GROUPS",
    "ETHNICITY_GROUPS",
    "Population",
    "Cell",
    "age_sex_group",
    "quota_cells",
    "check_against",
    "load_population",
    "parse_population",
]
