"""personal data sealed at rest: wider columns for sealed values, keyed phone hashes

Sealed values are longer than the numbers and names they hold, and sealed JSON is text.
Numbers are found by their keyed hash from now on, computed here with the keyring of the
database being upgraded (the clear one without IVR_DATA_KEY); values already stored stay
in clear until ``ivr keys rotate`` seals them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 00:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.store.sealing import keyring_of

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: Rows hashed per statement batch.
BATCH = 1000


def _fill_phone_hashes(table_name: str, key: str) -> None:
    bind = op.get_bind()
    keyring = keyring_of(bind.dialect)
    table = sa.table(table_name, sa.column(key), sa.column("phone"), sa.column("phone_hash"))
    rows = bind.execute(sa.select(table.c[key], table.c.phone)).all()
    for start in range(0, len(rows), BATCH):
        bind.execute(
            table.update()
            .where(table.c[key] == sa.bindparam("row_key"))
            .values(phone_hash=sa.bindparam("hash")),
            [
                {"row_key": row_key, "hash": keyring.phone_hash(keyring.open(phone))}
                for row_key, phone in rows[start : start + BATCH]
            ],
        )


def _json_to_text(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(
            column,
            existing_type=sa.JSON(),
            type_=sa.Text(),
            postgresql_using=f"{column}::text",
        )


def _text_to_json(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(
            column,
            existing_type=sa.Text(),
            type_=sa.JSON(),
            postgresql_using=f"{column}::json",
        )


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_phone")
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "phone", existing_type=sa.String(length=20), type_=sa.Text(), existing_nullable=False
        )
        batch_op.alter_column("first_name", existing_type=sa.String(length=100), type_=sa.Text())
    _fill_phone_hashes("cases", "id")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("phone_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_cases_phone_hash", ["phone_hash"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("phone", existing_type=sa.String(length=20), type_=sa.Text())
    _json_to_text("interviews", "notes")
    _json_to_text("interviews", "state")
    _json_to_text("referral_events", "details")

    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "phone", existing_type=sa.String(length=20), type_=sa.Text(), existing_nullable=False
        )
    _fill_phone_hashes("do_not_call", "phone")
    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.alter_column("phone_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("pk_do_not_call", type_="primary")
        batch_op.create_primary_key("pk_do_not_call", ["phone_hash"])


def downgrade() -> None:
    # Only a database whose values are in clear can go back: run `ivr keys rotate` without
    # IVR_DATA_KEY (the old key in IVR_DATA_KEY_PREVIOUS) first.
    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.drop_constraint("pk_do_not_call", type_="primary")
        batch_op.alter_column(
            "phone", existing_type=sa.Text(), type_=sa.String(length=20), existing_nullable=False
        )
        batch_op.create_primary_key("pk_do_not_call", ["phone"])
        batch_op.drop_column("phone_hash")
    _text_to_json("referral_events", "details")
    _text_to_json("interviews", "state")
    _text_to_json("interviews", "notes")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("phone", existing_type=sa.Text(), type_=sa.String(length=20))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_phone_hash")
        batch_op.drop_column("phone_hash")
        batch_op.alter_column("first_name", existing_type=sa.Text(), type_=sa.String(length=100))
        batch_op.alter_column(
            "phone", existing_type=sa.Text(), type_=sa.String(length=20), existing_nullable=False
        )
        batch_op.create_index("ix_cases_phone", ["phone"], unique=False)
