"""outbound campaigns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:29:41.476464
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("survey", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "do_not_call",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_do_not_call")),
    )
    op.create_table(
        "schedules",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("active_attempt_id", sa.Integer(), nullable=True),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("disposition", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_schedules_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_schedules")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedules_due",
            ["survey", "next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("disposition IS NULL AND active_attempt_id IS NULL"),
            sqlite_where=sa.text("disposition IS NULL AND active_attempt_id IS NULL"),
        )
        batch_op.create_index(
            "ix_schedules_unplanned",
            ["survey"],
            unique=False,
            postgresql_where=sa.text("planned_at IS NULL"),
            sqlite_where=sa.text("planned_at IS NULL"),
        )
    # Cases imported before campaigns existed get a schedule the scheduler will plan.
    op.execute(
        "INSERT INTO schedules (case_id, survey, attempts, outcomes, updated_at) "
        "SELECT id, survey, 0, '[]', CURRENT_TIMESTAMP FROM cases"
    )

    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_no", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dialing_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_call_attempts_status", ["status"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_call_attempts_case_id"), ["case_id", "attempt_no"]
        )


def downgrade() -> None:
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_call_attempts_case_id"), type_="unique")
        batch_op.drop_index("ix_call_attempts_status")
        batch_op.drop_column("ended_at")
        batch_op.drop_column("outcome")
        batch_op.drop_column("dialing_at")
        batch_op.drop_column("scheduled_for")
        batch_op.drop_column("attempt_no")

    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_schedules_unplanned",
            postgresql_where=sa.text("planned_at IS NULL"),
            sqlite_where=sa.text("planned_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_schedules_due",
            postgresql_where=sa.text("disposition IS NULL AND active_attempt_id IS NULL"),
            sqlite_where=sa.text("disposition IS NULL AND active_attempt_id IS NULL"),
        )

    op.drop_table("schedules")
    op.drop_table("do_not_call")
    op.drop_table("campaigns")
