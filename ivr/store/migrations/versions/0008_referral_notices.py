"""referral notices kept until they are sent: when each was queued and announced

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_queued_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("announced_at", sa.DateTime(timezone=True)))
        batch_op.create_index("ix_referrals_announced_at", ["announced_at"], unique=False)
    # Referrals raised before this revision were announced as they were raised.
    referrals = sa.table(
        "referrals",
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("notice_queued_at", sa.DateTime(timezone=True)),
        sa.column("announced_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        referrals.update().values(
            notice_queued_at=referrals.c.created_at, announced_at=referrals.c.created_at
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_announced_at")
        batch_op.drop_column("announced_at")
        batch_op.drop_column("notice_queued_at")
