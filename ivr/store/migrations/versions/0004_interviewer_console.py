"""interviewer console

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:30:51.328395
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interviewer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_interviews_interviewer_id_users"), "users", ["interviewer_id"], ["id"]
        )

    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_schedules_held_by_id_users"), "users", ["held_by_id"], ["id"]
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("phone")

    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_schedules_held_by_id_users"), type_="foreignkey")
        batch_op.drop_column("held_at")
        batch_op.drop_column("held_by_id")

    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_column("notes")
        batch_op.drop_constraint(
            batch_op.f("fk_interviews_interviewer_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("interviewer_id")
