"""Encryption at rest (``IVR_DATA_KEY``): names, numbers, notes and transcripts are sealed
in every table, numbers are still found by their keyed hash, and ``ivr keys rotate``
moves everything from clear to a key and from one key to the next.

Each test runs on SQLite and on PostgreSQL, reading the tables back with raw SQL.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, make_url, select, text

import ivr.cli
from ivr.app import create_app
from ivr.console import assisted
from ivr.store import campaigns as store
from ivr.store.db import Database
from ivr.store.interviews import open_case_for_phone
from ivr.store.models import Base, Case, Interview, Referral, Transcription, User
from ivr.store.sealing import SEALED, Keyring, SealingError, new_data_key
from ivr.telephony.respondents import Scripted, press, record
from tests.conftest import POSTGRES_URL, SURVEY_NUMBER, add_case, make_settings, simulator
from tests.functional import campaign_world as worlds
from tests.functional.campaign_world import MONDAY_11, Clock, RaisingQueue, World, uss_csv
from tests.functional.staff_web import sign_in
from tests.functional.test_console_pages import add_staff
from tests.functional.test_referral_queue import DISSATISFIED, post

KEY_1, KEY_2 = new_data_key(), new_data_key()
SEVEN_WEEKS_AGO = MONDAY_11.date() - timedelta(weeks=7)
#: The caller, a number on the do-not-call list, a case worked from the console.
CALLER, LISTED, WORKED = "+441134960101", "+441134960102", "+441134960103"
#: What the caller said when recorded (transcribed), and staff's notes about victims.
SAID = "Nobody from Hartlepool rang me back about the shed"
OFFICER_NOTE = "Rang Alex on 0113 496 0101 and left a voicemail about the shed"
CONSOLE_NOTE = "Alex asked to be rung after six on the mobile"
INTERVIEWER_PHONE = "+447700900123"
#: Everything above that must never be found in clear in any table.
TRACES = (
    *(n.removeprefix("+") for n in (CALLER, LISTED, WORKED, INTERVIEWER_PHONE)),
    "4960101",
    "496 0101",
    "Alex",
    "rang me back",
    "left a voicemail",
    "rung after six",
)


#: A sealed value wherever it stands in a row's text (sealing.SEALED matches one whole).
SEALED_VALUE = re.compile(SEALED.pattern)


def raw_engine(url: str) -> Engine:
    """An engine with no keyring: it sees the tables as they are stored."""
    return create_engine(url)


def traces_in_clear(url: str) -> list[str]:
    """Every table and trace where a trace is stored readably."""
    found = []
    engine = raw_engine(url)
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")).all():
                # A sealed value is random base64: a four-letter name turns up inside
                # one by chance (about one run in twenty), so only text outside them
                # is searched.
                stored = SEALED_VALUE.sub(" ", " ".join(str(value) for value in row))
                found += [f"{table.name}: {t}" for t in TRACES if t.lower() in stored.lower()]
    engine.dispose()
    return sorted(set(found))


def sealed_world(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    def keyed(database_url: str) -> Any:
        return make_settings(database_url, data_key=KEY_1, transcribe=True)

    monkeypatch.setattr(worlds, "make_settings", keyed)
    with worlds.campaign_world(url) as world:
        yield world


@pytest.fixture
def world(any_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from sealed_world(any_db, monkeypatch)


def ivr_command(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(ivr.cli.main, list(args))


def case_id_of(world: World, phone: str) -> int:
    with world.db.begin() as conn:
        case_ids = store.cases_with_phone(conn, phone)
    assert len(case_ids) == 1
    return case_ids[0]


def test_with_a_key_nothing_that_names_a_victim_is_stored_in_clear(
    world: World, any_db: str
) -> None:
    world.import_csv(
        uss_csv(
            [
                (f"CR/{n}", p, "burglary", SEVEN_WEEKS_AGO)
                for n, p in enumerate((CALLER, LISTED, WORKED))
            ]
        )
    )
    # The caller rings in, is found by number, records why they are dissatisfied and
    # agrees to be contacted.
    call = simulator(world.app).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        respondent=Scripted(
            *(press(d) for d in DISSATISFIED), record(6, text=SAID), press("1"), press("2")
        ),
    )
    assert call.errors == []
    caller = case_id_of(world, CALLER)
    with world.db.transaction() as session:
        interview = session.scalars(select(Interview).where(Interview.case_id == caller)).one()
        assert interview.status == "completed"
        assert session.scalars(select(Transcription.text)).one() == SAID
        referral_id = session.scalars(select(Referral.id).where(Referral.case_id == caller)).one()
    # An officer notes the contact; an interviewer works another case from the console.
    add_staff(world.app, "hart@police.test", "district_officer", "Hartlepool")
    officer = sign_in(world.app, "hart@police.test")
    assert post(officer, referral_id, "note", note_text=OFFICER_NOTE).status_code == 302
    add_staff(world.app, "ann@police.test", "interviewer", phone=INTERVIEWER_PHONE)
    registry = world.app.extensions["ivr"].questionnaires
    with world.db.transaction() as session:
        ann = session.scalars(select(User).where(User.email == "ann@police.test")).one()
    with world.db.begin() as conn:
        assert store.add_do_not_call(
            conn, LISTED, reason="asked not to be rung", source="test", now=world.clock()
        )
    case_id = assisted.next_case(world.db, registry, ann, world.clock())
    assert case_id == case_id_of(world, WORKED)
    shown = assisted.open_interview(world.db, registry, ann, case_id, world.clock())
    assisted.add_note(world.db, registry, ann, shown.interview_id, CONSOLE_NOTE, world.clock())

    assert traces_in_clear(any_db) == []
    # Everything still reads through the app: the console's note, the staff phone.
    with world.db.transaction() as session:
        notes = session.get(Interview, shown.interview_id).notes
        assert [n["text"] for n in notes] == [CONSOLE_NOTE]
        assert session.get(Case, case_id).first_name == "Alex"
        assert ann.id is not None and session.get(User, ann.id).phone == INTERVIEWER_PHONE
    # The dialler still refuses the listed number, and rings nobody else here: the
    # caller is done and the worked case is held.
    with world.db.begin() as conn:
        assert store.on_do_not_call(conn, [CALLER, LISTED]) == {LISTED}
    world.start()
    world.tick()
    world.play()
    assert world.calls_to(LISTED) == []


def test_with_a_key_a_victim_is_exported_and_erased(world: World, any_db: str) -> None:
    world.import_csv(uss_csv([("CR/7", CALLER, "burglary", SEVEN_WEEKS_AGO)]))
    exported = ivr_command(world.app, "subject", "export", "--case", "CR/7")
    assert exported.exit_code == 0, exported.output
    held = json.loads(exported.stdout)["held"]
    assert held["case"]["phone"] == CALLER and held["case"]["first_name"] == "Alex"
    erased = ivr_command(world.app, "subject", "erase", "--case", "CR/7")
    assert erased.exit_code == 0, erased.output
    with world.db.begin() as conn:
        assert store.cases_with_phone(conn, CALLER) == []
        assert open_case_for_phone(conn, CALLER, ["uss"]) is None


def keyed_app(url: str, key: str = "", *previous: str) -> Flask:
    return create_app(
        make_settings(url, data_key=key, data_keys_previous=previous),
        queue=RaisingQueue(),
        clock=Clock(MONDAY_11),
    )


def stored_phones(url: str) -> list[str]:
    engine = raw_engine(url)
    with engine.connect() as conn:
        phones = [
            *conn.execute(text("SELECT phone FROM cases")).scalars(),
            *conn.execute(text("SELECT phone FROM do_not_call")).scalars(),
        ]
    engine.dispose()
    return phones


def rotate(app: Flask) -> str:
    result = ivr_command(app, "keys", "rotate")
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def found_by_number(app: Flask) -> tuple[str | None, bool]:
    """The first name of the open case with CALLER's number, and whether it is listed."""
    with app.extensions["ivr"].db.begin() as conn:
        case = open_case_for_phone(conn, CALLER, ["uss"])
        return (None if case is None else case.first_name), bool(
            store.on_do_not_call(conn, [CALLER])
        )


