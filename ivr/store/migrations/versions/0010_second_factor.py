"""staff second factor: a TOTP secret (sealed like other secrets), when it was switched on,
the last step used, and recovery code digests; indexes for the admin's audit search

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        # Accounts made before this revision have no recovery codes.
        batch_op.add_column(
            sa.Column(
                "recovery_code_hashes", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
            )
        )
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor_id", "at"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_object", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_at", table_name="audit_log")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("recovery_code_hashes")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
