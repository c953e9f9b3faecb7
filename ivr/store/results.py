"""The results' reads: a survey's interviews, answers, transcriptions and referrals, and the
quarterly figures counted in SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    CTE,
    JSON,
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    String,
    Subquery,
    Table,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
    values,
)
from sqlalchemy.orm import Session

from ivr.calendar import ZONE
from ivr.engine.model import Status
from ivr.questionnaire.demographics import AGE_BANDS, NOT_STATED
from ivr.questionnaire.schema import QuestionType
from ivr.store.interviews import pinned_questionnaire
from ivr.store.models import (
    Answer,
    Base,
    Case,
    Interview,
    QuestionnaireVersion,
    Referral,
    Schedule,
    Transcription,
)


class InterviewOfSurvey(NamedTuple):
    """An interview with what the reports say of its case, version and calls."""

    id: int
    case_id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    channel: str
    questionnaire_version_id: int
    case_ref: str
    district: str | None
    crime_type: str | None
    reported_on: date | None
    version: str
    disposition: str | None
    attempts: int | None


class AnswerOfSurvey(NamedTuple):
    """One answer an interview recorded."""

    interview_id: int
    question_id: str
    code: str | None
    label: str | None
    via: str | None
    recording_url: str | None


def interviews_of_survey(session: Session, survey: str) -> list[InterviewOfSurvey]:
    """Every interview of the survey's cases (a case may have several), with its case's
    facts, its questionnaire version and the case's schedule, if any."""
    return [
        InterviewOfSurvey._make(row)
        for row in session.execute(
            select(
                Interview.id,
                Interview.case_id,
                Interview.status,
                Interview.started_at,
                Interview.ended_at,
                Interview.channel,
                Interview.questionnaire_version_id,
                Case.case_ref,
                Case.district,
                Case.crime_type,
                Case.reported_on,
                QuestionnaireVersion.version,
                Schedule.disposition,
                Schedule.attempts,
            )
            .join(Case, Case.id == Interview.case_id)
            .join(
                QuestionnaireVersion, QuestionnaireVersion.id == Interview.questionnaire_version_id
            )
            .outerjoin(Schedule, Schedule.case_id == Case.id)
            .where(Case.survey == survey)
        )
    ]


def answers_of_survey(session: Session, survey: str) -> dict[int, list[AnswerOfSurvey]]:
    """The answers of the survey's interviews by interview id, each in the order given."""
    by_interview: dict[int, list[AnswerOfSurvey]] = {}
    for row in session.execute(
        select(
            Answer.interview_id,
            Answer.question_id,
            Answer.code,
            Answer.label,
            Answer.via,
            Answer.recording_url,
        )
        .join(Interview, Interview.id == Answer.interview_id)
        .join(Case, Case.id == Interview.case_id)
        .where(Case.survey == survey)
        .order_by(Answer.id)
    ):
        by_interview.setdefault(row.interview_id, []).append(AnswerOfSurvey(*row))
    return by_interview


def transcriptions_of_survey(session: Session, survey: str) -> dict[tuple[int, str], str | None]:
    """The text of the survey's transcribed answers, by (interview id, question id)."""
    return {
        (t.interview_id, t.question_id): t.text
        for t in session.execute(
            select(Transcription.interview_id, Transcription.question_id, Transcription.text)
            .join(Interview, Interview.id == Transcription.interview_id)
            .join(Case, Case.id == Interview.case_id)
            .where(Case.survey == survey)
        )
    }


def referrals_with_case_refs(
    session: Session, survey: str | None = None, status: str | None = None
) -> list[tuple[Referral, str]]:
    """Referrals with their case's reference, newest first, optionally only one survey's or
    one status's."""
    query = (
        select(Referral, Case.case_ref)
        .join(Referral.case)
        .order_by(Referral.created_at.desc(), Referral.id.desc())
    )
    if survey is not None:
        query = query.where(Referral.survey == survey)
    if status is not None:
        query = query.where(Referral.status == status)
    return [(referral, case_ref) for referral, case_ref in session.execute(query)]


def referral_counts(session: Session, survey: str) -> list[tuple[str, str, int]]:
    """How many referrals the survey has, as (district, kind, count), by district and kind."""
    return [
        (district, kind, count)
        for district, kind, count in session.execute(
            select(Referral.district, Referral.kind, func.count())
            .where(Referral.survey == survey)
            .group_by(Referral.district, Referral.kind)
            .order_by(Referral.district, Referral.kind)
        )
    ]


# --- the quarterly figures ----------------------------------------------------------------
#
# Every figure is counted in one statement, in the database: each case's reported interview
# (one per case: completed, else most core answers, else the latest) is chosen with a window
# function, the counting rules and the answer coding come in as VALUES tables, and the
# groupings are a UNION ALL over one aggregate. Python never loops over answers.

_VERSIONS: Table = Base.metadata.tables["questionnaire_versions"]
_CASES: Table = Base.metadata.tables["cases"]
_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_ANSWERS: Table = Base.metadata.tables["answers"]
_SCHEDULES: Table = Base.metadata.tables["schedules"]
_REFERRALS: Table = Base.metadata.tables["referrals"]
_TRANSCRIPTIONS: Table = Base.metadata.tables["transcriptions"]

_i, _c, _a, _s = _INTERVIEWS.c, _CASES.c, _ANSWERS.c, _SCHEDULES.c