def test_rotation_takes_data_from_clear_to_a_key_and_on_to_the_next(any_db: str) -> None:
    clear = keyed_app(any_db)
    add_case(clear, phone=CALLER, first_name="Alex")
    with clear.extensions["ivr"].db.begin() as conn:
        store.add_do_not_call(conn, CALLER, reason="test", source="test", now=MONDAY_11)
    assert stored_phones(any_db) == [CALLER, CALLER]

    # A key is set: what was written in clear still reads, and is found by number.
    first = keyed_app(any_db, KEY_1)
    assert found_by_number(first) == ("Alex", True)
    out = rotate(first)
    assert "cases: 1 row read, 2 values resealed, 1 hash recomputed" in out
    assert all(p.startswith("ivr1:") for p in stored_phones(any_db))
    assert traces_in_clear(any_db) == []
    assert found_by_number(first) == ("Alex", True)
    assert "0 values resealed, 0 hashes recomputed" in rotate(first).splitlines()[0]

    # A new key, the old one kept to read: rotation reseals everything under the new one.
    second = keyed_app(any_db, KEY_2, KEY_1)
    assert found_by_number(second) == ("Alex", True)
    before = stored_phones(any_db)
    rotate(second)
    assert all(p.startswith("ivr1:") and p not in before for p in stored_phones(any_db))
    only_second = keyed_app(any_db, KEY_2)
    assert found_by_number(only_second) == ("Alex", True)

    # Without the key, sealed values are refused with a message naming the setting.
    with (
        pytest.raises(SealingError, match="IVR_DATA_KEY"),
        clear.extensions["ivr"].db.transaction() as session,
    ):
        session.scalars(select(Case.first_name)).all()
    # And the old key alone no longer opens anything.
    with (
        pytest.raises(SealingError, match="IVR_DATA_KEY"),
        keyed_app(any_db, KEY_1).extensions["ivr"].db.transaction() as session,
    ):
        session.scalars(select(Case.phone)).all()

    # Rotating with no key, the last one kept only to read, writes it all back in clear.
    rotate(keyed_app(any_db, "", KEY_2))
    assert stored_phones(any_db) == [CALLER, CALLER]
    assert found_by_number(clear) == ("Alex", True)


