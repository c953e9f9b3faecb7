"""The sample's side of a report: AAPOR dispositions and outcome rates, and how the
interviews' mix compares with the eligible sample's (representativeness)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from ivr.campaigns.dispositions import E_METHOD, Disposition, RateGroup, estimate_e, outcome_rates
from ivr.results import disclosure
from ivr.results.groups import group_label, order
from ivr.results.model import (
    DIMENSION_LABELS,
    RateRow,
    Representation,
    Representativeness,
    ResponseRates,
    Thresholds,
)
from ivr.store import results as store

#: The case dimensions whose shares of the interviews are set against the eligible sample.
REPRESENTED = ("crime_type", "district", "age_band", "sex", "ethnicity")
INTERVIEWED = frozenset({"1.1", "1.2"})


# --- response -----------------------------------------------------------------------------


def is_eligible(code: str | None) -> bool:
    return code is not None and Disposition.from_code(code).group is not RateGroup.NE


def _rate_row(name: str, counts: dict[str, int], thresholds: Thresholds) -> RateRow:
    by_disposition = {Disposition.from_code(code): n for code, n in counts.items()}
    total = sum(counts.values())
    e = estimate_e(by_disposition)
    if total < thresholds.suppress_below:
        rates: dict[str, float | None] = dict.fromkeys(outcome_rates({}), None)
    else:
        rates = {
            k: None if v is None else 100 * v for k, v in outcome_rates(by_disposition, e).items()
        }
    return RateRow(name, dict(sorted(counts.items())), rates, e)


def _dispositions(
    rows: Iterable[store.CaseCount], grouping: tuple[str, ...]
) -> dict[tuple[str, tuple[str | None, ...]], dict[str, int]]:
    found: dict[tuple[str, tuple[str | None, ...]], dict[str, int]] = defaultdict(dict)
    for row in rows:
        if row.grouping == grouping and row.disposition is not None:
            counts = found[(row.window, row.groups)]
            counts[row.disposition] = counts.get(row.disposition, 0) + row.n
    return found


def response_rates(
    cases: Sequence[store.CaseCount],
    case_trend: Sequence[store.CaseCount],
    main: str,
    thresholds: Thresholds,
) -> ResponseRates:
    overall = _dispositions(cases, ()).get((main, ()), {})
    districts = _dispositions(cases, ("district",))
    quarters = _dispositions(case_trend, ())
    return ResponseRates(
        overall=_rate_row("All", overall, thresholds),
        by_district=tuple(
            _rate_row(group_label("district", groups[0]), counts, thresholds)
            for (_, groups), counts in sorted(
                districts.items(), key=lambda item: (item[0][1][0] is None, item[0][1][0] or "")
            )
        ),
        by_quarter=tuple(_rate_row(w, counts, thresholds) for (w, _), counts in quarters.items()),
        e_method=E_METHOD,
    )


# --- representativeness -------------------------------------------------------------------


def representativeness(
    cases: Sequence[store.CaseCount], thresholds: Thresholds
) -> Representativeness:
    rows: list[Representation] = []
    named: list[str] = []
    for dimension in REPRESENTED:
        eligible: Counter[str | None] = Counter()
        interviewed: Counter[str | None] = Counter()
        for row in cases:
            if row.grouping != (dimension,) or not is_eligible(row.disposition):
                continue
            eligible[row.groups[0]] += row.n
            if row.disposition in INTERVIEWED:
                interviewed[row.groups[0]] += row.n
        keys = order(dimension, eligible)
        total_e, total_i = sum(eligible.values()), sum(interviewed.values())
        hidden = disclosure.held_back([interviewed[k] for k in keys], thresholds) | (
            disclosure.held_back([eligible[k] for k in keys], thresholds)
        )
        for i, key in enumerate(keys):
            e_share = 100 * eligible[key] / total_e if total_e else None
            i_share = 100 * interviewed[key] / total_i if total_i else None
            gap = None if e_share is None or i_share is None else i_share - e_share
            under = (
                gap is not None
                and gap < -thresholds.representation_margin
                and eligible[key] >= thresholds.suppress_below
            )
            label = group_label(dimension, key)
            if under:
                named.append(f"{DIMENSION_LABELS[dimension].lower()} {label}")
            shown = i not in hidden
            rows.append(
                Representation(
                    dimension,
                    label,
                    interviewed[key] if shown else None,
                    eligible[key] if shown else None,
                    i_share if shown else None,
                    e_share if shown else None,
                    gap if shown else None,
                    under,
                )
            )
    margin = thresholds.representation_margin
    summary = (
        f"Under-represented by more than {margin:g} points against the eligible sample: "
        + "; ".join(named)
        + "."
        if named
        else f"No group is under-represented by more than {margin:g} points."
    )
    return Representativeness(tuple(rows), margin, summary)