COMPLETED = Status.COMPLETED.value
#: The breakdowns an interview's figures can be split by (``ivr.results.model.DIMENSIONS``).
INTERVIEW_DIMENSIONS = (
    "crime_type",
    "district",
    "mode",
    "questionnaire_version",
    "ethnicity",
    "age_band",
    "sex",
    "disability",
)
#: The breakdowns of cases (no interview: no mode, no questionnaire version).
CASE_DIMENSIONS = ("crime_type", "district", "ethnicity", "age_band", "sex", "disability")
#: Rows a streamed export fetches at a time.
EXPORT_BATCH = 1000


class Coding(NamedTuple):
    """What an answer code of a question means in one questionnaire version: ``positive``,
    ``negative`` (substantive, not positive), or a non-substantive kind (``dont_know``...)."""

    version_id: int
    question_id: str
    code: str
    klass: str


class CountingRule(NamedTuple):
    """A questionnaire version's core questions and how many of them an interview that
    stopped early must have answered to count."""

    version_id: int
    core_ids: tuple[str, ...]
    partial_threshold: int


class Window(NamedTuple):
    """A period in UTC moments: ``start`` included, ``end`` not."""

    label: str
    start: datetime
    end: datetime


def london_window(label: str, first_day: date, last_day: date) -> Window:
    """The window of London days ``first_day`` to ``last_day`` (both included): an
    interview belongs to the day it started on in London, whatever the clocks did."""
    start = datetime.combine(first_day, time(0), tzinfo=ZONE)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=ZONE)
    return Window(label, start.astimezone(UTC), end.astimezone(UTC))


class AnswerCount(NamedTuple):
    """How many counted interviews in a window and group gave a core question an answer
    of one class (``Coding.klass``, or ``no_answer``: asked, never answered)."""

    window: str
    groups: tuple[str | None, ...]
    question_id: str
    klass: str
    n: int
    #: The grouping's dimensions (what ``groups`` are groups of).
    grouping: tuple[str, ...] = ()


class InterviewCount(NamedTuple):
    """Counted interviews in a window and group: completed, and partial (past the
    threshold)."""

    window: str
    groups: tuple[str | None, ...]
    complete: int
    partial: int
    #: The grouping's dimensions (what ``groups`` are groups of).
    grouping: tuple[str, ...] = ()


class CaseCount(NamedTuple):
    """Cases whose calling closed in a window, in a group, with one final disposition."""

    window: str
    groups: tuple[str | None, ...]
    disposition: str | None
    n: int
    #: The grouping's dimensions (what ``groups`` are groups of).
    grouping: tuple[str, ...] = ()


class ReferralFacts(NamedTuple):
    """What the service-recovery figures need of one referral (no one's identity)."""

    district: str | None
    kind: str
    consented: bool | None
    created_at: datetime
    due_at: datetime | None
    first_contact_at: datetime | None
    status: str
    outcome: str | None


class ReasonText(NamedTuple):
    """One dissatisfied answer of a service-recovery referral, with the victim's words."""

    district: str | None
    question: str
    answer: str
    text: str | None


class ExportAnswer(NamedTuple):
    """An answer as exported; all None but the recording when a recording was kept, all
    None when the question was asked and never answered."""

    code: str | None
    label: str | None
    via: str | None
    recording_url: str | None


class ExportRow(NamedTuple):
    """One case's reported interview, as the export writes it."""

    case_ref: str
    survey: str
    district: str | None
    crime_type: str | None
    reported_on: date | None
    disposition: str | None
    attempts: int
    ethnicity: str | None
    age: int | None
    age_band: str | None
    sex: str | None
    disability: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    channel: str
    mode: str
    questionnaire_version_id: int
    version: str
    #: The questions asked, by question id.
    answers: dict[str, ExportAnswer]
    #: Transcribed recordings' text (None: the transcription failed), by question id.
    transcriptions: dict[str, str | None]
    #: The language the interview was held in (None: the questionnaire's own).
    language: str | None = None


def versions_of_survey(conn: Connection, survey: str) -> list[int]:
    """The questionnaire version ids the survey's interviews are pinned to, oldest first."""
    # An interview is pinned to a version of its own survey: no need to read the cases.
    v = _VERSIONS.c
    return list(
        conn.scalars(
            select(v.id)
            .where(v.survey == survey, exists().where(_i.questionnaire_version_id == v.id))
            .order_by(v.id)
        )
    )


def _table(name: str, columns: Sequence[tuple[str, Any]], rows: Sequence[tuple[Any, ...]]) -> CTE:
    """A small table of the caller's rows, sent with the statement (VALUES), or an empty one:
    VALUES cannot be empty."""
    if rows:
        return values(*(column(n, t) for n, t in columns), name=name).data(list(rows)).cte(name)
    return select(*(cast(null(), t).label(n) for n, t in columns)).where(false()).cte(name)


def _age_band(age: ColumnElement[Any]) -> ColumnElement[Any]:
    return case(
        *(
            (age >= low if high is None else age.between(low, high), key)
            for key, low, high in AGE_BANDS
        ),
        else_=null(),
    )


def _case_dimension(name: str, cases: Any) -> ColumnElement[Any]:
    """What a breakdown of cases reads from a case, labelled ``d_<name>``: its column, its
    sample field, or for the age band the age (see :func:`_group`)."""
    if name in ("crime_type", "district"):
        return cast(cases.c[name], String).label(f"d_{name}")
    if name in ("ethnicity", "sex", "disability"):
        return _stated(cases.c.fields[name]).label(f"d_{name}")
    if name == "age_band":
        return cases.c.fields["age"].as_integer().label("d_age_band")
    raise ValueError(f"no breakdown of cases by '{name}': one of {', '.join(CASE_DIMENSIONS)}")


