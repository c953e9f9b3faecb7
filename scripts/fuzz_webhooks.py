"""Hostile requests to every Twilio webhook of an in-process app: none may answer 5xx.

Each request goes to one of ``/twilio/voice``, ``/twilio/status``, ``/twilio/opt-out``, an
interview's turn or its transcription callback, with Twilio's usual parameters mixed with
hostile values: Unicode digits, huge numbers, long text, NUL bytes, NaN confidences, unknown
statuses, foreign recording hosts, repeated parameters and bodies that are not UTF-8. Most
are signed as Twilio signs them (every value of every parameter), some carry a forged
signature or none. Every 200 must be TwiML (XML whose root is ``<Response>``).

    python scripts/fuzz_webhooks.py                       # 100,000 requests, SQLite
    python scripts/fuzz_webhooks.py --requests 20000 --seed 7
    python scripts/fuzz_webhooks.py --database-url postgresql+psycopg://postgres@127.0.0.1/fuzz

``--database-url`` drops and recreates the ivr tables in that database. Prints the count of
answers by status code, and every 5xx or invalid TwiML with the request that caused it;
exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

from flask import Flask
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from ivr.app import create_app
from ivr.config import Settings
from ivr.demo.people import drama_numbers
from ivr.jobs import InProcessQueue
from ivr.store.db import Database
from ivr.store.models import Base, CallAttempt, Case, Interview

ROOT = Path(__file__).resolve().parent.parent
AUTH_TOKEN = "fuzz-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://ivr.example.test"
SURVEY_NUMBER = "+441134960999"
#: Fictional callers (Ofcom's drama range), one case each.
CALLERS = tuple(f"+44113496{n:04d}" for n in range(1, 9))
RECORDED_QUESTIONS = ("q_reason", "reason", "comments", "q1", "")

#: Values that broke, or could break, a webhook: each is tried in every parameter.
HOSTILE = (
    "",
    " ",
    "²",
    "١٢",
    "٣",
    "1²",
    "0",
    "-1",
    "1e309",
    "99999999999999999999999",
    "2147483648",
    "-9223372036854775809",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1.5",
    "\x00",
    "1\x00",
    "a\x00b",
    "x" * 70,
    "x" * 300,
    "y" * 5000,
    "z" * 100_000,
    "\ud800",
    "hangup",
    "*",
    "#",
    "1#",
    "9",
    "<Say>hi</Say>",
    "]]>&amp;<",
    "%FF",
    "machine_start",
    "machine_end_beep",
    "fax",
    "human",
    "unknown",
    "robot" * 10,
    "completed",
    "in-progress",
    "ringing",
    "busy",
    "no-answer",
    "failed",
    "canceled",
    "exploded",
    "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1",
    "https://evil.example.com/steal",
    "javascript:alert(1)",
    "//evil.example.com/x",
    "http://api.twilio.com.evil.example.com/RE1",
    "+441134960001",
    "anonymous",
    "+999",
    "outbound-api",
    "inbound",
)
PARAMETERS = (
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "Direction",
    "CallStatus",
    "AnsweredBy",
    "CallDuration",
    "Digits",
    "SpeechResult",
    "Confidence",
    "RecordingUrl",
    "RecordingDuration",
    "RecordingSid",
    "TranscriptionStatus",
    "TranscriptionText",
)
#: Raw bodies that are not UTF-8, or not a form at all.
RAW_BODIES = (
    b"Digits=\xff\xfe",
    b"\xff\xfe\xfd",
    b"CallSid=CA\xc3\x28&From=%2B441134960001",
    b"SpeechResult=%ED%A0%80&Confidence=0.9",
    b"Digits=%FF",
    b"CallStatus=%C0%AF",
    b"=&=&&&==",
    b"a" * 70_000,
)


@dataclass
class World:
    """What the fuzzer aims at: interviews under way and outbound attempts."""

    app: Flask
    interviews: list[tuple[str, int]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    call_sids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Probe:
    """One request: path (with query), form pairs or a raw body, how it is signed."""

    path: str
    pairs: tuple[tuple[str, str], ...] = ()
    raw: bytes | None = None
    signing: str = "signed"  # "signed", "forged" or "unsigned"


def settings_for(database_url: str, **changes: Any) -> Settings:
    """The app's settings for a fuzz run: signed webhooks with the fuzz token."""
    return Settings(
        database_url=database_url,
        secret_key="fuzz-secret",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from_number=SURVEY_NUMBER,
        public_base_url=PUBLIC_BASE_URL,
        questionnaires_dir=ROOT / "questionnaires",
    ).but(**changes)


