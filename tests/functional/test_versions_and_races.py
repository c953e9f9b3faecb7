"""Questionnaire versions pinned per interview; duplicate turns racing each other."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.store.models import Answer, Interview, QuestionnaireVersion, Turn
from ivr.telephony.respondents import Prompt, Scripted, hang_up, press
from ivr.telephony.simulator import parse_twiml
from tests.conftest import PUBLIC_BASE_URL, ROOT, SURVEY_NUMBER, add_case, make_settings, simulator

CALLER = "+441134960001"
SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")


class EditsQuestionnaireMidCall(Scripted):
    """Answers like Scripted, and rewrites the questionnaire file after the third answer."""

    def __init__(self, path: Path, new_text: str, *keys: str):
        super().__init__(*(press(k) for k in keys))
        self.path, self.new_text = path, new_text

    def respond(self, heard: str, prompt: Prompt):  # type: ignore[no-untyped-def]
        if len(self.heard) == 3:
            self.path.write_text(self.new_text)
        return super().respond(heard, prompt)


def _app_with_own_questionnaires(any_db: str, tmp_path: Path) -> tuple[Flask, Path]:
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    shutil.copy(ROOT / "questionnaires" / "uss.yaml", folder / "uss.yaml")
    app = create_app(make_settings(any_db, questionnaires_dir=folder), queue=InProcessQueue())
    return app, folder / "uss.yaml"


def test_editing_the_questionnaire_never_breaks_a_call_in_progress(
    any_db: str, tmp_path: Path
) -> None:
    app, path = _app_with_own_questionnaires(any_db, tmp_path)
    add_case(app, case_ref="A", phone="+441134960001")
    add_case(app, case_ref="B", phone="+441134960002")
    original = path.read_text()
    # The new version drops the 'kept_informed' question and rewords 'treatment'.
    start = original.index("  - id: kept_informed")
    end = original.index("  - id: treatment")
    edited = original[:start] + original[end:]
    # Its Welsh goes too: a translation of a question the questionnaire lacks is an error.
    start = edited.index("      kept_informed:")
    edited = edited[:start] + edited[edited.index("      treatment:") :]
    edited = edited.replace('version: "2026.2"', 'version: "2026.3"').replace(
        "the way you were treated", "how you were treated"
    )
    first = simulator(app).call(
        from_="+441134960001",
        to=SURVEY_NUMBER,
        respondent=EditsQuestionnaireMidCall(path, edited, *SATISFIED),
    )
    assert "the way you were treated" in first.heard_text
    second = simulator(app).call(
        from_="+441134960002",
        to=SURVEY_NUMBER,
        respondent=Scripted(*(press(k) for k in SATISFIED[:-1])),
    )
    assert "how you were treated" in second.heard_text
    assert "kept informed" not in second.heard_text
    with app.extensions["ivr"].db.transaction() as s:
        rows = s.execute(
            select(Interview.status, QuestionnaireVersion.version)
            .join(QuestionnaireVersion)
            .order_by(Interview.id)
        ).all()
        kept = s.scalar(
            select(func.count()).select_from(Answer).where(Answer.question_id == "kept_informed")
        )
    assert [tuple(r) for r in rows] == [("completed", "2026.2"), ("completed", "2026.3")]
    assert kept == 1
    app.extensions["ivr"].db.dispose()


def test_an_invalid_edit_keeps_the_last_good_version(any_db: str, tmp_path: Path) -> None:
    app, path = _app_with_own_questionnaires(any_db, tmp_path)
    add_case(app)
    path.write_text(path.read_text().replace("type: scale7", "type: slider", 1))
    call = simulator(app).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*(press(k) for k in SATISFIED))
    )
    assert call.errors == []
    with app.extensions["ivr"].db.transaction() as s:
        assert s.scalar(select(Interview.status)) == "completed"
    app.extensions["ivr"].db.dispose()


def test_concurrent_retries_of_one_turn_give_one_answer_and_one_response(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db)
    sim = simulator(app_any_db)
    # The hang-up's status callback goes nowhere, so the interview stays in progress.
    record = sim.call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        status_callback=PUBLIC_BASE_URL + "/void",
        respondent=Scripted(press("1"), press("1"), then=hang_up()),
    )
    # Replay the answer to the first question (turn 3) from several threads at once.
    turn_url = _gather_action(record.responses[-1])
    params = {**record.requests[1][1], "Digits": "6"}
    bodies: list[str | None] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        bodies.append(simulator(app_any_db).send(record, turn_url, params))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(bodies)) == 1 and bodies[0] is not None
    assert "actions taken" in bodies[0]
    with app_any_db.extensions["ivr"].db.transaction() as s:
        answers = list(s.scalars(select(Answer.code)))
        turns = s.scalar(select(func.count()).select_from(Turn))
    assert answers == ["6"]
    assert turns == 4  # voice, identity, consent, this answer


def _gather_action(body: str) -> str:
    gather = next(el for el in parse_twiml(body) if el.tag == "Gather")
    return gather.attrib["action"]