def _stated(field: Any) -> ColumnElement[Any]:
    """A demographic sample field, NULL when not stated: a blank cell and an explicit
    ``not_stated`` are one group in every figure and in the export."""
    return func.nullif(field.as_string(), NOT_STATED.key)


def _group(rows: Any, name: str) -> ColumnElement[Any]:
    """A row's group in breakdown ``name``: the age band worked out from the age read once
    per row (in a CASE of its own the JSON field would be read once per band)."""
    column = rows.c[f"d_{name}"]
    return _age_band(column) if name == "age_band" else column


def _grouped_rows(rows: CTE | Subquery, grouping: tuple[str, ...], name: str) -> Any:
    """``rows`` with their groups in ``grouping`` as columns ``d_<name>``, to group by
    (selecting and grouping by the same column, not two copies of an expression)."""
    return select(
        *(c for c in rows.c if not c.name.startswith("d_")),
        *(_group(rows, d).label(f"d_{d}") for d in grouping),
    ).subquery(name)


def _dimensions(groupings: Sequence[tuple[str, ...]], known: tuple[str, ...]) -> list[str]:
    wanted = [d for grouping in groupings for d in grouping]
    for d in wanted:
        if d not in known:
            raise ValueError(f"no breakdown by '{d}': one of {', '.join(known)}")
    return [d for d in known if d in wanted]


class _Core(NamedTuple):
    """The core questions of the versions counted, and the versions each is core in."""

    questions: tuple[str, ...]
    versions: dict[str, tuple[int, ...]]
    #: Every version counted (some may have no core question).
    counted: tuple[int, ...]

    @classmethod
    def of(cls, rules: Sequence[CountingRule]) -> _Core:
        versions: dict[str, list[int]] = {}
        for rule in rules:
            for question_id in rule.core_ids:
                versions.setdefault(question_id, []).append(rule.version_id)
        return cls(
            tuple(versions),
            {q: tuple(v) for q, v in versions.items()},
            tuple(rule.version_id for rule in rules),
        )

    def pairs(self) -> set[tuple[int, str]]:
        """Each (version, core question)."""
        return {(v, q) for q, versions in self.versions.items() for v in versions}

    def holds(self, question_id: Any, version_id: Any) -> ColumnElement[bool] | None:
        """Whether an answer's question is core in its interview's version, beyond being
        one of the core questions of a version counted; None when that is all there is to
        it (every version has the same core questions, as they usually do)."""
        if all(set(v) == set(self.counted) for v in self.versions.values()):
            return None
        by_versions: dict[tuple[int, ...], list[str]] = {}
        for q, versions in self.versions.items():
            by_versions.setdefault(versions, []).append(q)
        return or_(
            *(
                and_(question_id.in_(questions), version_id.in_(versions))
                for versions, questions in by_versions.items()
            )
        )


