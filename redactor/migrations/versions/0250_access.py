"""Access by assignment (issue 20): who handles which request or provision, stored download links, the request or
provision each footage access serves, and the credential version tokens carry.

Revision ID: 0250_access
Revises: 0140_identity_confirm
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0250_access"
down_revision = "0140_identity_confirm"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("credential_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("access_log") as batch:
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("provision_id", sa.Integer(), nullable=True))
    op.create_index("ix_access_log_request_id", "access_log", ["request_id"])
    op.create_index("ix_access_log_provision_id", "access_log", ["provision_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("provision_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", TZ, nullable=False),
        sa.Column("removed_by", sa.String(64), nullable=True),
        sa.Column("removed_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_assignments_request_id_requests"),
        sa.ForeignKeyConstraint(["provision_id"], ["provisions.id"], name="fk_assignments_provision_id_provisions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_assignments_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
    )
    for column in ("request_id", "provision_id", "user_id"):
        op.create_index(f"ix_assignments_{column}", "assignments", [column])
    op.create_table(
        "download_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("package_job_id", sa.String(32), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("provision_id", sa.Integer(), nullable=True),
        sa.Column("minted_by", sa.String(64), nullable=False),
        sa.Column("minted_role", sa.String(32), nullable=False),
        sa.Column("minted_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], name="fk_download_links_release_id_releases"),
        sa.ForeignKeyConstraint(["package_job_id"], ["jobs.id"], name="fk_download_links_package_job_id_jobs"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_download_links_request_id_requests"),
        sa.ForeignKeyConstraint(["provision_id"], ["provisions.id"], name="fk_download_links_provision_id_provisions"),
        sa.PrimaryKeyConstraint("id", name="pk_download_links"),
        sa.UniqueConstraint("secret_sha256", name="uq_download_links_secret_sha256"),
    )
    op.create_index("ix_download_links_release_id", "download_links", ["release_id"])
    op.create_index("ix_download_links_package_job_id", "download_links", ["package_job_id"])
    # the clerk who filed a request (or proposed a provision) handles it: rows for what exists already
    op.execute("INSERT INTO assignments (request_id, user_id, assigned_by, assigned_at) "
               "SELECT r.id, u.id, 'migration', r.received_at FROM requests r JOIN users u ON u.username = "
               "r.received_by")
    op.execute("INSERT INTO assignments (provision_id, user_id, assigned_by, assigned_at) "
               "SELECT p.id, u.id, 'migration', p.created_at FROM provisions p JOIN users u ON u.username = "
               "p.created_by")


def downgrade() -> None:
    op.drop_index("ix_download_links_package_job_id", "download_links")
    op.drop_index("ix_download_links_release_id", "download_links")
    op.drop_table("download_links")
    for column in ("request_id", "provision_id", "user_id"):
        op.drop_index(f"ix_assignments_{column}", "assignments")
    op.drop_table("assignments")
    op.drop_index("ix_access_log_provision_id", "access_log")
    op.drop_index("ix_access_log_request_id", "access_log")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_column("provision_id")
        batch.drop_column("request_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credential_version")