def prepare_database(database_url: str, *, fresh: bool = True) -> None:
    """The schema (fresh, on anything but a new SQLite file; kept as it is without
    ``fresh``) and one case per caller, half with an outbound attempt waiting for its first
    webhook."""
    db = Database(database_url)
    try:
        if fresh and db.engine.dialect.name != "sqlite":
            with db.engine.begin() as conn:
                Base.metadata.drop_all(conn)
                conn.execute(text("drop table if exists alembic_version"))
        if fresh:
            db.upgrade()
        with db.transaction() as session:
            for n, phone in enumerate(CALLERS):
                case = Case(
                    survey="uss" if n % 4 else "vcas_exit",
                    case_ref=f"FUZZ/{n:04d}/26",
                    phone=phone,
                    first_name="Alex",
                    crime_type="burglary",
                    district="Hartlepool",
                    reported_on=date(2026, 9, 14),
                )
                session.add(case)
                session.flush()
                if n % 2:
                    session.add(
                        CallAttempt(
                            case_id=case.id, direction="outbound", status="initiated", attempt_no=1
                        )
                    )
    finally:
        db.dispose()


def sign(url: str, pairs: Sequence[tuple[str, str]]) -> str:
    """Twilio's signature of ``url`` and every value of every parameter."""
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return RequestValidator(AUTH_TOKEN).compute_signature(url, _MultiValues(form))


class _MultiValues(dict[str, list[str]]):
    """A dict of lists that twilio's validator reads every value of (via ``getlist``)."""

    def getlist(self, key: str) -> list[str]:
        return self[key]


def send(app: Flask, probe: Probe) -> tuple[int, bytes]:
    """Send one probe through the test client; (status code, body)."""
    url = PUBLIC_BASE_URL + probe.path
    body = probe.raw if probe.raw is not None else _encode(probe.pairs)
    headers = {}
    if probe.signing == "signed":
        pairs = probe.pairs
        if probe.raw is not None:
            pairs = tuple(_as_werkzeug_reads(probe.raw))
        try:
            headers["X-Twilio-Signature"] = sign(url, pairs)
        except UnicodeEncodeError:
            headers["X-Twilio-Signature"] = "not-computable"
    elif probe.signing == "forged":
        headers["X-Twilio-Signature"] = "dGhpcyBpcyBub3QgYSBzaWduYXR1cmU="
    response = app.test_client(use_cookies=False).post(
        probe.path,
        base_url=PUBLIC_BASE_URL,
        data=body,
        headers=headers,
        content_type="application/x-www-form-urlencoded",
    )
    return response.status_code, response.get_data()


def _encode(pairs: Sequence[tuple[str, str]]) -> bytes:
    return urlencode(
        [(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs], quote_via=_quote
    ).encode("ascii")


def _quote(value: str | bytes, safe: str = "", encoding: Any = None, errors: Any = None) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe)


def _as_werkzeug_reads(raw: bytes) -> list[tuple[str, str]]:
    """A raw body's pairs as a form parser decoding with replacement would read them."""
    from urllib.parse import parse_qsl

    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8")