class _Packing(NamedTuple):
    """Each core answer's class, packed into one integer per interview: question ``k``'s
    class is digit ``k`` in base ``base``, 1 + its index in ``classes`` (0: not asked).
    Summing those per interview reads each answer once and keeps one number per
    interview, which the counting then splits again per question."""

    questions: tuple[str, ...]
    classes: tuple[str, ...]
    base: int

    @classmethod
    def of(cls, core: _Core, coding: Sequence[Coding]) -> _Packing:
        classes = tuple(sorted({c.klass for c in coding} | {"negative", "no_answer"}))
        base = len(classes) + 1
        if base ** len(core.questions) >= 2**62:
            raise ValueError(f"too many core questions to count at once ({len(core.questions)})")
        return cls(core.questions, classes, base)

    def weight(self, k: int) -> int:
        return int(self.base**k)

    @property
    def type(self) -> Integer | BigInteger:
        """Plain integers when they are wide enough (they usually are: five questions of
        seven classes need 15 bits): summing them costs less than 64-bit sums."""
        return Integer() if self.base ** len(self.questions) < 2**31 else BigInteger()

    def digit(self, packed: Any, k: int) -> ColumnElement[Any]:
        """Question ``k``'s class number in a packed value."""
        return (packed // literal(self.weight(k), self.type)) % self.base

    def klass(self, number: int) -> str | None:
        return self.classes[number - 1] if number else None


def _class_codes(
    core: _Core, coding: Sequence[Coding]
) -> list[tuple[str, list[str] | None, dict[tuple[int, str], set[str]]]]:
    """Each class with its codes: one list when they are the same for every core question
    of every version (the satisfaction scale's, usually), else by (version, question)."""
    pairs = core.pairs()
    codes: dict[str, dict[tuple[int, str], set[str]]] = {}
    for c in coding:
        if (c.version_id, c.question_id) in pairs:
            codes.setdefault(c.klass, {}).setdefault((c.version_id, c.question_id), set()).add(
                c.code
            )
    return [
        (
            klass,
            sorted(next(iter(by_pair.values())))
            if set(by_pair) == pairs and len({frozenset(c) for c in by_pair.values()}) == 1
            else None,
            by_pair,
        )
        for klass, by_pair in sorted(codes.items())
    ]


def _needs_versions(core: _Core, coding: Sequence[Coding]) -> bool:
    """Whether counting an answer needs its interview's version: the versions differ in
    their core questions or in what their codes mean."""
    return core.holds(_a.question_id, _i.questionnaire_version_id) is not None or any(
        same is None for _klass, same, _by_pair in _class_codes(core, coding)
    )


def _answer_class(
    core: _Core, packing: _Packing, coding: Sequence[Coding], version: Any
) -> ColumnElement[Any]:
    """A core answer's class number: 0 when its question is not core in its interview's
    version, ``no_answer`` when asked and never answered, its code's class by ``coding``,
    else ``negative`` (substantive, not positive: any key an option does not set aside).

    A class whose codes are the same for every core question of every version is one IN;
    others name their question and version."""
    number = {klass: j + 1 for j, klass in enumerate(packing.classes)}
    branches: list[tuple[ColumnElement[bool], int]] = []
    for klass, same, by_pair in _class_codes(core, coding):
        if same is not None:
            branches.append((_a.code.in_(same), number[klass]))
            continue
        branches.extend(
            (
                and_(version == v, _a.question_id == q, _a.code.in_(sorted(c))),
                number[klass],
            )
            for (v, q), c in sorted(by_pair.items())
        )
    holds = core.holds(_a.question_id, version)
    return case(
        *([] if holds is None else [(~holds, 0)]),
        (_a.code.is_(None), number["no_answer"]),
        *branches,
        else_=number["negative"],
    )


def _answered(core: _Core, touched: Any, packing: _Packing | None, coding: Sequence[Coding]) -> Any:
    """One row per interview (of the versions counted, of the cases ``touched`` selects if
    given) that answered a core question: ``core_n``, its core questions with an answer,
    and with ``packing``, ``packed``, its core answers' classes. One pass over the answers.

    Without ``packing`` only the choice of a case's interview and the partial threshold
    need ``core_n``: where the interview was not completed or its case has another one.
    Only those interviews' answers are read then."""
    version = _i.questionnaire_version_id
    conditions: list[Any] = [version.in_(core.counted)]
    if touched is not None:
        conditions.append(_i.case_id.in_(touched))
    if packing is None:
        other = _INTERVIEWS.alias("other")
        several = (
            select(other.c.case_id)
            .where(
                other.c.questionnaire_version_id.in_(core.counted),
                *([] if touched is None else [other.c.case_id.in_(touched)]),
            )
            .group_by(other.c.case_id)
            .having(func.count() > 1)
        )
        conditions.append(or_(_i.status != COMPLETED, _i.case_id.in_(several)))
    holds = core.holds(_a.question_id, version)
    columns: list[Any] = [
        _a.interview_id,
        (
            func.count(_a.code)
            if holds is None
            else func.sum(case((and_(holds, _a.code.is_not(None)), 1), else_=0))
        ).label("core_n"),
    ]
    if packing is not None:
        weight = case(
            *(
                (_a.question_id == q, literal(packing.weight(k), packing.type))
                for k, q in enumerate(packing.questions)
            ),
            else_=literal(0, packing.type),
        )
        columns.append(
            cast(
                func.sum(_answer_class(core, packing, coding, version) * weight), BigInteger
            ).label("packed")
        )
    source: Any = _ANSWERS.join(_INTERVIEWS, _i.id == _a.interview_id)
    where: list[Any] = conditions
    if packing is not None and not _needs_versions(core, coding):
        # Nothing to read of the interviews: the answers of every interview numbered from
        # the first to the last candidate are read in order from an index (interviews are
        # numbered as they start), any others among them dropped with the candidates.
        bounds = (
            select(func.min(_i.id).label("first"), func.max(_i.id).label("last"))
            .where(*conditions)
            .subquery("bounds")
        )
        source = bounds.join(_ANSWERS, _a.interview_id.between(bounds.c.first, bounds.c.last))
        where = []
    return (
        select(*columns)
        .select_from(source)
        .where(*where, _a.question_id.in_(core.questions))
        .group_by(_a.interview_id)
        .cte("answered")
        # Worked out once, before the interviews are joined to it: inlined, PostgreSQL may
        # build it again in every parallel worker.
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _reported(
    survey: str,
    rules: Sequence[CountingRule],
    *,
    coding: Sequence[Coding] | None = None,
    windows: Sequence[Window] | None,
    start: datetime | None = None,
    end: datetime | None = None,
    districts: tuple[str, ...] | None,
    dimensions: Sequence[str],
    only_in: dict[str, tuple[str, ...]] | None = None,
    shared: bool = False,
) -> tuple[CTE, _Packing | None]:
    """Each case's reported interview: its completed one, else the one with most core
    answers, else the latest (``row_number()`` over the case's interviews).

    With ``windows``: only those that count (completed, or past their version's partial
    threshold, from a VALUES table of the rules) and started inside one of them, labelled
    ``window``; without: those started in [start, end). Columns: the interview's,
    ``core_n``, ``d_<name>`` per dimension (read with :func:`_group`) and, given
    ``coding``, ``packed`` (see :class:`_Packing`, returned with it).
    """
    core = _Core.of(rules)
    packing = None if coding is None else _Packing.of(core, coding)
    if windows is not None:
        start, end = min(w.start for w in windows), max(w.end for w in windows)
    seen = _INTERVIEWS.alias("seen")
    period = [
        *([] if start is None else [seen.c.started_at >= start]),
        *([] if end is None else [seen.c.started_at < end]),
    ]
    # Only cases with an interview started inside the period can be reported there; the
    # choice among a case's interviews still looks at all of them.
    touched = select(seen.c.case_id).where(*period) if period else None
    # The survey's interviews are those pinned to its versions (no need to read the cases),
    # and a district's those of its cases.
    in_scope: list[Any] = [_i.questionnaire_version_id.in_(core.counted)]
    if districts is not None:
        in_scope.append(
            _i.case_id.in_(select(_c.id).where(_c.survey == survey, _c.district.in_(districts)))
        )
    # The answers' side needs no case: the versions are the survey's, and interviews of
    # other districts are dropped with the candidates they do not match.
    answered = _answered(core, touched, packing, coding or ())
    core_n = func.coalesce(answered.c.core_n, 0)
    completed = case((_i.status == COMPLETED, 1), else_=0)
    # Only the interviews' narrow columns go through the window function's sort; the
    # case's groups are read for the reported interviews only, after it.
    columns: list[Any] = [_i.id, _i.case_id, _i.questionnaire_version_id, core_n.label("core_n")]
    if windows is None:
        columns += [_i.status, _i.started_at, _i.channel]
    else:
        columns.append(completed.label("completed"))
        columns.append(_window_of(_i.started_at, windows).label("window"))
    if packing is not None:
        columns.append(func.coalesce(answered.c.packed, 0).label("packed"))
    if "mode" in dimensions:
        columns.append(_mode_of(_i.channel).label("d_mode"))
    ranked = (
        select(
            *columns,
            func.row_number()
            .over(partition_by=_i.case_id, order_by=(completed.desc(), core_n.desc(), _i.id.desc()))
            .label("choice"),
        )
        .select_from(_INTERVIEWS.outerjoin(answered, answered.c.interview_id == _i.id))
        .where(*in_scope, *([] if touched is None else [_i.case_id.in_(touched)]))
        .subquery("ranked")
    )
    r = ranked.c
    kept: list[Any] = [c for c in r if c.name != "choice"]
    source: Any = ranked
    case_dimensions = [d for d in dimensions if d in CASE_DIMENSIONS]
    if case_dimensions:
        source = source.join(_CASES, _c.id == r.case_id)
        restricted = only_in or {}
        kept += [
            _when_in(r.window, restricted[d], _case_dimension(d, _CASES))
            if d in restricted
            else _case_dimension(d, _CASES)
            for d in case_dimensions
        ]
    if "questionnaire_version" in dimensions:
        source = source.join(_VERSIONS, _VERSIONS.c.id == r.questionnaire_version_id)
        kept.append(_VERSIONS.c.version.label("d_questionnaire_version"))
    # "< 2", not "= 1": the same rows, but the planner then expects most interviews to be
    # kept (they are: a case seldom has two) and joins and groups them accordingly.
    chosen: list[Any] = [r.choice < 2]
    if windows is None:
        chosen += [
            *([] if start is None else [r.started_at >= start]),
            *([] if end is None else [r.started_at < end]),
        ]
    else:
        thresholds = _table(
            "thresholds",
            (("version_id", Integer()), ("threshold", Integer())),
            [(rule.version_id, rule.partial_threshold) for rule in rules],
        )
        source = source.outerjoin(thresholds, thresholds.c.version_id == r.questionnaire_version_id)
        chosen += [
            r.window.is_not(None),
            or_(r.completed == 1, r.core_n >= thresholds.c.threshold),
        ]
    reported = select(*kept).select_from(source).where(*chosen).cte("reported")
    return _once(reported, shared), packing


def _once(rows: CTE, shared: bool) -> CTE:
    """``rows`` worked out once on PostgreSQL (each case's fields read once) when several
    groupings read them, or their age is read for a band (see :func:`_group`); else left
    for the planner to fold into the one query that reads them."""
    if shared or "d_age_band" in rows.c:
        return rows.prefix_with("MATERIALIZED", dialect="postgresql")
    return rows


def _window_of(moment: Any, windows: Sequence[Window]) -> ColumnElement[Any]:
    """The label of the window ``moment`` falls in, or NULL."""
    return case(
        *((and_(moment >= w.start, moment < w.end), w.label) for w in windows), else_=null()
    )


def _mode_of(channel: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((channel == "interviewer", "interviewer"), else_="phone")


class Grouping(NamedTuple):
    """A breakdown to count by (``()``: no breakdown), in some of the windows only."""

    dimensions: tuple[str, ...]
    #: The labels of the windows it is counted in; None: every window.
    windows: tuple[str, ...] | None = None


def _groupings(groupings: Sequence[tuple[str, ...] | Grouping]) -> list[Grouping]:
    return [g if isinstance(g, Grouping) else Grouping(tuple(g)) for g in groupings]


def _only_in(groupings: Sequence[Grouping]) -> dict[str, tuple[str, ...]]:
    """The dimensions that only some windows are broken down by, with those windows."""
    windows: dict[str, set[str] | None] = {}
    for grouping in groupings:
        for d in grouping.dimensions:
            if grouping.windows is None or windows.get(d, set()) is None:
                windows[d] = None
            else:
                windows[d] = (windows.get(d) or set()) | set(grouping.windows)
    return {d: tuple(sorted(w)) for d, w in windows.items() if w is not None}


def _when_in(window: Any, windows: tuple[str, ...] | None, value: Any) -> Any:
    """``value`` in ``windows`` only, else NULL: a case's sample fields are read only for
    the rows a breakdown counts (CASE reads its branch only when it is taken)."""
    if windows is None:
        return value
    return case((window.in_(windows), value), else_=null()).label(value.name)


def _in_windows(rows: Any, grouping: Grouping) -> list[ColumnElement[bool]]:
    return [] if grouping.windows is None else [rows.c.window.in_(grouping.windows)]


def answer_counts(
    conn: Connection,
    survey: str,
    *,
    coding: Sequence[Coding],
    rules: Sequence[CountingRule],
    windows: Sequence[Window],
    groupings: Sequence[tuple[str, ...] | Grouping],
    districts: tuple[str, ...] | None,
) -> list[AnswerCount]:
    """The core answers of the counted interviews started in each window, by grouping,
    question and class, in one statement (see :func:`counts`)."""
    return counts(
        conn,
        survey,
        coding=coding,
        rules=rules,
        windows=windows,
        answers=groupings,
        interviews=(),
        districts=districts,
    )[0]


def interview_counts(
    conn: Connection,
    survey: str,
    *,
    rules: Sequence[CountingRule],
    windows: Sequence[Window],
    groupings: Sequence[tuple[str, ...] | Grouping],
    districts: tuple[str, ...] | None,
) -> list[InterviewCount]:
    """The counted interviews (one per case) started in each window, by grouping: completed
    and partial, in one statement."""
    return counts(
        conn,
        survey,
        coding=None,
        rules=rules,
        windows=windows,
        answers=(),
        interviews=groupings,
        districts=districts,
    )[1]


def counts(
    conn: Connection,
    survey: str,
    *,
    coding: Sequence[Coding] | None,
    rules: Sequence[CountingRule],
    windows: Sequence[Window],
    answers: Sequence[tuple[str, ...] | Grouping],
    interviews: Sequence[tuple[str, ...] | Grouping],
    districts: tuple[str, ...] | None,
) -> tuple[list[AnswerCount], list[InterviewCount]]:
    """The core answers of the counted interviews (one per case) started in each window,
    by each of the ``answers`` groupings, question and class; and those interviews,
    completed and partial, by each of the ``interviews`` groupings. One statement: each
    case's reported interview is chosen once for all of them.

    An answer whose code ``coding`` does not list is substantive and not positive
    (``negative``), as the questionnaire's options say of any key they do not set aside.
    """
    by_answers, by_interviews = _groupings(answers), _groupings(interviews)
    dimensions = _dimensions(
        [g.dimensions for g in (*by_answers, *by_interviews)], INTERVIEW_DIMENSIONS
    )
    if not any(rule.core_ids for rule in rules):
        by_answers = []
    if not windows or not rules or not (by_answers or by_interviews):
        return [], []
    reported, packing = _reported(
        survey,
        rules,
        coding=(coding or ()) if by_answers else None,
        windows=windows,
        districts=districts,
        dimensions=dimensions,
        only_in=_only_in([*by_answers, *by_interviews]),
        shared=len(by_answers) + len(by_interviews) > 1,
    )
    width = max(len(g.dimensions) for g in (*by_answers, *by_interviews))
    number_type = BigInteger()

    def groups_of(groups: list[Any]) -> list[Any]:
        return [
            (groups[g] if g < len(groups) else cast(null(), String)).label(f"g{g}")
            for g in range(width)
        ]

    parts = []
    if by_answers:
        assert packing is not None
        questions = _table(
            "core_digits",
            (("question", Integer()), ("weight", packing.type)),
            [(k, packing.weight(k)) for k in range(len(packing.questions))],
        )
        for number, grouping in enumerate(by_answers):
            # Interviews by window, group and their answers' classes together (answers go
            # together, so these are few rows), then split per question.
            rows = _grouped_rows(reported, grouping.dimensions, f"rows_{number}")
            dims = [rows.c[f"d_{d}"] for d in grouping.dimensions]
            together = (
                select(rows.c.window, *dims, rows.c.packed, func.count().label("n"))
                .where(*_in_windows(rows, grouping))
                .group_by(rows.c.window, *dims, rows.c.packed)
                .subquery(f"grouping_{number}")
            )
            groups = [together.c[f"d_{d}"] for d in grouping.dimensions]
            klass = (together.c.packed // questions.c.weight) % packing.base
            parts.append(
                select(
                    literal(number, Integer).label("grouping"),
                    together.c.window,
                    *groups_of(groups),
                    questions.c.question,
                    cast(klass, number_type).label("klass"),
                    cast(func.sum(together.c.n), number_type).label("n"),
                    cast(literal(0), number_type).label("partial"),
                )
                .select_from(together.join(questions, true()))
                .group_by(together.c.window, *groups, questions.c.question, klass)
            )
    for index, grouping in enumerate(by_interviews):
        number = len(by_answers) + index
        rows = _grouped_rows(reported, grouping.dimensions, f"rows_{number}")
        groups = [rows.c[f"d_{d}"] for d in grouping.dimensions]
        parts.append(
            select(
                literal(number, Integer).label("grouping"),
                rows.c.window,
                *groups_of(groups),
                cast(null(), Integer).label("question"),
                cast(null(), number_type).label("klass"),
                cast(func.sum(rows.c.completed), number_type).label("n"),
                cast(func.sum(1 - rows.c.completed), number_type).label("partial"),
            )
            .where(*_in_windows(rows, grouping))
            .group_by(rows.c.window, *groups)
        )
    answer_rows: list[AnswerCount] = []
    interview_rows: list[InterviewCount] = []
    for row in conn.execute(parts[0] if len(parts) == 1 else union_all(*parts)):
        if row.grouping >= len(by_answers):
            dims = by_interviews[row.grouping - len(by_answers)].dimensions
            interview_rows.append(
                InterviewCount(
                    row.window, tuple(row[2 : 2 + len(dims)]), int(row.n), int(row.partial), dims
                )
            )
            continue
        assert packing is not None
        klass_name = packing.klass(int(row.klass))
        if klass_name is None:
            continue  # not asked
        dims = by_answers[row.grouping].dimensions
        answer_rows.append(
            AnswerCount(
                row.window,
                tuple(row[2 : 2 + len(dims)]),
                packing.questions[row.question],
                klass_name,
                int(row.n),
                dims,
            )
        )
    return answer_rows, interview_rows


def case_counts(
    conn: Connection,
    survey: str,
    *,
    windows: Sequence[Window],
    groupings: Sequence[tuple[str, ...] | Grouping],
    districts: tuple[str, ...] | None,
) -> list[CaseCount]:
    """The survey's cases whose calling closed in each window, by grouping and final
    disposition, in one statement."""
    wanted = _groupings(groupings)
    dimensions = _dimensions([g.dimensions for g in wanted], CASE_DIMENSIONS)
    if not windows or not wanted:
        return []
    window = _window_of(_s.closed_at, windows)
    in_survey = [_s.survey == survey]
    # Cases are read only where a grouping or the districts need them, and only for the
    # windows those groupings count: a trend of dispositions reads the schedules alone.
    plain = [g for g in wanted if not g.dimensions] if districts is None else []
    detailed = [g for g in wanted if g not in plain]
    closed_all = (
        select(window.label("window"), _s.disposition)
        .where(
            *in_survey,
            _s.closed_at >= min(w.start for w in windows),
            _s.closed_at < max(w.end for w in windows),
        )
        .subquery("closed_schedules")
        if plain
        else None
    )
    closed = None
    if detailed:
        labels = set().union(*(g.windows or [w.label for w in windows] for g in detailed))
        spans = [w for w in windows if w.label in labels]
        cases = _CASES.alias("closed_case")
        only_in = _only_in(detailed)
        closed = (
            select(
                window.label("window"),
                _s.disposition,
                *(_when_in(window, only_in.get(d), _case_dimension(d, cases)) for d in dimensions),
            )
            .select_from(_SCHEDULES.join(cases, cases.c.id == _s.case_id))
            .where(
                *in_survey,
                _s.closed_at >= min(w.start for w in spans),
                _s.closed_at < max(w.end for w in spans),
                *([] if districts is None else [cases.c.district.in_(districts)]),
            )
            .cte("closed_cases")
        )
        closed = _once(closed, len(detailed) > 1)
    width = max(len(g.dimensions) for g in wanted)
    parts = []
    for number, grouping in enumerate(wanted):
        source = closed_all if grouping in plain else closed
        assert source is not None
        rows = _grouped_rows(source, grouping.dimensions, f"rows_{number}")
        groups = [rows.c[f"d_{d}"] for d in grouping.dimensions]
        parts.append(
            select(
                literal(number, Integer).label("grouping"),
                rows.c.window,
                *(
                    (groups[g] if g < len(groups) else cast(null(), String)).label(f"g{g}")
                    for g in range(width)
                ),
                rows.c.disposition,
                func.count().label("n"),
            )
            .where(rows.c.window.is_not(None), *_in_windows(rows, grouping))
            .group_by(rows.c.window, *groups, rows.c.disposition)
        )
    return [
        CaseCount(
            row.window,
            tuple(row[2 : 2 + len(wanted[row.grouping].dimensions)]),
            row.disposition,
            int(row.n),
            wanted[row.grouping].dimensions,
        )
        for row in conn.execute(parts[0] if len(parts) == 1 else union_all(*parts))
    ]


def _referral_district() -> ColumnElement[Any]:
    # The case's district, as every other figure is split; a referral routed to a service
    # keeps the service's name only where the case has no district.
    return func.coalesce(_c.district, _REFERRALS.c.district)


def referrals_raised(
    conn: Connection,
    survey: str,
    *,
    start: datetime,
    end: datetime,
    districts: tuple[str, ...] | None,
) -> list[ReferralFacts]:
    """The survey's referrals raised in [start, end), oldest first, without who they are
    about."""
    r = _REFERRALS.c
    district = _referral_district()
    rows = conn.execute(
        select(
            district,
            r.kind,
            r.consented,
            r.created_at,
            r.due_at,
            r.first_contact_at,
            r.status,
            r.outcome,
        )
        .join(_CASES, _c.id == r.case_id)
        .where(
            r.survey == survey,
            r.created_at >= start,
            r.created_at < end,
            *([] if districts is None else [district.in_(districts)]),
        )
        .order_by(r.created_at, r.id)
    )
    return [ReferralFacts(*row) for row in rows]


def dissatisfied_reasons(
    conn: Connection,
    survey: str,
    *,
    start: datetime,
    end: datetime,
    districts: tuple[str, ...] | None,
) -> list[ReasonText]:
    """The dissatisfied answers behind the service-recovery referrals raised in [start,
    end), one per answer, oldest referral first, each with the victim's words: the
    transcription of the recorded reason, else what the interviewer typed, else the
    interviewer's notes; None when there are none."""
    r = _REFERRALS.c
    district = _referral_district()
    raised = conn.execute(
        select(
            district.label("district"),
            r.reasons,
            r.interview_id,
            _i.questionnaire_version_id,
            _i.notes,
        )
        .join(_CASES, _c.id == r.case_id)
        .join(_INTERVIEWS, _i.id == r.interview_id)
        .where(
            r.survey == survey,
            r.kind == "service_recovery",
            r.created_at >= start,
            r.created_at < end,
            *([] if districts is None else [district.in_(districts)]),
        )
        .order_by(r.created_at, r.id)
    ).all()
    asked = _reason_questions(conn, {row.questionnaire_version_id for row in raised})
    words = _words(conn, [row.interview_id for row in raised], asked)
    reasons = []
    for row in raised:
        said = words.get(row.interview_id) or [
            str(note.get("text")) for note in row.notes or () if note.get("text")
        ]
        text = " / ".join(said) if said else None
        for reason in row.reasons or ():
            reasons.append(
                ReasonText(
                    row.district, str(reason.get("question")), str(reason.get("answer")), text
                )
            )
    return reasons


def _reason_questions(conn: Connection, version_ids: set[int]) -> set[str]:
    """The questions that ask a dissatisfied victim why, in their own words: recordings
    asked only when an answer was dissatisfied."""
    found: set[str] = set()
    for version_id in version_ids:
        q = pinned_questionnaire(conn, version_id)
        found.update(
            question.id
            for question in q.questions
            if question.type is QuestionType.RECORDING
            and question.when is not None
            and question.when.dissatisfied is not None
        )
    return found


def _words(
    conn: Connection, interview_ids: Sequence[int], question_ids: set[str]
) -> dict[int, list[str]]:
    """The victim's words to ``question_ids`` by interview: transcribed, or typed."""
    if not interview_ids or not question_ids:
        return {}
    t = _TRANSCRIPTIONS.c
    found: dict[int, list[str]] = {}
    ids = sorted(set(interview_ids))
    for first in range(0, len(ids), 500):
        rows = conn.execute(
            select(_a.interview_id, _a.code, _a.recording_url, t.text)
            .outerjoin(
                _TRANSCRIPTIONS,
                and_(t.interview_id == _a.interview_id, t.question_id == _a.question_id),
            )
            .where(
                _a.interview_id.in_(ids[first : first + 500]),
                _a.question_id.in_(sorted(question_ids)),
            )
            .order_by(_a.id)
        )
        for row in rows:
            # A recording's code is None; an interviewer types the words as the code.
            text = row.text if row.recording_url else row.code
            if text:
                found.setdefault(row.interview_id, []).append(text)
    return found


def export_rows(
    conn: Connection, survey: str, *, start: datetime | None, end: datetime | None
) -> Iterator[ExportRow]:
    """Each case's reported interview (one per case) started in [start, end) (either end
    open when None), with its case's facts and its answers, in the order the interviews
    started; streamed through a cursor, a batch of rows at a time, so memory stays the
    same however many there are (the caller keeps the connection open until the end)."""
    rules = [
        CountingRule(version_id, pinned_questionnaire(conn, version_id).core_ids, 0)
        for version_id in versions_of_survey(conn, survey)
    ]
    reported, _packing = _reported(
        survey, rules, windows=None, start=start, end=end, districts=None, dimensions=()
    )
    rep, t = reported.c, _TRANSCRIPTIONS.c
    fields = _c.fields
    age = fields["age"].as_integer()
    statement = (
        select(
            rep.id,
            _c.case_ref,
            _c.district,
            _c.crime_type,
            _c.reported_on,
            _s.disposition,
            func.coalesce(_s.attempts, 0).label("attempts"),
            _stated(fields["ethnicity"]).label("ethnicity"),
            age.label("age"),
            _age_band(age).label("age_band"),
            _stated(fields["sex"]).label("sex"),
            _stated(fields["disability"]).label("disability"),
            rep.status,
            rep.started_at,
            _i.ended_at,
            _i.language,
            rep.channel,
            rep.questionnaire_version_id,
            _VERSIONS.c.version,
            _answers_of(rep.id, conn.dialect.name).label("answers"),
            t.question_id.label("transcribed"),
            t.text.label("transcription"),
        )
        .select_from(
            reported.join(_INTERVIEWS, _i.id == rep.id)
            .join(_CASES, _c.id == rep.case_id)
            .join(_VERSIONS, _VERSIONS.c.id == rep.questionnaire_version_id)
            .outerjoin(_SCHEDULES, _s.case_id == rep.case_id)
            # Only a recorded answer's transcription adds a row (its text is sealed, so it
            # is opened by its column's type, not inside the answers' JSON).
            .outerjoin(_TRANSCRIPTIONS, t.interview_id == rep.id)
        )
        .order_by(rep.started_at, rep.id, t.id)
    )
    result = conn.execute(statement, execution_options={"yield_per": EXPORT_BATCH})
    current: ExportRow | None = None
    current_id = None
    # Rows are unpacked by position: reading two dozen columns by name, a million times,
    # was a good part of the export's time.
    for (
        interview_id,
        case_ref,
        district,
        crime_type,
        reported_on,
        disposition,
        attempts,
        ethnicity,
        age_,
        age_band,
        sex,
        disability,
        status,
        started_at,
        ended_at,
        language,
        channel,
        version_id,
        version,
        answers,
        transcribed,
        transcription,
    ) in result:
        if interview_id != current_id:
            if current is not None:
                yield current
            current_id = interview_id
            current = ExportRow(
                case_ref,
                survey,
                district,
                crime_type,
                reported_on,
                disposition,
                int(attempts),
                ethnicity,
                age_,
                age_band,
                sex,
                disability,
                status,
                started_at,
                ended_at,
                channel,
                "interviewer" if channel == "interviewer" else "phone",
                version_id,
                version,
                {answer[0]: ExportAnswer(*answer[1:]) for answer in answers or ()},
                {},
                language,
            )
        assert current is not None
        if transcribed is not None and transcribed in current.answers:
            current.transcriptions[transcribed] = transcription
    if current is not None:
        yield current


def _answers_of(interview_id: Any, dialect: str) -> Any:
    """An interview's answers as one JSON array of [question, code, label, via,
    recording_url] (NULL when none): one row per interview comes back, not one per answer
    with the case's columns repeated on each, which made the export's rows six times as
    many to sort, send and read. An interview answers a question once (a unique key), so
    their order does not matter."""
    a = _ANSWERS.alias("exported")
    row = (a.c.question_id, a.c.code, a.c.label, a.c.via, a.c.recording_url)
    aggregate = (
        func.json_agg(func.json_build_array(*row), type_=JSON)
        if dialect == "postgresql"
        else func.json_group_array(func.json_array(*row), type_=JSON)
    )
    return select(aggregate).where(a.c.interview_id == interview_id).scalar_subquery()
