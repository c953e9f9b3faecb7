"""The results pages and downloads through the real app, as each role signs in to them.

The report builder is replaced by one returning a finished report built by hand
(``tests/results_reports.py``), so that what is tested here is what the pages and files do
with a report: who may see it, whose figures, what is shown, what leaves the building.
That fake builder hands back dissatisfied victims' reasons (carrying a name, a number and
a case reference) whatever the scope it is asked for, so that leaving them out is tested
here too, not only in the builder.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import ivr.results.web as results_web
from ivr.accounts.staff import hash_password, results_scope
from ivr.results import charts, files
from ivr.results.model import Period, Report, Scope
from ivr.store import staff as staff_store
from ivr.store.models import AuditEntry
from tests.functional.staff_web import PASSWORD, sign_in
from tests.results_reports import (
    CASE_REF,
    HOSTILE_DISTRICT,
    REASON_WORDS,
    VICTIM_NAME,
    VICTIM_PHONE,
    make_report,
)

ANALYST = "ana.analyst@pcc.example"
DISTRICT_OFFICER = "dee.officer@force.example"
SUPERVISOR = "sam.supervisor@force.example"
ADMIN = "ada.admin@force.example"
SERVICE_MANAGER = "sue.manager@vcas.example"
INTERVIEWER = "ivy.interviewer@force.example"
Q3 = "period=quarter&quarter=2026Q3"
PERSONAL = (VICTIM_NAME, VICTIM_PHONE, CASE_REF, "Nobody rang back")


@dataclass
class FakeBuilder:
    """Stands in for ``build_report``: records what it was asked, returns a fixture."""

    hostile: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self, db: Any, registry: Any, survey: str, period: Period, **options: Any
    ) -> Report:
        assert isinstance(options["now"], datetime)
        self.calls.append({"survey": survey, "period": period, **options})
        return make_report(
            scope=options["scope"],
            weighted=options.get("weighted", False),
            period=period,
            survey=survey,
            hostile=self.hostile,
        )

    @property
    def last(self) -> dict[str, Any]:
        return self.calls[-1]


@pytest.fixture
def builder(monkeypatch: pytest.MonkeyPatch) -> FakeBuilder:
    fake = FakeBuilder()
    monkeypatch.setattr(results_web, "build_report", fake)
    return fake


@pytest.fixture(scope="module")
def password_hash() -> str:
    # Hashing is slow on purpose: every account here shares one hash of the one password.
    return hash_password(PASSWORD)


@pytest.fixture
def staff(app: Flask, builder: FakeBuilder, password_hash: str) -> Flask:
    accounts = [
        (ANALYST, "analyst", ()),
        (DISTRICT_OFFICER, "district_officer", ("Hartlepool", "Stockton")),
        (SUPERVISOR, "supervisor", ()),
        (ADMIN, "admin", ()),
        (SERVICE_MANAGER, "service_manager", ()),
        (INTERVIEWER, "interviewer", ()),
    ]
    with app.extensions["ivr"].db.transaction() as session:
        for email, role, districts in accounts:
            staff_store.add_user(
                session,
                email=email,
                name=None,
                role=role,
                districts=districts,
                password_hash=password_hash,
                now=datetime(2026, 10, 1, tzinfo=UTC),
            )
    return app


def text_of(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def downloads(client: FlaskClient, survey: str = "uss", query: str = Q3) -> dict[str, bytes]:
    """Every download of a report, by its path; but the PDF, printed from the HTML file
    (and tested on its own: its text is compressed)."""
    paths = [f"/results/{survey}/report.{ext}?{query}" for ext in ("html", "json")]
    paths += [f"/results/{survey}/tables/{name}.csv?{query}" for name in files.TABLES]
    found = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        found[path] = response.get_data()
    return found


def assert_no_personal_data(text: str) -> None:
    for secret in PERSONAL:
        assert secret not in text


# --- who sees what -----------------------------------------------------------------------


def test_an_analyst_reads_the_figures_but_never_reasons_or_personal_data(
    staff: Flask, builder: FakeBuilder
) -> None:
    client = sign_in(staff, ANALYST)
    home = text_of(client, "/results")
    assert '<a href="/results">Results</a>' in home
    assert "/queue" not in home and "/console" not in home
    page = text_of(client, f"/results/uss?{Q3}")
    scope = builder.last["scope"]
    assert scope == Scope(districts=None, label="all districts", reasons=False)
    assert builder.last["period"] == Period.of_quarter(2026, 3)
    assert builder.last["weighted"] is False
    for shown in (
        "<h1>Victim satisfaction survey (Home Office core questions): 2026 Q3</h1>",
        "Figures for all districts",
        "251 complete and 16 partial",
        "One interview per victim&#39;s case",
        "<strong>67.4%</strong> positive (95% interval 61.6% to 72.8%), of 267 answers",
        "Don&#39;t know: 11",
        "fewer than 10",
        '<span class="tag">low base</span>',
        "<strong>Yes, significant</strong>",
        "Ethnicity gap: White minus ethnic minority",
        "Cannot be worked out",
        "Ease of contact by district",
        "Ease of contact: the last 8 quarters",
        "How e is estimated:",
        "proportional allocation",
        "RR1",
        "CON3",
        "Under-represented by more than 5 points",
        "<strong>Yes, under-represented</strong>",
        "Service recovery by district, 2026 Q3",
    ):
        assert shown in page, shown
    assert "Why victims were dissatisfied" not in page
    assert_no_personal_data(page)
    for body in downloads(client).values():
        assert_no_personal_data(body.decode())
    assert all(call["scope"].reasons is False for call in builder.calls)


def test_an_analyst_never_reaches_the_queue_console_or_recordings(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    # Signed in, an analyst lands on the results, and so does the home page.
    assert client.get("/").headers["Location"] == "/results"
    for path in ("/queue", "/dashboard", "/console", "/console/supervision"):
        assert client.get(path).status_code == 403, path
    assert client.get("/queue/referrals/1/recording").status_code == 403
    assert client.get("/queue/referrals/1").status_code == 403


def test_a_district_officer_sees_only_their_districts_and_reasons_on_the_page(
    staff: Flask, builder: FakeBuilder
) -> None:
    client = sign_in(staff, DISTRICT_OFFICER)
    page = text_of(client, f"/results/uss?{Q3}")
    assert builder.last["scope"] == Scope(
        districts=("Hartlepool", "Stockton"), label="Hartlepool, Stockton", reasons=True
    )
    assert "Figures for Hartlepool, Stockton" in page
    assert "Hartlepool" in page and "Stockton" in page
    assert "Middlesbrough" not in page and "Redcar" not in page
    assert "Why victims were dissatisfied" in page
    assert REASON_WORDS in page  # the victim's own words, for the officer working recovery
    for body in downloads(client).values():
        assert b"Middlesbrough" not in body
        assert VICTIM_NAME.encode() not in body and b"Nobody rang back" not in body
    assert builder.calls[-1]["scope"].districts == ("Hartlepool", "Stockton")
    assert all(call["scope"].reasons is False for call in builder.calls[1:])


@pytest.mark.parametrize("email", [SUPERVISOR, ADMIN])
def test_supervisors_and_administrators_see_every_district_and_reasons(
    staff: Flask, builder: FakeBuilder, email: str
) -> None:
    client = sign_in(staff, email)
    page = text_of(client, f"/results/uss?{Q3}")
    assert builder.last["scope"] == Scope(districts=None, label="all districts", reasons=True)
    assert "Middlesbrough" in page and "Why victims were dissatisfied" in page


def test_reading_reasons_is_on_the_audit_trail(staff: Flask) -> None:
    client = sign_in(staff, SUPERVISOR)
    text_of(client, f"/results/uss?{Q3}")
    (entry,) = audit_entries(staff, "view_results_reasons")
    assert entry.details == {"survey": "uss", "period": "2026 Q3", "reasons": 4}


def test_a_service_manager_reads_only_the_service_survey(
    staff: Flask, builder: FakeBuilder
) -> None:
    client = sign_in(staff, SERVICE_MANAGER)
    form = text_of(client, "/results")
    assert 'value="vcas_exit"' in form and 'value="uss"' not in form
    assert client.get(f"/results/uss?{Q3}").status_code == 403
    assert client.get(f"/results/uss/report.json?{Q3}").status_code == 403
    assert client.get(f"/results/uss/tables/questions.csv?{Q3}").status_code == 403
    page = text_of(client, f"/results/vcas_exit?{Q3}")
    assert "Victim Care and Advice Service exit survey" in page
    assert [c["survey"] for c in builder.calls] == ["vcas_exit"]
    assert builder.last["scope"].reasons is True


def test_interviewers_are_refused_results(staff: Flask, builder: FakeBuilder) -> None:
    client = sign_in(staff, INTERVIEWER)
    assert '<a href="/results">' not in text_of(client, "/console")
    for path in (
        "/results",
        f"/results/uss?{Q3}",
        f"/results/uss/report.pdf?{Q3}",
        f"/results/uss/tables/questions.csv?{Q3}",
    ):
        assert client.get(path).status_code == 403, path
    assert builder.calls == []


def test_results_need_signing_in(staff: Flask, builder: FakeBuilder) -> None:
    response = staff.test_client().get(f"/results/uss?{Q3}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert builder.calls == []


def test_results_scope_of_each_role() -> None:
    @dataclass
    class Account:
        role: str
        districts: list[str] = field(default_factory=list)
        active: bool = True

    assert results_scope(Account("analyst")) == Scope(None, "all districts", False)
    assert results_scope(Account("admin")) == Scope(None, "all districts", True)
    assert results_scope(Account("service_manager")) == Scope(None, "all districts", True)
    assert results_scope(Account("district_officer", ["Hartlepool", "Stockton"])) == Scope(
        ("Hartlepool", "Stockton"), "Hartlepool, Stockton", True
    )
    for nobody in (
        Account("interviewer"),
        Account("analyst", active=False),
        Account("district_officer", []),
    ):
        assert results_scope(nobody).districts == ()


# --- choosing the period ----------------------------------------------------------------


def test_the_form_goes_on_to_the_report_for_a_quarter(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    form = text_of(client, "/results")
    assert "<legend>Period</legend>" in form and 'for="quarter"' in form
    response = client.get("/results?survey=uss&period=quarter&quarter=2026 q3")
    assert response.status_code == 302
    assert response.headers["Location"] == "/results/uss?period=quarter&quarter=2026Q3"


@pytest.mark.parametrize(
    ("query", "period"),
    [
        ("period=year&quarter=2026Q3", Period.rolling_year(2026, 3)),
        (
            "period=dates&from=2026-07-14&to=2026-08-02",
            Period.between(datetime(2026, 7, 14).date(), datetime(2026, 8, 2).date()),
        ),
    ],
)
def test_the_12_months_to_a_quarter_and_any_two_dates(
    staff: Flask, builder: FakeBuilder, query: str, period: Period
) -> None:
    client = sign_in(staff, ANALYST)
    page = text_of(client, f"/results/uss?{query}")
    assert builder.last["period"] == period
    assert period.label in page
    # The downloads ask for the same period.
    assert f"/results/uss/report.pdf?{query.replace('&', '&amp;')}" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=quarter&quarter=2026Q5", "quarter", "is not a quarter"),
        ("period=quarter&quarter=", "quarter", "Enter a quarter"),
        ("period=year&quarter=last+year", "quarter", "is not a quarter"),
        ("period=quarter&quarter=1999Q4", "quarter", "2000 to 2099 only"),
        ("period=dates&from=2026-13-01&to=2026-12-31", "from", "is not a date"),
        ("period=dates&from=2026-07-01", "to", "Enter the last day"),
        ("period=dates&from=2026-09-01&to=2026-07-01", "to", "before the first day"),
        ("period=fortnight", "period", "Choose a quarter"),
    ],
)
def test_a_period_that_cannot_be_read_is_explained_and_nothing_is_lost(
    staff: Flask, builder: FakeBuilder, query: str, field: str, message: str
) -> None:
    client = sign_in(staff, ANALYST)
    for path in (f"/results?survey=uss&{query}&weighted=1", f"/results/uss?{query}&weighted=1"):
        page = text_of(client, path, status=400)
        assert "There is a problem" in page
        assert message in page
        assert f'id="{field}-error"' in page
        anchor = "period-quarter" if field == "period" else field
        assert f'href="#{anchor}"' in page
        # What was typed is still there to correct.
        for name, value in (p.partition("=")[::2] for p in query.split("&")):
            if name in ("quarter", "from", "to") and value:
                assert f'value="{value.replace("+", " ")}"' in page
        assert 'id="weighted" name="weighted" value="1" checked' in page
        assert '<option value="uss" selected>' in page
    response = client.get(f"/results/uss/tables/questions.csv?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert builder.calls == []


def test_an_unknown_survey_or_file_is_not_found(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    assert client.get(f"/results/nosuch?{Q3}").status_code == 404
    assert client.get(f"/results/uss/report.exe?{Q3}").status_code == 404
    assert client.get(f"/results/uss/tables/nosuch.csv?{Q3}").status_code == 404
    assert "Choose one of the surveys" in text_of(
        client, f"/results?survey=nosuch&{Q3}", status=400
    )


def test_weighted_figures_beside_the_unweighted_with_the_effective_base(
    staff: Flask, builder: FakeBuilder
) -> None:
    client = sign_in(staff, ANALYST)
    page = text_of(client, f"/results/uss?{Q3}&weighted=1")
    assert builder.last["weighted"] is True
    assert "Weighted % positive" in page and "Effective base" in page
    assert "Weighted: 66.1% (95% interval 58.7% to 73.2%, effective base 201.7)" in page
    assert "Show unweighted figures only" in page
    rows = read_csv(client, f"/results/uss/tables/questions.csv?{Q3}&weighted=1")
    assert rows[0]["weighted_percent"] == "66.116" and rows[0]["effective_base"] == "201.7"


# --- the page itself --------------------------------------------------------------------


class Structure(HTMLParser):
    """What a page says about its own structure: ids, tables, headings, references."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tables = self.captions = 0
        self.th_without_scope = 0
        self.headings: list[int] = []
        self.labelled_by: list[str] = []
        self.svgs = 0
        self.svg_titles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th" and "scope" not in a:
            self.th_without_scope += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "svg":
            self.svgs += 1
            assert a.get("role") == "img"
        elif tag == "title" and self.svgs:
            self.svg_titles += 1
        if a.get("aria-labelledby"):
            self.labelled_by += str(a["aria-labelledby"]).split()


