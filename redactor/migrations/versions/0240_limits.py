"""Footage registered in place: its size and sha256 when registered, checked again when it is opened (issue 20).

Revision ID: 0240_limits
Revises: 0100_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0240_limits"
down_revision = "0220_release_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("sha256")
        batch.drop_column("size_bytes")
