"""supervisor queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:07:45.554707
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    op.create_table(
        "referral_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_referral_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_events_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_events")),
    )
    with op.batch_alter_table("referral_events", schema=None) as batch_op:
        batch_op.create_index("ix_referral_events_referral_id", ["referral_id"], unique=False)

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_referrals_assigned_to_id_users"), "users", ["assigned_to_id"], ["id"]
        )
        batch_op.create_index("ix_referrals_due_at", ["due_at"], unique=False)

    # Referrals raised before the queue existed get their first-contact deadline.
    conn = op.get_bind()
    referrals = sa.table(
        "referrals",
        sa.column("id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("due_at", sa.DateTime(timezone=True)),
    )
    for referral_id, created_at in conn.execute(
        sa.select(referrals.c.id, referrals.c.created_at)
    ).all():
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=datetime.UTC)
        conn.execute(
            referrals.update()
            .where(referrals.c.id == referral_id)
            .values(due_at=_first_contact_due(created_at))
        )


def _first_contact_due(raised_at: datetime.datetime) -> datetime.datetime:
    """The end (23:59:59 London) of the second working day in England after ``raised_at``,
    as the queue counted it when this migration was written (kept here, so the migration
    does not change when the live code does)."""
    from zoneinfo import ZoneInfo

    import holidays

    zone = ZoneInfo("Europe/London")
    day = raised_at.astimezone(zone).date()
    closed = holidays.country_holidays("GB", subdiv="ENG", years=range(day.year, day.year + 2))
    counted = 0
    while counted < 2:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            counted += 1
    end = datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=zone)
    return end.astimezone(datetime.UTC)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_due_at")
        batch_op.drop_constraint(
            batch_op.f("fk_referrals_assigned_to_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("updated_at")
        batch_op.drop_column("outcome")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("first_contact_at")
        batch_op.drop_column("assigned_to_id")
        batch_op.drop_column("due_at")

    with op.batch_alter_table("referral_events", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_events_referral_id")

    op.drop_table("referral_events")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")

    op.drop_table("audit_log")
    op.drop_table("users")
