"""Identity confirmations: a clerk confirms the requester in frames the identity guard could not verify (issue 14).

Revision ID: 0140_identity_confirm
Revises: 0100_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0140_identity_confirm"
down_revision = "0200_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("keep_set_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("first_frame", sa.Integer(), nullable=False),
        sa.Column("last_frame", sa.Integer(), nullable=False),
        sa.Column("confirmed_by", sa.String(64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["keep_set_id"], ["keep_sets.id"],
                                name="fk_identity_confirmations_keep_set_id_keep_sets"),
        sa.PrimaryKeyConstraint("id", name="pk_identity_confirmations"),
    )
    op.create_index("ix_identity_confirmations_keep_set_id", "identity_confirmations", ["keep_set_id"])


def downgrade() -> None:
    op.drop_index("ix_identity_confirmations_keep_set_id", "identity_confirmations")
    op.drop_table("identity_confirmations")
