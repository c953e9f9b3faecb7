"""The audit trail: every view of personal details and every action, by whom and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ivr.store import staff as staff_store
from ivr.store.models import AuditEntry, utcnow


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
    """Append one entry; ``actor`` is a User (or anything with ``id``), or None."""
    return staff_store.add_audit_entry(
        session,
        at=now or utcnow(),
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
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
        }
        for entry, email in staff_store.audit_entries_since(session, since)
    ]
