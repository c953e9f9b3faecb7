"""A simulated year of the Local Public Confidence Survey through the real product: weekly
releases of random-digit numbers per area, every call through the webhooks, quotas, and at
the end each quota cell's interviews against its year's target.

    python scripts/simulate_lpcs_year.py                  # 600 a year in each of 4 areas
    python scripts/simulate_lpcs_year.py --per-area 100 --weeks 26 --seed 7
    python scripts/simulate_lpcs_year.py --database-url postgresql+psycopg://postgres@127.0.0.1/sim

``--database-url`` must name an empty database (its tables are created). Exits 1 when a
call went wrong or a cell ends outside its tolerance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.demo.public_year import questionnaires_with, simulate_year  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--per-area", type=int, help="interviews a year per area (default: the YAML's)"
    )
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tolerance", type=float, default=0.1)
    parser.add_argument(
        "--database-url", help="an empty database (default: a temporary SQLite file)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        questionnaires = questionnaires_with(
            ROOT / "questionnaires", args.per_area, work / "questionnaires"
        )
        url = args.database_url or f"sqlite:///{work / 'year.db'}"
        result = simulate_year(url, questionnaires, seed=args.seed, weeks=args.weeks)
    areas = sorted({cell[0] for cell in result.targets})
    print(f"{result.weeks} weeks simulated in {result.seconds:.0f} s; {result.calls:,} calls")
    print("calls: " + ", ".join(f"{name} {n:,}" for name, n in sorted(result.fates.items())))
    print(
        "cases by AAPOR disposition: "
        + ", ".join(f"{code} {n:,}" for code, n in sorted(result.dispositions.items()))
    )
    print(f"{'area':<24}{'numbers':>9}{'interviews':>12}{'target':>8}")
    for area in areas:
        cell = (area, "area", area)
        print(
            f"{area:<24}{result.released[area]:>9,}{result.achieved[cell]:>12,}"
            f"{result.targets[cell]:>8,}"
        )
    outside = result.shortfalls(args.tolerance)
    cells = len(result.targets)
    print(f"{cells - len(outside)} of {cells} quota cells within {args.tolerance:.0%} of target")
    for cell, (got, target) in sorted(outside.items()):
        print(f"  outside: {cell[0]} {cell[1]} {cell[2]}: {got} of {target}")
    for area in areas:
        said = ", ".join(
            f"{kind} {result.not_stated(area, kind)}" for kind in ("age_sex", "ethnicity")
        )
        print(f"  {area}: interviews not in a cell (prefer not to say): {said}")
    if result.errors:
        print(f"{len(result.errors)} call errors, the first: {result.errors[0]}")
    return 1 if outside or result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
