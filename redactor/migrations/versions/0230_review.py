"""Review in the service: track-table revisions (manual boxes, splits) and consents to a face match.

Revision ID: 0230_review
Revises: 0100_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0230_review"
down_revision = "0100_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("table_key", sa.String(256), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(64), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["analysis_id"], ["jobs.id"], name="fk_table_revisions_analysis_id_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_table_revisions"),
        sa.UniqueConstraint("analysis_id", "number", name="uq_table_revisions_analysis_number"),
    )
    op.create_index("ix_table_revisions_analysis_id", "table_revisions", ["analysis_id"])
    op.create_table(
        "face_match_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.String(32), nullable=False),
        sa.Column("consent_by", sa.String(128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["analysis_id"], ["jobs.id"], name="fk_face_match_consents_analysis_id_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_face_match_consents"),
    )
    op.create_index("ix_face_match_consents_analysis_id", "face_match_consents", ["analysis_id"])


def downgrade() -> None:
    op.drop_index("ix_face_match_consents_analysis_id", "face_match_consents")
    op.drop_table("face_match_consents")
    op.drop_index("ix_table_revisions_analysis_id", "table_revisions")
    op.drop_table("table_revisions")
