"""``/healthz`` tells a load balancer whether the database and Redis answer."""

from __future__ import annotations

from flask import Flask

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from tests.conftest import make_settings

#: A port nothing listens on.
DEAD = "127.0.0.1:1"


def health(app: Flask) -> tuple[int, dict[str, str], str]:
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json(), response.headers["Cache-Control"]


def test_all_well_on_the_embedded_default(sqlite_url: str) -> None:
    app = create_app(make_settings(sqlite_url), queue=InProcessQueue())
    assert health(app) == (
        200,
        {"status": "ok", "database": "ok", "redis": "not used"},
        "no-store",
    )


def test_all_well_on_postgresql_and_redis(postgres_url: str, redis: object) -> None:
    from tests.conftest import REDIS_URL

    app = create_app(make_settings(postgres_url, redis_url=REDIS_URL), queue=InProcessQueue())
    status, body, _ = health(app)
    assert (status, body) == (200, {"status": "ok", "database": "ok", "redis": "ok"})


def test_a_database_or_redis_that_does_not_answer_is_a_503_naming_it(sqlite_url: str) -> None:
    app = create_app(
        make_settings(
            f"postgresql+psycopg://postgres@{DEAD}/nowhere", redis_url=f"redis://{DEAD}/0"
        ),
        queue=InProcessQueue(),
    )
    status, body, _ = health(app)
    assert status == 503
    assert body == {"status": "unavailable", "database": "unavailable", "redis": "unavailable"}
