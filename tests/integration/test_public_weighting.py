"""A survey of the public's weighted figures agree with an independent raking of its
export, on SQLite and on PostgreSQL.

A few hundred LPCS interviews with known demographics are stored as calls would leave
them (Hartlepool drawn far below its share of the residents); the export is raked again
here by a small iterative proportional fitting of the test's own, to the population
file's margins, and the report's weighted shares, intervals, effective bases and design
effect are recomputed from it; the under-represented area is named.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from statsmodels.stats.proportion import proportion_confint

from ivr.engine.model import Status
from ivr.questionnaire.options import is_substantive, positive_keys
from ivr.questionnaire.population import Population
from ivr.questionnaire.schema import Questionnaire
from ivr.results import files
from ivr.results.export import export_objects
from ivr.results.model import Period, Report, Scope, Thresholds
from ivr.results.report import build_report, window
from ivr.store.interviews import pin_version
from ivr.store.models import Answer, Case, Interview

QUARTER = Period.parse_quarter("2026Q2")
#: How likely a respondent comes from each area: Hartlepool far below its residents' share.
AREA_DRAW = {
    "Hartlepool": 0.08,
    "Middlesbrough": 0.32,
    "Redcar and Cleveland": 0.28,
    "Stockton-on-Tees": 0.32,
}
#: Older people answer more: the age band codes 1 (16-24) to 7 (75+), drawn by these odds.
AGE_DRAW = [0.11, 0.13, 0.14, 0.15, 0.16, 0.16, 0.15]
ETHNICITY_DRAW = {"1": 0.92, "2": 0.012, "3": 0.042, "4": 0.008, "5": 0.01, "9": 0.008}
TOLERANCE = 1e-6


def _answers(q: Questionnaire, rng: random.Random) -> dict[str, str]:
    codes = {
        "lives_in_area": "1",
        "aged_16_or_over": "1",
        "age_band": "9" if rng.random() < 0.01 else str(rng.choices(range(1, 8), AGE_DRAW)[0]),
        "sex": rng.choice("12"),
        "ethnicity": rng.choices(list(ETHNICITY_DRAW), list(ETHNICITY_DRAW.values()))[0],
    }
    for qid in q.core_ids:
        # Older respondents, and those outside Hartlepool, are more positive: weighting moves
        # the figures.
        lean = 0.1 * int(codes["age_band"] if codes["age_band"] != "9" else 4)
        codes[qid] = "8" if rng.random() < 0.05 else ("1" if rng.random() < 0.2 + lean else "4")
    return codes


def _generate(app: Flask, seed: int) -> None:
    """Interviews in 2026 Q2 and Q1 (the rolling year), and calls that do not count."""
    rng = random.Random(seed)
    svc = app.extensions["ivr"]
    loaded = svc.questionnaires.current("lpcs")
    q = loaded.questionnaire
    with svc.db.transaction() as session:
        version = pin_version(session, loaded)
        for n in range(420):
            area = rng.choices(list(AREA_DRAW), list(AREA_DRAW.values()))[0]
            quarter_start = (
                datetime(2026, 4, 1, 9, tzinfo=UTC)
                if n < 320
                else datetime(2026, 1, 2, 9, tzinfo=UTC)
            )
            started = quarter_start + timedelta(days=rng.randrange(85), minutes=n)
            case = Case(
                survey="lpcs",
                case_ref=f"LPCS-{n:05d}",
                phone=f"+4416420{n:05d}",
                first_name=None,
                district=area,
                fields={"released_on": started.date().isoformat()},
            )
            session.add(case)
            session.flush()
            screened = n % 40 == 0
            status = Status.SCREENED_OUT if screened else Status.COMPLETED
            interview = Interview(
                case_id=case.id,
                questionnaire_version_id=version,
                channel="phone",
                status=status.value,
                started_at=started,
                ended_at=started + timedelta(minutes=6),
            )
            session.add(interview)
            session.flush()
            codes = {"lives_in_area": "2"} if screened else _answers(q, rng)
            for qid, code in codes.items():
                session.add(
                    Answer(interview_id=interview.id, question_id=qid, code=code, via="keypad")
                )


# --- the independent raking ---------------------------------------------------------------


def _population_shares(population: Population) -> list[dict[Hashable, float]]:
    """Area, age band by sex and ethnicity shares of all the areas' residents together."""
    areas = population.counts
    by_area = {a: sum(areas[a]["age_sex"].values()) for a in areas}
    age_sex: Counter[str] = Counter()
    ethnicity: Counter[str] = Counter()
    for a in areas:
        age_sex.update(areas[a]["age_sex"])
        ethnicity.update(areas[a]["ethnicity"])
    return [
        {k: v / sum(counts.values()) for k, v in counts.items()}
        for counts in (by_area, dict(age_sex), dict(ethnicity))
    ]