def test_a_sealed_value_that_was_altered_is_refused(any_db: str) -> None:
    app = keyed_app(any_db, KEY_1)
    add_case(app, phone=CALLER, first_name="Alex")
    engine = raw_engine(any_db)
    with engine.begin() as conn:
        sealed = conn.execute(text("SELECT first_name FROM cases")).scalar_one()
        flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
        conn.execute(text("UPDATE cases SET first_name = :v"), {"v": flipped})
    engine.dispose()
    with (
        pytest.raises(SealingError, match="altered"),
        app.extensions["ivr"].db.transaction() as session,
    ):
        session.scalars(select(Case.first_name)).all()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_at_0008(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own with the schema before encryption at rest."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        Database(url).upgrade("0008")
        yield url
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) without PostgreSQL
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"ivr_test_0009_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        Database(url).upgrade("0008")
        yield url
    finally:
        with server.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        server.dispose()


def test_the_migration_hashes_existing_numbers_with_the_databases_key(
    database_at_0008: str,
) -> None:
    url = database_at_0008
    engine = raw_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into questionnaire_versions (id, survey, version, sha256, source, "
                "loaded_at) values (1, 'uss', '1', 'x', 'id: uss', '2026-12-01 10:00:00')"
            )
        )
        conn.execute(
            text(
                "insert into cases (id, survey, case_ref, phone, first_name, fields, "
                "imported_at) values (1, 'uss', 'CR/1', :phone, 'Alex', '{}', "
                "'2026-12-01 10:00:00')"
            ),
            {"phone": CALLER},
        )
        conn.execute(
            text(
                "insert into interviews (id, public_id, case_id, questionnaire_version_id, "
                "channel, status, step_no, state, notes, started_at) values (1, 'p1', 1, 1, "
                "'console', 'in_progress', 2, '{\"first_name\": \"Alex\"}', "
                "'[{\"text\": \"call after six\"}]', '2026-12-01 10:00:00')"
            )
        )
        conn.execute(
            text(
                "insert into do_not_call (phone, reason, source, added_at) "
                "values (:phone, 'asked', 'test', '2026-12-01 10:00:00')"
            ),
            {"phone": LISTED},
        )
    engine.dispose()
    keyed = Database(url, Keyring.from_text(KEY_1))
    keyed.upgrade()
    with keyed.begin() as conn:
        case = open_case_for_phone(conn, CALLER, ["uss"])
        assert case is not None and case.first_name == "Alex"
        assert store.on_do_not_call(conn, [CALLER, LISTED]) == {LISTED}
        hashes = conn.execute(text("select phone_hash from cases")).scalars().all()
        assert hashes == [Keyring.from_text(KEY_1).phone_hash(CALLER)]
    with keyed.transaction() as session:
        interview = session.get(Interview, 1)
        assert interview is not None
        assert interview.notes == [{"text": "call after six"}]
        assert interview.state == {"first_name": "Alex"}
    keyed.dispose()