def problem(status: int, body: bytes) -> str | None:
    """What is wrong with an answer, or None: no 5xx, and every 200 is TwiML."""
    if status >= 500:
        return f"HTTP {status}"
    if status == 200:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            return f"200 with a body that is not XML ({exc})"
        if root.tag != "Response":
            return f"200 with <{root.tag}> as root, not <Response>"
    return None


def build_world(database_url: str, *, fresh: bool = True, **changes: Any) -> World:
    """An app on ``database_url`` (prepared here, see :func:`prepare_database`) with calls
    under way to aim at."""
    prepare_database(database_url, fresh=fresh)
    app = create_app(settings_for(database_url, **changes), queue=InProcessQueue())
    world = World(app)
    for phone in CALLERS:
        _ring(world, phone)
    return _refresh(world)


def _ring(world: World, phone: str) -> None:
    """The first webhook of a call to (outbound, when the case has an attempt) or from
    ``phone``, as Twilio sends it."""
    call_sid = f"CA{len(world.call_sids):032x}"
    attempt = _attempt_of(world.app, phone)
    query = f"?attempt={attempt}" if attempt else ""
    pairs = [
        ("CallSid", call_sid),
        ("AccountSid", "AC" + "0" * 32),
        ("From", SURVEY_NUMBER if attempt else phone),
        ("To", phone if attempt else SURVEY_NUMBER),
        ("Direction", "outbound-api" if attempt else "inbound"),
        ("CallStatus", "in-progress"),
    ]
    send(world.app, Probe("/twilio/voice" + query, tuple(pairs)))
    world.call_sids.append(call_sid)
    if attempt:
        world.attempts.append(attempt)


def _new_caller(world: World) -> None:
    """A new case and an inbound call from it, so that turns keep finding live interviews."""
    phone = drama_numbers()[len(CALLERS) + 1 + len(world.call_sids)]
    with world.app.extensions["ivr"].db.transaction() as session:
        session.add(
            Case(
                survey="uss",
                case_ref=f"FUZZ/N{len(world.call_sids):05d}/26",
                phone=phone,
                first_name="Sam",
                crime_type="vehicle",
                district="Hartlepool",
                reported_on=date(2026, 9, 14),
            )
        )
    _ring(world, phone)


def _attempt_of(app: Flask, phone: str) -> str | None:
    with app.extensions["ivr"].db.transaction() as session:
        return session.scalar(
            select(CallAttempt.public_id)
            .join(Case, Case.id == CallAttempt.case_id)
            .where(Case.phone == phone, CallAttempt.direction == "outbound")
        )


def _refresh(world: World) -> World:
    """Re-read which interviews are under way and where, so turns keep hitting live steps."""
    with world.app.extensions["ivr"].db.transaction() as session:
        world.interviews = [
            (public_id, step_no)
            for public_id, step_no in session.execute(
                select(Interview.public_id, Interview.step_no).where(
                    Interview.status == "in_progress"
                )
            )
        ]
    return world


