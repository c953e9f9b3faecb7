"""why a case is for interviewers only, and callers handed over to a person

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing interviewer-only cases were all made so by the safety check: their reason
    # stays empty, which the console reads as that.
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("interviewer_only_reason", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_column("handed_over_at")
        batch_op.drop_column("interviewer_only_reason")
