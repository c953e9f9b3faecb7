"""Fictional victims for the demo: Ofcom drama numbers, made-up names and cases."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
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


#: Victims by ONS 2021 group, as a force's system writes them: a little more mixed than
#: Cleveland's population, so that a quarter's ethnic-minority base is big enough for the
#: White / ethnic-minority gap to be shown rather than held back.
ETHNICITIES = {
    "White British": 70,
    "White other": 5,
    "Asian or Asian British": 9,
    "Black or Black British": 4,
    "Mixed or multiple": 3,
    "Other": 2,
    "Prefer not to say": 3,
    "": 4,
}
SEXES = {"Female": 50, "Male": 47, "": 3}
DISABILITIES = {"No": 75, "Yes": 17, "": 8}
USS_COLUMNS = (
    "case_ref",
    "phone",
    "crime_type",
    "district",
    "reported_on",
    "first_name",
    "domestic_abuse",
    "ethnicity",
    "sex",
    "disability",
    "age",
    "date_of_birth",
)


@dataclass(frozen=True)
class DemoCase:
    """One fictional USS case, as its sample line gives it (``phone`` in E.164)."""

    case_ref: str
    phone: str
    crime_type: str
    district: str
    reported_on: date
    first_name: str
    domestic_abuse: str
    ethnicity: str
    sex: str
    disability: str
    #: The sample gives an age, a date of birth (the import works the age out), or neither.
    age: str
    date_of_birth: str


def uss_victims(
    count: int, numbers: list[str], rng: random.Random, today: date, first: int = 0
) -> list[DemoCase]:
    """``count`` fictional USS cases reported 6 to 12 weeks before ``today``, numbered from
    ``first``, with the demographic columns a force's crime system exports."""
    cases: list[DemoCase] = []
    for i in range(count):
        reported = today - timedelta(days=rng.randint(42, 84))
        crime_type = rng.choice(CRIME_TYPES)
        # Some violent crimes are domestic: the force's system flags them apart.
        domestic = "yes" if crime_type == "violent" and rng.random() < 0.3 else "no"
        district = rng.choice(DISTRICTS)
        first_name = rng.choice(FIRST_NAMES)
        ethnicity = _weighted(ETHNICITIES, rng)
        sex = _weighted(SEXES, rng)
        disability = _weighted(DISABILITIES, rng)
        years = rng.randint(16, 88)
        given = rng.random()
        age = str(years) if given < 0.6 else ""
        born = (
            (today - timedelta(days=365 * years + rng.randint(0, 300))).isoformat()
            if 0.6 <= given < 0.9
            else ""
        )
        cases.append(
            DemoCase(
                f"CLE/{reported:%y}/{100000 + first + i}",
                numbers[i],
                crime_type,
                district,
                reported,
                first_name,
                domestic,
                ethnicity,
                sex,
                disability,
                age,
                born,
            )
        )
    return cases


def sample_csv(cases: list[DemoCase]) -> str:
    """A USS sample file of ``cases``, numbers written as a force's export would."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(USS_COLUMNS)
    for case in cases:
        writer.writerow(
            [
                case.case_ref,
                _national(case.phone),
                case.crime_type,
                case.district,
                case.reported_on.isoformat(),
                case.first_name,
                case.domestic_abuse,
                case.ethnicity,
                case.sex,
                case.disability,
                case.age,
                case.date_of_birth,
            ]
        )
    return out.getvalue()


def uss_csv(count: int, numbers: list[str], rng: random.Random, today: date, first: int = 0) -> str:
    """A USS sample file of ``count`` fictional cases reported 6 to 12 weeks ago, numbered
    from ``first``."""
    return sample_csv(uss_victims(count, numbers, rng, today, first))


def _weighted(weights: dict[str, int], rng: random.Random) -> str:
    values = list(weights)
    return rng.choices(values, weights=[weights[v] for v in values])[0]


def vcas_csv(
    count: int, numbers: list[str], rng: random.Random, today: date, first: int = 0
) -> str:
    """A VCAS exit-survey sample of ``count`` fictional closed cases, all consenting,
    numbered from ``first``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_ref", "phone", "first_name", "closed_on", "consent"])
    for i in range(count):
        closed = today - timedelta(days=rng.randint(7, 30))
        writer.writerow(
            [
                f"VCAS-{5000 + first + i}",
                numbers[i],
                rng.choice(FIRST_NAMES),
                closed.isoformat(),
                "yes",
            ]
        )
    return out.getvalue()


def _national(e164: str) -> str:
    """Write some numbers the way a force's export would: '0113 496 0001'."""
    national = "0" + e164[3:]
    return f"{national[:4]} {national[4:7]} {national[7:]}"
