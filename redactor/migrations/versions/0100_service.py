"""The service's tables: jobs (queued work, progress, results), keep-sets, and the footage access log.

Revision ID: 0100_service
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_service"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("frames_done", sa.Integer(), nullable=False),
        sa.Column("frames_total", sa.Integer(), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("provision_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], name="fk_jobs_recording_id_recordings"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_jobs_request_id_requests"),
        sa.ForeignKeyConstraint(["provision_id"], ["provisions.id"], name="fk_jobs_provision_id_provisions"),
        sa.ForeignKeyConstraint(["parent_id"], ["jobs.id"], name="fk_jobs_parent_id_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_recording_id", "jobs", ["recording_id"])
    op.create_table(
        "keep_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.String(32), nullable=False),
        sa.Column("track_ids", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("chosen_by", sa.String(64), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["analysis_id"], ["jobs.id"], name="fk_keep_sets_analysis_id_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_keep_sets"),
    )
    op.create_index("ix_keep_sets_analysis_id", "keep_sets", ["analysis_id"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_access_log_at", "access_log")
    op.drop_table("access_log")
    op.drop_index("ix_keep_sets_analysis_id", "keep_sets")
    op.drop_table("keep_sets")
    op.drop_index("ix_jobs_recording_id", "jobs")
    op.drop_index("ix_jobs_status", "jobs")
    op.drop_table("jobs")
