"""A simulated year of the Local Public Confidence Survey, small: seeded households by area
and group with different propensities to take part, numbers released by the planner each
week, every call through the webhooks; every area reaches its target and every quota cell
ends within its tolerance, none over it. ``scripts/simulate_lpcs_year.py`` runs it at
full scale."""

from __future__ import annotations

from pathlib import Path

from ivr.demo.public_year import questionnaires_with, simulate_year

ROOT = Path(__file__).resolve().parents[2]

PER_AREA = 24


def test_a_year_of_the_public_survey_fills_every_cell_within_its_tolerance(
    tmp_path: Path,
) -> None:
    questionnaires = questionnaires_with(
        ROOT / "questionnaires", PER_AREA, tmp_path / "questionnaires"
    )
    result = simulate_year(f"sqlite:///{tmp_path / 'year.db'}", questionnaires, seed=11)

    assert result.errors == []
    assert result.weeks == 52
    areas = [cell for cell in result.targets if cell[1] == "area"]
    assert len(areas) == 4 and all(result.targets[cell] == PER_AREA for cell in areas)
    assert all(result.achieved[cell] >= PER_AREA - 1 for cell in areas)
    # No cell is ever over its target; none is short by more than its tolerance.
    assert result.shortfalls(0.1) == {}
    assert result.dispositions["1.1"] == sum(result.achieved[cell] for cell in areas)
    # Quotas did their work: some respondents were turned away as their cell was full,
    # and numbers without an eligible resident were screened out.
    assert result.dispositions["4.80"] > 0 and result.dispositions["4.70"] > 0
    assert result.fates["not working"] > 0 and result.fates["answered"] > 0
