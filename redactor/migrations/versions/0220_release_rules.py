"""Release rules and every copy's destruction: handover packages tracked to their destruction (제35조③), the 별지 3호
fields of both sides (소속, 직급), the provision's camera, destroyed marks on derived copies, hold releases with
their reason, and the ground-2 conversion recorded on its decision.

Revision ID: 0220_release_rules
Revises: 0100_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0220_release_rules"
down_revision = "0230_review"
branch_labels = None
depends_on = None


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, server_default="")


def upgrade() -> None:
    with op.batch_alter_table("users") as b:
        b.add_column(_text("affiliation", 128))
        b.add_column(_text("rank", 64))
    with op.batch_alter_table("decisions") as b:
        b.add_column(sa.Column("converted_from", sa.String(32), nullable=True))
    with op.batch_alter_table("provisions") as b:
        b.add_column(_text("recipient_rank", 64))
        b.add_column(sa.Column("camera_id", sa.Integer(), nullable=True))
        b.create_foreign_key("fk_provisions_camera_id_cameras", "cameras", ["camera_id"], ["id"])
    with op.batch_alter_table("releases") as b:
        b.add_column(sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("jobs") as b:
        b.add_column(sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("recording_holds") as b:
        b.add_column(sa.Column("released_by", sa.String(128), nullable=True))
        b.add_column(sa.Column("release_reason", sa.Text(), nullable=True))
    op.create_table(
        "handover_packages",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("provision_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("ledger_entry", sa.Integer(), nullable=True),
        sa.Column("recipient_affiliation", sa.String(255), nullable=False),
        sa.Column("recipient_rank", sa.String(64), nullable=False),
        sa.Column("recipient_name", sa.String(128), nullable=False),
        sa.Column("handed_over_by_affiliation", sa.String(128), nullable=False),
        sa.Column("handed_over_by_rank", sa.String(64), nullable=False),
        sa.Column("handed_over_by_name", sa.String(128), nullable=False),
        sa.Column("destroy_by", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stored_copy_destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destruction_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destruction_method", sa.String(16), nullable=False),
        sa.Column("destruction_recorded_by", sa.String(64), nullable=False),
        sa.Column("destroyed_by", sa.String(255), nullable=False),
        sa.Column("slip_sha256", sa.String(64), nullable=False),
        sa.Column("destruction_ledger_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_handover_packages_job_id_jobs"),
        sa.ForeignKeyConstraint(["provision_id"], ["provisions.id"],
                                name="fk_handover_packages_provision_id_provisions"),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], name="fk_handover_packages_release_id_releases"),
        sa.PrimaryKeyConstraint("job_id", name="pk_handover_packages"),
    )
    op.create_index("ix_handover_packages_provision_id", "handover_packages", ["provision_id"])
    op.create_index("ix_handover_packages_object_key", "handover_packages", ["object_key"])


def downgrade() -> None:
    op.drop_index("ix_handover_packages_object_key", "handover_packages")
    op.drop_index("ix_handover_packages_provision_id", "handover_packages")
    op.drop_table("handover_packages")
    with op.batch_alter_table("recording_holds") as b:
        b.drop_column("release_reason")
        b.drop_column("released_by")
    with op.batch_alter_table("jobs") as b:
        b.drop_column("destroyed_at")
    with op.batch_alter_table("releases") as b:
        b.drop_column("destroyed_at")
    with op.batch_alter_table("provisions") as b:
        b.drop_constraint("fk_provisions_camera_id_cameras", type_="foreignkey")
        b.drop_column("camera_id")
        b.drop_column("recipient_rank")
    with op.batch_alter_table("decisions") as b:
        b.drop_column("converted_from")
    with op.batch_alter_table("users") as b:
        b.drop_column("rank")
        b.drop_column("affiliation")
