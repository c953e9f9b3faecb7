"""when a case's calling closed, and the indexes the quarterly results read

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_schedules_closed", ["survey", "closed_at"], unique=False)

    # The quarterly results: the interviews started in a period, and every interview's
    # answer codes read from an index alone.
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.create_index("ix_interviews_started_at", ["started_at"], unique=False)
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_answers_codes", ["interview_id", "question_id", "code"], unique=False
        )

    # Cases closed before the column existed: a closed schedule was last changed when it got
    # its disposition (or by a call still ending just after), the nearest time kept.
    schedules = sa.table(
        "schedules",
        sa.column("disposition", sa.String(length=8)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("closed_at", sa.DateTime(timezone=True)),
    )
    op.get_bind().execute(
        schedules.update()
        .where(schedules.c.disposition.is_not(None))
        .values(closed_at=schedules.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index("ix_answers_codes")
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_index("ix_interviews_started_at")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_schedules_closed")
        batch_op.drop_column("closed_at")