def structure(html: str) -> Structure:
    parsed = Structure()
    parsed.feed(html)
    parsed.close()
    return parsed


def check_structure(html: str) -> Structure:
    page = structure(html)
    assert page.tables > 20 and page.captions == page.tables
    assert page.th_without_scope == 0
    assert len(page.ids) == len(set(page.ids)), "ids are unique across every inline chart"
    assert set(page.labelled_by) <= set(page.ids)
    assert page.headings.count(1) == 1
    # Headings never skip a level going down.
    assert all(b <= a + 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
    # A trend and one chart per breakdown of each question, each titled.
    assert page.svgs == 5 * (1 + 8) and page.svg_titles == page.svgs
    return page


def test_the_report_page_is_readable_by_keyboard_and_screen_reader(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    page = text_of(client, f"/results/uss?{Q3}")
    assert '<a class="skip-link" href="#main">' in page
    check_structure(page)
    # The page's Content-Security-Policy allows no inline style: charts use attributes.
    assert not re.search(r"\sstyle=", page) and "<style" not in page and "<script" not in page
    assert 'aria-label="Contents of the report"' in page


# --- downloads --------------------------------------------------------------------------


def read_csv(client: FlaskClient, path: str) -> list[dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_every_table_downloads_as_csv_with_numbers_as_numbers(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    questions = read_csv(client, f"/results/uss/tables/questions.csv?{Q3}")
    assert [r["question_id"] for r in questions] == [
        "ease_of_contact",
        "actions_taken",
        "kept_informed",
        "treatment",
        "whole_experience",
    ]
    first = questions[0]
    assert (first["base"], first["positive"], first["percent"]) == ("267", "180", "67.416")
    assert (first["low"], first["high"], first["dont_know"]) == ("61.581", "72.756", "11")
    changes = read_csv(client, f"/results/uss/tables/changes.csv?{Q3}")
    fall = next(r for r in changes if r["question_id"] == "kept_informed")
    # A negative change is a number, not text behind a quote.
    assert (fall["points"], fall["low"], fall["high"], fall["significant"]) == (
        "-8.4",
        "-14.9",
        "-1.9",
        "yes",
    )
    held = next(r for r in changes if r["points"] == "")
    assert held["low"] == "" and held["significant"] == "no"
    breakdowns = read_csv(client, f"/results/uss/tables/breakdowns.csv?{Q3}")
    redcar = next(r for r in breakdowns if r["group"] == "Redcar and Cleveland")
    assert (redcar["suppressed"], redcar["base"], redcar["percent"]) == ("yes", "", "")
    trend = read_csv(client, f"/results/uss/tables/trend.csv?{Q3}")
    assert len(trend) == 5 * 8 and trend[0]["quarter"] == "2024 Q4"
    for name in files.TABLES:
        assert read_csv(client, f"/results/uss/tables/{name}.csv?{Q3}"), name


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(
    staff: Flask, builder: FakeBuilder
) -> None:
    builder.hostile = True
    client = sign_in(staff, ANALYST)
    text = client.get(f"/results/uss/tables/breakdowns.csv?{Q3}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    hostile = [r for r in rows if "HYPERLINK" in r["group"]]
    assert hostile and all(r["group"] == "'" + HOSTILE_DISTRICT for r in hostile)
    gaps = read_csv(client, f"/results/uss/tables/representativeness.csv?{Q3}")
    negative = [r["gap"] for r in gaps if r["gap"].startswith("-")]
    assert negative and all(float(g) < 0 for g in negative)
    # Every text cell of every table: none starts a formula.
    for name in files.TABLES:
        for row in csv.reader(io.StringIO(files.report_table(make_report(hostile=True), name))):
            for value in row:
                if value.startswith(("=", "+", "@", "\t", "\r")):
                    pytest.fail(f"{name}: {value!r}")
                if value.startswith("-"):
                    float(value)  # a negative number, or a neutralised cell would start with '


def test_csv_cell_rules() -> None:
    assert files.cell("=1+2") == "'=1+2"
    assert files.cell("+44 7700") == "'+44 7700"
    assert files.cell("-Stockton") == "'-Stockton"
    assert files.cell("@SUM(A1)") == "'@SUM(A1)"
    assert files.cell("\tx") == "'\tx" and files.cell("\rx") == "'\rx"
    assert files.cell("Stockton") == "Stockton"
    assert files.cell(-3.2) == "-3.2" and files.cell(-0.0001) == "0"
    assert files.cell(12) == "12" and files.cell(None) == "" and files.cell(True) == "yes"


def test_the_html_file_is_one_self_contained_document(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    response = client.get(f"/results/uss/report.html?{Q3}")
    assert response.mimetype == "text/html"
    assert "uss-results-2026-07-01-to-2026-09-30.html" in response.headers["Content-Disposition"]
    html = response.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "url(http" not in html and "@import" not in html
    assert "<style>" in html and html.count("<svg") == 45
    page = check_structure(html)
    assert page.headings[0] == 1
    assert "Why victims were dissatisfied" not in html
    assert_no_personal_data(html)


def test_the_pdf_opens_and_has_pages(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    response = client.get(f"/results/uss/report.pdf?{Q3}")
    assert response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_pages(pdf) > 5


def pdf_pages(pdf: bytes) -> int:
    """How many pages the PDF's page tree says it has (pypdf if installed, else the tree
    itself, found in the file or in its compressed object streams)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        pass
    else:
        return len(PdfReader(io.BytesIO(pdf)).pages)
    parts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            continue
    tree = re.compile(rb"<<[^<>]*/Type\s*/Pages\b[^<>]*>>")
    counts = [
        int(count.group(1))
        for part in parts
        for found in tree.finditer(part)
        if (count := re.search(rb"/Count\s+(\d+)", found.group(0)))
    ]
    return max(counts, default=0)


def test_the_json_file_holds_the_report_without_reasons(staff: Flask) -> None:
    client = sign_in(staff, DISTRICT_OFFICER)
    data = json.loads(client.get(f"/results/uss/report.json?{Q3}").get_data(as_text=True))
    assert data["period"] == {
        "start": "2026-07-01",
        "end": "2026-09-30",
        "label": "2026 Q3",
        "quarter": [2026, 3],
    }
    assert data["scope"] == "Hartlepool, Stockton"
    assert data["questions"][0]["overall"]["base"] == 267
    assert "reasons" not in data["recovery"]
    assert_no_personal_data(json.dumps(data))


def audit_entries(app: Flask, action: str) -> list[AuditEntry]:
    with app.extensions["ivr"].db.transaction() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
        session.expunge_all()
        return list(entries)


def test_every_download_is_on_the_audit_trail(staff: Flask) -> None:
    client = sign_in(staff, ANALYST)
    client.get(f"/results/uss/report.json?{Q3}")
    client.get(f"/results/uss/tables/rates.csv?{Q3}&weighted=1")
    client.get(f"/results/uss?{Q3}")  # reading the page is not a download
    entries = audit_entries(staff, "download_results")
    assert [e.details for e in entries] == [
        {
            "survey": "uss",
            "period": "2026 Q3",
            "start": "2026-07-01",
            "end": "2026-09-30",
            "file": "report.json",
            "weighted": False,
            "scope": "all districts",
        },
        {
            "survey": "uss",
            "period": "2026 Q3",
            "start": "2026-07-01",
            "end": "2026-09-30",
            "file": "tables/rates.csv",
            "weighted": True,
            "scope": "all districts",
        },
    ]
    with staff.extensions["ivr"].db.transaction() as session:
        analyst = session.execute(
            select(AuditEntry.actor_id).where(AuditEntry.action == "sign_in")
        ).scalar_one()
    assert {e.actor_id for e in entries} == {analyst}
    assert audit_entries(staff, "view_results_reasons") == []


# --- charts -----------------------------------------------------------------------------


def test_charts_are_text_described_and_the_same_every_time() -> None:
    report = make_report()
    breakdown = report.questions[0].breakdowns[1]
    first = charts.breakdown_chart(breakdown, title="Ease of contact by district", chart_id="a")
    charts._breakdown_svg.cache_clear()
    again = charts.breakdown_chart(breakdown, title="Ease of contact by district", chart_id="a")
    assert first == again
    assert first.startswith("<svg") and 'role="img"' in first
    assert '<title id="a-title">Ease of contact by district</title>' in first
    assert "Redcar and Cleveland: fewer than 10, not shown" in first  # in its description
    assert ">Hartlepool</text>" in first  # labels are text, not drawn glyphs
    assert not re.search(r"\sstyle=", first) and "<metadata" not in first
    assert "<script" not in first
    assert not set(re.findall(r'id="([^"]+)"', first)) & set(
        re.findall(r'id="([^"]+)"', charts.breakdown_chart(breakdown, title="Again", chart_id="b"))
    )
    trend = charts.trend_chart(report.questions[0].trend, title="Trend", chart_id="t")
    charts._trend_svg.cache_clear()
    assert trend == charts.trend_chart(report.questions[0].trend, title="Trend", chart_id="t")
    assert "2025 Q2: fewer than 10, not shown" in trend  # its description
    assert ">not</text>" in trend and ">shown</text>" in trend  # and on the chart, as text