def _ipf(profiles: Sequence[tuple[Any, ...]], shares: list[dict[Hashable, float]]) -> list[float]:
    """Plain raking, respondent by respondent: each margin in turn scales its stated
    respondents to its groups' shares (those groups with respondents, shares renormalised),
    until nothing moves; mean weight 1."""
    w = [1.0] * len(profiles)
    for _ in range(5000):
        before = list(w)
        for i, margin in enumerate(shares):
            seen = {p[i] for p in profiles} & set(margin)
            total_share = sum(margin[g] for g in seen)
            stated = sum(wj for wj, p in zip(w, profiles, strict=True) if p[i] in seen)
            totals: Counter[Hashable] = Counter()
            for wj, p in zip(w, profiles, strict=True):
                totals[p[i]] += wj
            w = [
                wj * stated * margin[p[i]] / total_share / totals[p[i]] if p[i] in seen else wj
                for wj, p in zip(w, profiles, strict=True)
            ]
        if max(abs(a - b) for a, b in zip(w, before, strict=True)) < 1e-13:
            break
    mean = sum(w) / len(w)
    return [wj / mean for wj in w]


def _profile(row: dict[str, Any]) -> tuple[Any, ...]:
    age_sex = f"{row['age_band']} {row['sex']}" if row["age_band"] and row["sex"] else None
    return (row["district"], age_sex, row["ethnicity"])


def _kish(weights: Sequence[float]) -> float:
    return sum(weights) ** 2 / sum(w * w for w in weights)


# --- the checks ---------------------------------------------------------------------------


def _report(app: Flask, period: Period, scope: Scope | None = None) -> Report:
    svc = app.extensions["ivr"]
    return build_report(
        svc.db,
        svc.questionnaires,
        "lpcs",
        period,
        scope=scope or Scope(),
        thresholds=Thresholds(),
        now=datetime(2026, 7, 10, tzinfo=UTC),
    )


def _export(app: Flask, period: Period) -> list[dict[str, Any]]:
    svc = app.extensions["ivr"]
    span = window(period)
    with svc.db.snapshot() as conn:
        return list(
            export_objects(
                conn, "lpcs", start=span.start, end=span.end, registry=svc.questionnaires
            )
        )


def _check_figures(
    report_figures: dict[str, Any],
    rows: list[dict[str, Any]],
    q: Questionnaire,
    weights: list[float],
) -> None:
    for qid in q.core_ids:
        question = q.question(qid)
        positive = positive_keys(question)
        answered = [
            (w, row["answers"][qid]["code"] in positive)
            for w, row in zip(weights, rows, strict=True)
            if qid in row["answers"] and is_substantive(question, row["answers"][qid]["code"])
        ]
        ws = [w for w, _ in answered]
        share = sum(w for w, pos in answered if pos) / sum(ws)
        effective = _kish(ws)
        low, high = proportion_confint(share * effective, effective, method="wilson")
        figure = report_figures[qid]
        assert figure.base == len(answered)
        assert figure.percent == pytest.approx(100 * share, abs=TOLERANCE)
        assert figure.effective_base == pytest.approx(effective, rel=TOLERANCE)
        assert figure.low == pytest.approx(100 * low, abs=1e-4)
        assert figure.high == pytest.approx(100 * high, abs=1e-4)


def test_the_weighted_figures_are_an_independent_raking_of_the_export(app_any_db: Flask) -> None:
    app = app_any_db
    _generate(app, seed=13)
    svc = app.extensions["ivr"]
    q = svc.questionnaires.current("lpcs").questionnaire
    shares = _population_shares(svc.questionnaires.population("lpcs"))

    report = _report(app, QUARTER)
    rows = _export(app, QUARTER)
    counted = [row for row in rows if row["counted"]]
    assert len(counted) == report.complete + report.partial == 312  # 8 of 320 screened out
    assert all(row["weight"] is None for row in rows if not row["counted"])
    assert report.weighting is not None and report.weighting.trimmed == 0

    # The export's weights are the raking of its own groups to the population file.
    mine = _ipf([_profile(row) for row in counted], shares)
    for row, w in zip(counted, mine, strict=True):
        assert row["weight"] == pytest.approx(w, rel=TOLERANCE)

    # Each core question: weighted share, its effective base and Wilson interval.
    weighted = {r.question_id: r.weighted for r in report.questions}
    _check_figures(weighted, counted, q, mine)
    # The unweighted figures stay beside them, and weighting moved them.
    police_job = next(r for r in report.questions if r.question_id == "police_job")
    assert police_job.overall.percent is not None and police_job.weighted is not None
    assert abs(police_job.overall.percent - (police_job.weighted.percent or 0)) > 0.1

    # The design effect and effective base of the weights, by Kish's formula.
    assert report.weighting.respondents == len(counted)
    assert report.weighting.effective_base == pytest.approx(_kish(mine), rel=TOLERANCE)
    assert report.weighting.design_effect == pytest.approx(len(mine) / _kish(mine), rel=TOLERANCE)
    assert report.weighting.design_effect > 1.05

    # Hartlepool is drawn at 8% against its share of the residents: named, in words.
    summary = report.representativeness.summary
    assert "against the population" in summary
    assert "district Hartlepool" in summary
    hartlepool = next(r for r in report.representativeness.rows if r.group == "Hartlepool")
    assert hartlepool.under_represented
    assert hartlepool.eligible_percent == pytest.approx(100 * shares[0]["Hartlepool"])


