"""A referral raised while Redis is down: the call goes on, the notice is kept in the
database (in the turn's own transaction), and it reaches the district once Redis is back."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from ivr.app import create_app
from ivr.jobs import NOTIFY_NEW_REFERRAL, RedisQueue
from ivr.services import using
from ivr.store.models import Referral, ReferralEvent
from tests.conftest import REDIS_URL, make_settings
from tests.functional.campaign_world import MONDAY_11, Clock
from tests.functional.test_referral_queue import add_staff
from tests.functional.test_referrals_without_consent import NAMED, dissatisfied_call
from workers.notifications import announce_waiting

#: A port nothing listens on: Redis "down".
DOWN = "redis://127.0.0.1:1/0"


def notice_state(app: Any) -> list[tuple[bool, bool, int]]:
    """Per referral: queued?, announced?, and how many `notified` events it has."""
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (
                referral.notice_queued_at is not None,
                referral.announced_at is not None,
                len(
                    session.scalars(
                        select(ReferralEvent.id).where(
                            ReferralEvent.referral_id == referral.id,
                            ReferralEvent.kind == "notified",
                        )
                    ).all()
                ),
            )
            for referral in session.scalars(select(Referral).order_by(Referral.id))
        ]


def test_a_notice_kept_while_redis_is_down_arrives_when_it_returns(
    redis: Redis, sqlite_url: str
) -> None:
    app = create_app(make_settings(sqlite_url, redis_url=DOWN), clock=Clock(MONDAY_11))
    services = app.extensions["ivr"]
    add_staff(app, "hart@police.test", "district_officer", "Hartlepool")

    # Every turn of the call is answered with its TwiML (the helper checks there were no
    # errors), and the referral is kept with its notice unsent.
    dissatisfied_call(app, NAMED, consents=True)
    kept = notice_state(app)
    assert kept and all(state == (False, False, 0) for state in kept)

    # Redis is back: the clock's next look queues the notices, a worker sends them.
    services.queue = RedisQueue(REDIS_URL)
    with using(services):
        announce_waiting()
        assert [job.func_name for job in services.queue.queue.get_jobs()] == [
            NOTIFY_NEW_REFERRAL
        ] * len(kept)
        SimpleWorker([services.queue.queue], connection=redis).work(burst=True)
        assert all(state == (True, True, 1) for state in notice_state(app))
        # Nothing waits any more: the next look queues nothing, and nobody is told twice.
        announce_waiting()
    assert services.queue.queue.count == 0
    app.extensions["ivr"].db.dispose()


def test_a_notice_redis_lost_is_sent_again_after_an_hour_and_not_before(sqlite_url: str) -> None:
    from ivr.jobs import InProcessQueue

    clock = Clock(MONDAY_11)
    app = create_app(make_settings(sqlite_url), queue=InProcessQueue(), clock=clock)
    services = app.extensions["ivr"]
    add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    dissatisfied_call(app, NAMED, consents=True)
    # As if Redis took the notices and then lost them in a restart (it keeps nothing).
    with services.db.transaction() as session:
        for referral in session.scalars(select(Referral)):
            referral.announced_at = None
            referral.notice_queued_at = clock()
        events = session.scalars(select(ReferralEvent).where(ReferralEvent.kind == "notified"))
        for event in events:
            session.delete(event)
    with using(services):
        clock.advance(minutes=30)
        announce_waiting()  # still within the notices' retries: left alone
        assert all(state == (True, False, 0) for state in notice_state(app))
        clock.advance(minutes=31)
        announce_waiting()
        assert all(state == (True, True, 1) for state in notice_state(app))
    services.db.dispose()
