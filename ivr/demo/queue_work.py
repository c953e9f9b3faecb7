"""The demo's queue as a month of real work leaves it, and its calls of real length.

The simulation raises referrals and nobody works them, so without this every one would be
overdue. Here the demo's officers work them as a team does: most victims are reached
within the target, some later, a few not yet; most reached ones are closed a few days on;
those still to fall due are left for the reader to work. Every action goes through the
referral workflow and the audit trail, as on the queue's pages, at the time it was done.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ivr.accounts import audit
from ivr.accounts.staff import Role, may_see
from ivr.referrals import workflow
from ivr.store import demo_history
from ivr.store import referrals as referral_store
from ivr.store import staff as staff_store
from ivr.store.db import Database
from ivr.store.models import Referral, User

#: How the referrals of the last weeks whose deadline has passed were worked, in turn:
#: seven in ten reached in time, one late, one tried without reaching them, one not yet
#: touched; the first of them overdue, so that even a small demo shows one.
PLANS = ("untouched", "in_time", "in_time", "late", "in_time", "tried") + ("in_time",) * 4
#: How a reached victim's contact went, and how often.
CONTACTS = {"contacted_resolved": 70, "contacted_escalated": 20, "declined": 10}
#: Referrals raised longer ago than this are all finished with: old quarters' work.
SETTLED = timedelta(days=35)
#: A completed interview lasts 6 to 12 minutes; one that stopped early, 3 to 6.
COMPLETED_MINUTES = (6.0, 12.0)
SHORTER_MINUTES = (3.0, 6.0)


def _pick(weights: dict[str, int], rng: random.Random) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.uniform(0.05, 0.95)


def _worker(staff: Sequence[User], referral: Referral) -> User | None:
    """Who works it: its district's officer or the service's manager, else a supervisor."""
    allowed = [u for u in staff if may_see(u, referral)]
    own = [u for u in allowed if u.role not in (Role.SUPERVISOR.value, Role.ADMIN.value)]
    chosen = own or allowed
    return chosen[0] if chosen else None


def _do(session: Session, referral: Referral, by: User, action: str, at: datetime) -> None:
    audit.record(session, by, action, object_type="referral", object_id=referral.id, now=at)


def _work(
    session: Session,
    referral: Referral,
    by: User,
    now: datetime,
    rng: random.Random,
    plans: Iterator[str],
) -> str:
    """Work one referral up to ``now``; return what became of it."""
    raised = referral.created_at
    assigned = raised + timedelta(hours=rng.uniform(1, 6))
    due = referral.due_at
    if assigned >= now:
        return "not yet assigned"
    workflow.assign(referral, by, by, now=assigned)
    _do(session, referral, by, "assign", assigned)
    if not referral.consented or due is None:
        closed = assigned + timedelta(hours=rng.uniform(2, 48))
        if closed < now:
            workflow.close(referral, "noted", by, "Noted by the district.", now=closed)
            _do(session, referral, by, "close", closed)
            return "closed"
        return "assigned"
    if due > now:
        return "not yet due"
    settled = now - raised > SETTLED
    # Old quarters' referrals were all reached in the end, most of them in time.
    plan = ("in_time" if rng.random() < 0.85 else "late") if settled else next(plans)
    if plan == "untouched":
        return "overdue"
    if plan == "tried":
        for n in range(rng.randint(1, 2)):
            tried = min(_between(rng, assigned, due), now) + timedelta(minutes=n)
            workflow.record_contact(
                referral, "no_contact", by, "No answer; left a message.", now=tried
            )
            _do(session, referral, by, "contact_attempt", tried)
        return "overdue"
    if plan == "in_time":
        contacted = _between(rng, assigned, min(due, now))
    else:
        contacted = due + timedelta(hours=rng.uniform(2, 72))
        if contacted >= now:
            return "overdue"
    outcome = _pick(CONTACTS, rng)
    workflow.record_contact(
        referral, outcome, by, "Spoke to the victim about their answers.", now=contacted
    )
    _do(session, referral, by, "contact_attempt", contacted)
    closed = contacted + timedelta(days=rng.uniform(0.5, 6))
    if closed < now and (settled or rng.random() < 0.7):
        workflow.close(referral, outcome, by, "Victim updated; nothing more to do.", now=closed)
        _do(session, referral, by, "close", closed)
        return "closed"
    return "contacted"


def work_the_queue(db: Database, now: datetime, rng: random.Random) -> Counter[str]:
    """Work every referral raised before ``now`` as the demo's staff would have; return
    how many ended up each way (closed, contacted, overdue, not yet due...)."""
    done: Counter[str] = Counter()
    with db.transaction() as session:
        staff = staff_store.active_users_without_role(session, Role.INTERVIEWER.value)
        plans = itertools.cycle(PLANS)
        for referral in referral_store.all_referrals(session):
            by = _worker(staff, referral)
            done[_work(session, referral, by, now, rng, plans) if by else "nobody to work it"] += 1
    return done


def give_calls_their_length(db: Database, rng: random.Random) -> None:
    """Give every ended interview the length of a real call (see ``ivr.store.demo_history``)."""
    with db.transaction() as session:
        lengths = {
            interview.id: timedelta(
                minutes=rng.uniform(
                    *(COMPLETED_MINUTES if interview.status == "completed" else SHORTER_MINUTES)
                )
            )
            for interview in demo_history.ended_interviews(session)
        }
        demo_history.set_call_lengths(session, lengths)
