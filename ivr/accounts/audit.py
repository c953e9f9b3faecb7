"""The audit trail: every view of personal details and every action, by whom, from which
address and when (a time in UTC, kept with its zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy.orm import Session

from ivr.store import staff as staff_store
from ivr.store.models import AuditEntry, utcnow

#: The widest address kept (an IPv6 address written out in full with an IPv4 tail).
MAX_ADDRESS_LENGTH = 45


def client_address() -> str | None:
    """The address of the client of the web request being served (as the trusted proxies
    gave it), or None outside a request (a command, a job)."""
    if not has_request_context():
        return None
    return (request.remote_addr or "-")[:MAX_ADDRESS_LENGTH]


def record(
    session: Session,
    actor: Any,
    action: str,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    now: datetime | None = None,
    **details: Any,
) -> AuditEntry:
    """Append one entry; ``actor`` is a User (or anything with ``id``), or None. In a web
    request the entry carries the client's address."""
    return staff_store.add_audit_entry(
        session,
        at=now or utcnow(),
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        address=client_address(),
    )


def entries_since(session: Session, since: datetime) -> list[dict[str, Any]]:
    """Entries at or after ``since``, oldest first, with the actor's email."""
    return [
        {
            "at": entry.at.isoformat(),
            "actor": email,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "details": entry.details,
            "address": entry.address,
        }
        for entry, email in staff_store.audit_entries_since(session, since)
    ]
