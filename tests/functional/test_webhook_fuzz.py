"""Fuzzed requests to every Twilio webhook, signed and unsigned: never a 5xx, and every 200
is TwiML. Runs on SQLite and on PostgreSQL with the requests of ``scripts/fuzz_webhooks.py``
(its hostile values, drawn here by hypothesis, derandomised so that CI is repeatable).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scripts import load_script

fuzz = load_script("fuzz_webhooks")
REQUESTS_PER_DATABASE = 2000

values = st.one_of(
    st.sampled_from(fuzz.HOSTILE),
    st.text(max_size=40),
    st.integers().map(str),
    st.floats().map(str),
)
pairs = st.lists(st.tuples(st.sampled_from(fuzz.PARAMETERS), values), max_size=6)


@pytest.fixture
def world(any_db: str) -> Iterator[Any]:
    """The fuzzer's world (cases, calls under way) on a fresh database."""
    built = fuzz.build_world(any_db, fresh=False)
    yield built
    built.app.extensions["ivr"].db.dispose()


@st.composite
def probes(draw: st.DrawFn, world: Any) -> Any:
    """A request to any webhook: the fuzzer's own, or one whose parameters are all drawn."""
    seed = draw(st.integers(0, 2**32 - 1))
    probe = fuzz.random_probe(world, fuzz.random.Random(seed))
    if draw(st.booleans()):
        return probe
    extra = tuple(draw(pairs))
    raw = draw(st.one_of(st.none(), st.binary(max_size=200))) if draw(st.booleans()) else None
    signing = draw(st.sampled_from(("signed", "signed", "forged", "unsigned")))
    return fuzz.Probe(probe.path, probe.pairs[:2] + extra, raw=raw, signing=signing)


@settings(
    max_examples=REQUESTS_PER_DATABASE,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_webhook_input_gets_a_server_error_or_a_200_without_twiml(
    world: Any, data: st.DataObject
) -> None:
    probe = data.draw(probes(world))
    status, body = fuzz.send(world.app, probe)
    assert fuzz.problem(status, body) is None, probe
    fuzz._refresh(world)
    if len(world.interviews) < 4:
        fuzz._new_caller(world)
        fuzz._refresh(world)
