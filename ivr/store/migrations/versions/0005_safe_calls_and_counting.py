"""safe calls and correct counting

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("opening_step_no", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consented", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )

    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("interviewer_only_since", sa.DateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "transcriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("recording_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_transcriptions_interview_id_interviews"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcriptions")),
        sa.UniqueConstraint(
            "interview_id", "question_id", name=op.f("uq_transcriptions_interview_id")
        ),
    )
    # Interviews of "not me" at the identity check: now a wrong number.
    op.execute("UPDATE interviews SET status = 'wrong_number' WHERE status = 'wrong_person'")


def downgrade() -> None:
    op.execute("UPDATE interviews SET status = 'wrong_person' WHERE status = 'wrong_number'")
    op.drop_table("transcriptions")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_column("interviewer_only_since")

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("consented")

    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_column("opening_step_no")
