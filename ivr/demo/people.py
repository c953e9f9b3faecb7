"""Fictional victims for the demo: Ofcom drama numbers, made-up names and cases."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

#: Cleveland's four policing districts, as in the force's consultation strategy.
DISTRICTS = ("Hartlepool", "Stockton", "Middlesbrough", "Redcar and Cleveland")
CRIME_TYPES = ("burglary", "vehicle", "violent", "domestic_abuse", "racist")
FIRST_NAMES = (
    "Alex",
    "Sam",
    "Jordan",
    "Chris",
    "Pat",
    "Robin",
    "Jamie",
    "Morgan",
    "Taylor",
    "Casey",
    "Avery",
    "Charlie",
    "Drew",
    "Frankie",
    "Jesse",
    "Kim",
    "Lee",
    "Nico",
)
#: Ofcom's ranges for drama: valid to phonenumbers, never a real subscriber.
DRAMA_PREFIXES = (
    "+44113496",
    "+44114496",
    "+44116496",
    "+44117496",
    "+44118496",
    "+44121496",
    "+44131496",
    "+44141496",
    "+44151496",
    "+44161496",
    "+44191498",
    "+44207946",
    "+44289018",
    "+44292018",
)


def drama_numbers() -> list[str]:
    """Every fictional number the demo may use, in a fixed order."""
    numbers: list[str] = []
    for prefix in DRAMA_PREFIXES:
        width = 13 - len(prefix)  # a UK number in E.164 is +44 and ten digits
        numbers.extend(f"{prefix}{n:0{width}d}" for n in range(1000))
    return numbers


def uss_csv(count: int, numbers: list[str], rng: random.Random, today: date, first: int = 0) -> str:
    """A USS sample file of ``count`` fictional cases reported 6 to 12 weeks ago, numbered
    from ``first``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "case_ref",
            "phone",
            "crime_type",
            "district",
            "reported_on",
            "first_name",
            "domestic_abuse",
        ]
    )
    for i in range(count):
        reported = today - timedelta(days=rng.randint(42, 84))
        crime_type = rng.choice(CRIME_TYPES)
        # Some violent crimes are domestic: the force's system flags them apart.
        domestic = "yes" if crime_type == "violent" and rng.random() < 0.3 else "no"
        writer.writerow(
            [
                f"CLE/{reported:%y}/{100000 + first + i}",
                _national(numbers[i]),
                crime_type,
                rng.choice(DISTRICTS),
                reported.isoformat(),
                rng.choice(FIRST_NAMES),
                domestic,
            ]
        )
    return out.getvalue()


def vcas_csv(count: int, numbers: list[str], rng: random.Random, today: date) -> str:
    """A VCAS exit-survey sample of ``count`` fictional closed cases, all consenting."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_ref", "phone", "first_name", "closed_on", "consent"])
    for i in range(count):
        closed = today - timedelta(days=rng.randint(7, 30))
        writer.writerow(
            [f"VCAS-{5000 + i}", numbers[i], rng.choice(FIRST_NAMES), closed.isoformat(), "yes"]
        )
    return out.getvalue()


def _national(e164: str) -> str:
    """Write some numbers the way a force's export would: '0113 496 0001'."""
    national = "0" + e164[3:]
    return f"{national[:4]} {national[4:7]} {national[7:]}"
