"""``/healthz``: whether this process can reach the database and Redis, for a load balancer.

200 when every part it uses answers, 503 naming the part that does not; nothing else is
said (no versions, no addresses), and it needs no sign-in.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, jsonify

from ivr.services import current_services

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
#: Seconds a check waits for Redis: a load balancer asks often and must not queue up.
REDIS_TIMEOUT = 2.0


def _database() -> str:
    return "ok" if current_services().db.answers() else "unavailable"


def _redis() -> str:
    url = current_services().settings.redis_url
    if not url:
        return "not used"
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except RedisError as exc:
        log.warning("health: Redis does not answer (%s)", type(exc).__name__)
        return "unavailable"
    return "ok"


@bp.get("/healthz")
def healthz() -> Any:
    parts = {"database": _database(), "redis": _redis()}
    healthy = all(state in ("ok", "not used") for state in parts.values())
    response = jsonify(status="ok" if healthy else "unavailable", **parts)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
