"""A quarter's report agrees, cell by cell, with figures recomputed independently from the
export: counts exactly, percentages and intervals (statsmodels) to 0.01 point.

The data is the benchmark generator's (two questionnaire versions, partials, don't knows,
cases with two interviews, demographics), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from ivr.calendar import ZONE
from ivr.questionnaire.options import is_substantive, not_counted_kind, positive_keys
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.results.export import export_objects
from ivr.results.groups import group_label
from ivr.results.model import Period, Report, Scope, Thresholds
from ivr.results.report import build_report
from ivr.store import results as store
from ivr.store.db import Database
from ivr.store.interviews import pinned_questionnaire
from tests.conftest import ROOT
from tests.integration.generated_results import generated_results

QUARTER = Period.parse_quarter("2026Q2")
THRESHOLDS = Thresholds()
TOLERANCE = 0.01  # points


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("report")
    with generated_results(request.param, folder, 3000, seed=11) as url:
        yield url


@dataclass
class Cell:
    base: int = 0
    positive: int = 0
    not_counted: Counter[str] = field(default_factory=Counter)
    no_answer: int = 0


def recompute(url: str, period: Period) -> dict[tuple[str, str, str | None], Cell]:
    """Cells by (question, dimension, group) from the export, counted as the README says;
    dimension "" is the whole period."""
    db = Database(url)
    cells: dict[tuple[str, str, str | None], Cell] = defaultdict(Cell)
    versions: dict[int, Questionnaire] = {}
    # A transaction: on PostgreSQL the export streams through a server-side cursor.
    with db.begin() as conn:
        for row in store.export_rows(conn, "uss", start=None, end=None):
            if not period.start <= row.started_at.astimezone(ZONE).date() <= period.end:
                continue
            q = versions.get(row.questionnaire_version_id)
            if q is None:
                q = versions[row.questionnaire_version_id] = pinned_questionnaire(
                    conn, row.questionnaire_version_id
                )
            codes = {qid: answer.code for qid, answer in row.answers.items()}
            answered = sum(1 for qid in q.core_ids if codes.get(qid) is not None)
            if row.status != "completed" and answered < q.partial_threshold:
                continue
            groups = {
                "": None,
                "crime_type": row.crime_type,
                "district": row.district,
                "mode": row.mode,
                "questionnaire_version": row.version,
                "ethnicity": row.ethnicity,
                "age_band": row.age_band,
                "sex": row.sex,
                "disability": row.disability,
            }
            for qid in q.core_ids:
                if qid not in codes:
                    continue
                question, code = q.question(qid), codes[qid]
                for dimension, group in groups.items():
                    cell = cells[(qid, dimension, group)]
                    if code is None:
                        cell.no_answer += 1
                    elif is_substantive(question, code):
                        cell.base += 1
                        cell.positive += code in positive_keys(question)
                    else:
                        kind = not_counted_kind(question, code)
                        cell.not_counted[kind.value if kind else "other"] += 1
    db.dispose()
    return cells


def report_of(url: str, period: Period, *, weighted: bool = False) -> Report:
    db = Database(url)
    try:
        return build_report(
            db,
            QuestionnaireRegistry(ROOT / "questionnaires"),
            "uss",
            period,
            scope=Scope(),
            thresholds=THRESHOLDS,
            weighted=weighted,
            now=datetime(2026, 11, 29, tzinfo=UTC),
        )
    finally:
        db.dispose()


def wilson_points(positive: int, base: int) -> tuple[float, float]:
    low, high = proportion_confint(positive, base, alpha=0.05, method="wilson")
    return 100 * low, 100 * high


def test_every_shown_cell_agrees_with_the_export(generated: str) -> None:
    report = report_of(generated, QUARTER)
    cells = recompute(generated, QUARTER)
    assert report.questions, "the generated data has core questions"
    checked = 0
    for result in report.questions:
        whole = cells[(result.question_id, "", None)]
        overall = result.overall
        assert (overall.base, overall.positive) == (whole.base, whole.positive)
        assert overall.percent == pytest.approx(100 * whole.positive / whole.base, abs=TOLERANCE)
        low, high = wilson_points(whole.positive, whole.base)
        assert (overall.low, overall.high) == (
            pytest.approx(low, abs=TOLERANCE),
            pytest.approx(high, abs=TOLERANCE),
        )
        assert result.not_counted == dict(whole.not_counted)
        assert result.no_answer == whole.no_answer
        for breakdown in result.breakdowns:
            expected = {
                group_label(breakdown.dimension, group): cell
                for (qid, dimension, group), cell in cells.items()
                if qid == result.question_id and dimension == breakdown.dimension
            }
            assert {g.group for g in breakdown.groups} == set(expected), breakdown.dimension
            # One "Not stated" group, whether the sample left the cell blank or said so.
            assert len({g.group for g in breakdown.groups}) == len(breakdown.groups)
            assert sum(c.base for c in expected.values()) == whole.base
            for group in breakdown.groups:
                cell, figure = expected[group.group], group.figure
                if figure.suppressed:
                    assert figure.base is None and figure.percent is None
                    continue
                assert cell.base == 0 or cell.base >= THRESHOLDS.suppress_below
                assert (figure.base, figure.positive) == (cell.base, cell.positive)
                if cell.base:
                    low, high = wilson_points(cell.positive, cell.base)
                    assert figure.low == pytest.approx(low, abs=TOLERANCE)
                    assert figure.high == pytest.approx(high, abs=TOLERANCE)
                    checked += 1
    assert checked > 100


def test_changes_agree_with_statsmodels_newcombe(generated: str) -> None:
    report = report_of(generated, QUARTER)
    now = recompute(generated, QUARTER)
    before = recompute(generated, QUARTER.shifted(-1))
    year_ago = recompute(generated, QUARTER.shifted(-4))
    for result in report.questions:
        this = now[(result.question_id, "", None)]
        for change, other in zip(result.changes, (before, year_ago), strict=True):
            then = other[(result.question_id, "", None)]
            low, high = confint_proportions_2indep(
                this.positive, this.base, then.positive, then.base, method="newcomb"
            )
            points = 100 * (this.positive / this.base - then.positive / then.base)
            assert change.points == pytest.approx(points, abs=TOLERANCE)
            assert change.low == pytest.approx(100 * low, abs=TOLERANCE)
            assert change.high == pytest.approx(100 * high, abs=TOLERANCE)
            assert change.significant == (low > 0 or high < 0)
        # The trend's last point is this quarter.
        assert result.trend[-1].period == QUARTER.label
        assert result.trend[-1].figure.base == this.base


def test_weighted_figures_agree_with_the_exports_weights(generated: str) -> None:
    """What an analyst would do with the export: weight each counted answer by its row's
    weight (rows without one are outside the weighted figures), then Wilson on the
    effective base (Kish)."""
    report = report_of(generated, QUARTER, weighted=True)
    db = Database(generated)
    try:
        with db.snapshot() as conn:
            rows = [
                row
                for row in export_objects(conn, "uss", start=None, end=None)
                if QUARTER.start
                <= datetime.fromisoformat(row["started_at"]).astimezone(ZONE).date()
                <= QUARTER.end
            ]
            versions = {
                vid: pinned_questionnaire(conn, vid)
                for vid in store.versions_of_survey(conn, "uss")
            }
    finally:
        db.dispose()
    assert all(row["weight"] is None for row in rows if not row["counted"])
    by_version = {q.version: q for q in versions.values()}
    for result in report.questions:
        weighted = result.weighted
        assert weighted is not None and weighted.percent is not None
        pairs = []
        for row in rows:
            answer = row["answers"].get(result.question_id)
            if row["weight"] is None or answer is None or answer["code"] is None:
                continue
            if not answer["substantive"]:
                continue
            question = by_version[row["questionnaire_version"]].question(result.question_id)
            pairs.append((row["weight"], answer["code"] in positive_keys(question)))
        total = sum(w for w, _ in pairs)
        share = sum(w for w, positive in pairs if positive) / total
        effective = total**2 / sum(w * w for w, _ in pairs)
        low, high = proportion_confint(share * effective, effective, method="wilson")
        assert weighted.percent == pytest.approx(100 * share, abs=TOLERANCE)
        assert weighted.effective_base == pytest.approx(effective, abs=0.01)
        assert (weighted.low, weighted.high) == (
            pytest.approx(100 * low, abs=TOLERANCE),
            pytest.approx(100 * high, abs=TOLERANCE),
        )