def test_the_rolling_year_is_raked_as_one(app_any_db: Flask) -> None:
    app = app_any_db
    _generate(app, seed=29)
    svc = app.extensions["ivr"]
    q = svc.questionnaires.current("lpcs").questionnaire
    shares = _population_shares(svc.questionnaires.population("lpcs"))

    report = _report(app, QUARTER)
    year = report.weighting_year
    assert year is not None and year.period == "12 months to 2026 Q2"
    rows = [row for row in _export(app, Period.rolling_year(2026, 2)) if row["counted"]]
    assert year.respondents == len(rows) > (report.weighting.respondents if report.weighting else 0)
    weights = _ipf([_profile(row) for row in rows], shares)
    assert year.effective_base == pytest.approx(_kish(weights), rel=TOLERANCE)
    _check_figures({f.question_id: f.figure for f in year.figures}, rows, q, weights)


def test_the_report_files_carry_the_weighting(app_any_db: Flask) -> None:
    app = app_any_db
    _generate(app, seed=5)
    report = _report(app, QUARTER)
    assert report.weighting is not None

    html = files.report_html(report)
    assert "Weighting to the population" in html
    assert "Design effect" in html and "Residents" in html
    assert "district Hartlepool" in html

    table = list(csv.DictReader(io.StringIO(files.report_table(report, "questions"))))
    assert len(table) == len(report.questions)
    for line, q in zip(table, report.questions, strict=True):
        assert q.weighted is not None and q.weighted.percent is not None
        assert float(line["weighted_percent"]) == pytest.approx(q.weighted.percent, abs=1e-3)
        assert float(line["design_effect"]) == pytest.approx(
            report.weighting.design_effect, abs=1e-3
        )
        assert line["year"] == "12 months to 2026 Q2"
        assert float(line["year_effective_base"]) > float(line["effective_base"])

    data = json.loads(json.dumps(files.report_json(report)))
    assert data["weighting"]["effective_base"] == pytest.approx(report.weighting.effective_base)
    assert data["representativeness"]["against"] == "population"


def test_a_district_officer_sees_their_area_weighted_with_everyone(app_any_db: Flask) -> None:
    app = app_any_db
    _generate(app, seed=13)
    everyone = _report(app, QUARTER)
    mine = _report(app, QUARTER, Scope(("Stockton-on-Tees",), "Stockton-on-Tees"))
    assert everyone.weighting is not None and mine.weighting is not None
    rows = [row for row in _export(app, QUARTER) if row["counted"]]
    stockton = [row["weight"] for row in rows if row["district"] == "Stockton-on-Tees"]
    # Raked with every area, shown for the officer's own.
    assert mine.weighting.respondents == len(stockton)
    assert mine.weighting.effective_base == pytest.approx(_kish(stockton), rel=TOLERANCE)
    assert [r.group for r in mine.representativeness.rows if r.dimension == "district"] == [
        "Stockton-on-Tees"
    ]


def test_ivr_results_export_carries_the_raked_weight(app_any_db: Flask) -> None:
    """``ivr results export``: each counted interview's weight is its quarter's raking, and
    its groups come from its answers, so the CSV alone gives back the weighted figures."""
    import ivr.cli

    app = app_any_db
    _generate(app, seed=13)
    report = _report(app, QUARTER)
    result = app.test_cli_runner().invoke(
        ivr.cli.main,
        ["results", "export", "--survey", "lpcs", "--format", "csv", "--from", "2026-04-01"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    rows = [row for row in csv.DictReader(io.StringIO(result.stdout)) if row["counted"]]
    assert len(rows) == report.complete + report.partial
    assert {row["district"] for row in rows} == set(AREA_DRAW)
    # The groups, and the answers they come from under their own heading.
    assert Counter(row["ethnicity"] for row in rows)["white"] > len(rows) / 2
    assert Counter(row["answer_ethnicity"] for row in rows)["1"] > len(rows) / 2
    police_job = next(q for q in report.questions if q.question_id == "police_job")
    answered = [row for row in rows if row["police_job"] in ("1", "2", "3", "4", "5")]
    positive = sum(float(row["weight"]) for row in answered if row["police_job"] in ("1", "2"))
    share = positive / sum(float(row["weight"]) for row in answered)
    assert police_job.weighted is not None
    assert 100 * share == pytest.approx(police_job.weighted.percent, abs=1e-6)