def random_probe(world: World, rng: random.Random) -> Probe:
    """One request to a random webhook: Twilio's parameters for it, a few made hostile."""
    route = rng.choice(("voice", "status", "opt-out", "turn", "turn", "turn", "transcription"))
    attempt = rng.choice([*world.attempts, ""]) if rng.random() < 0.95 else _value(rng)
    call_sid = rng.choice(world.call_sids) if world.call_sids else "CA" + "f" * 32
    pairs: list[tuple[str, str]] = [("CallSid", call_sid), ("AccountSid", "AC" + "0" * 32)]
    if route in ("voice", "status", "opt-out"):
        path = f"/twilio/{route}" + (f"?attempt={_quote(attempt)}" if attempt else "")
        if route == "voice":
            pairs += [
                ("From", rng.choice(CALLERS)),
                ("To", SURVEY_NUMBER),
                ("Direction", "inbound"),
                ("CallStatus", "ringing"),
            ]
        elif route == "status":
            pairs += [
                ("CallStatus", rng.choice(("completed", "in-progress", "busy", "no-answer"))),
                ("CallDuration", str(rng.randint(0, 600))),
                ("AnsweredBy", rng.choice(("human", "machine_start", "unknown"))),
            ]
        else:
            pairs.append(("Digits", rng.choice(("9", "1", ""))))
    else:
        public_id, step_no = rng.choice(world.interviews) if world.interviews else ("0" * 32, 0)
        if rng.random() < 0.05:
            public_id = _quote(rng.choice(("0" * 32, "x", "\xc0", "a" * 300, "\x00")))
        if route == "turn":
            step = step_no + 1 if rng.random() < 0.8 else rng.choice((0, step_no, 2**31, 10**30))
            path = f"/twilio/interviews/{public_id}/turns/{step}"
            pairs += rng.choice(_ANSWERS)(rng)
        else:
            question = rng.choice(RECORDED_QUESTIONS)
            path = f"/twilio/interviews/{public_id}/transcriptions/{question}"
            pairs += [
                ("TranscriptionStatus", rng.choice(("completed", "failed"))),
                ("TranscriptionText", "They never rang me back"),
                ("RecordingSid", "RE" + "1" * 32),
            ]
    signing = rng.choices(("signed", "forged", "unsigned"), weights=(8, 1, 1))[0]
    if rng.random() < 0.03:
        return Probe(path, raw=rng.choice(RAW_BODIES), signing=signing)
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        n = rng.randrange(len(pairs) + 1)
        if n < len(pairs) and rng.random() < 0.7:
            pairs[n] = (pairs[n][0], _value(rng))
        else:
            pairs.append((rng.choice(PARAMETERS), _value(rng)))
    if rng.random() < 0.05:
        name, _ = rng.choice(pairs)
        pairs.append((name, _value(rng)))
    return Probe(path, tuple(pairs), signing=signing)


_RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "2" * 32
_ANSWERS = (
    lambda rng: [("Digits", rng.choice("123456789*0#"))],
    lambda rng: [("Digits", "hangup")],
    lambda rng: [
        ("SpeechResult", rng.choice(("yes", "no", "very satisfied", "two", "repeat"))),
        ("Confidence", str(round(rng.random(), 3))),
    ],
    lambda rng: [("RecordingUrl", _RECORDING), ("RecordingDuration", str(rng.randint(0, 60)))],
    lambda rng: [],
)


def _value(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(HOSTILE)
    if roll < 0.8:
        return str(rng.choice((rng.randint(-10, 10), rng.randint(-(2**70), 2**70))))
    if roll < 0.9:
        return str(rng.choice((rng.random(), rng.uniform(-1e10, 1e10))))
    return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 12)))


def run(database_url: str, requests: int, seed: int, out: Any = sys.stdout) -> int:
    """Send ``requests`` random probes; print the figures; the number of failures."""
    world = build_world(database_url)
    rng = random.Random(seed)
    codes: Counter[int] = Counter()
    failures = 0
    try:
        for n in range(requests):
            probe = random_probe(world, rng)
            status, body = send(world.app, probe)
            codes[status] += 1
            wrong = problem(status, body)
            if wrong:
                failures += 1
                if failures <= 50:
                    print(f"{wrong}: {probe!r:.600}", file=out)
            if n % 20 == 0:
                world = _refresh(world)
                if len(world.interviews) < 4:
                    _new_caller(world)
                    world = _refresh(world)
    finally:
        world.app.extensions["ivr"].db.dispose()
    print(f"{requests} requests on {world_kind(database_url)}, seed {seed}", file=out)
    for code, count in sorted(codes.items()):
        print(f"  HTTP {code}: {count}", file=out)
    print(f"  failures (5xx or 200 without TwiML): {failures}", file=out)
    return failures


def world_kind(database_url: str) -> str:
    return "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'fuzz.db'}"
        return 1 if run(url, args.requests, args.seed) else 0


if __name__ == "__main__":
    sys.exit(main())
