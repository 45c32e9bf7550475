"""Registry, disclosure and ledger tables; on PostgreSQL the ledger tables refuse UPDATE and DELETE.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:51:34.048758
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The 관리대장 is append-only: a row is never edited, destruction is a new row. On PostgreSQL the database itself
# refuses UPDATE, DELETE and TRUNCATE on entries and checkpoints (SQLite has no equivalent that a file owner cannot
# drop; there `redactor ledger verify` is the check). ledger_personal stays erasable by design.
APPEND_ONLY = ("ledger_entries", "ledger_checkpoints")


def _append_only_up() -> None:
    op.execute("""
        CREATE FUNCTION redactor_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% on % refused: the ledger is append-only', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION redactor_ledger_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION redactor_ledger_append_only()"
        )


def _append_only_down() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS redactor_ledger_append_only()")


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("department", sa.String(length=128), nullable=False),
        sa.Column("officer", sa.String(length=128), nullable=False),
        sa.Column("staff", sa.String(length=128), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "사회안정",
                "환경개선",
                "시설관리",
                "교통안전",
                "특수지역",
                "문제차량",
                name="camera_purpose",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("purpose_detail", sa.String(length=128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("installed_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
        sa.UniqueConstraint("code", name=op.f("uq_cameras_code")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("tree_size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("officer", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("personal_commitment", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("approval", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_ledger_entries")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "clerk",
                "privacy_officer",
                "center_head",
                "operator",
                "auditor",
                "admin",
                name="user_role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "ledger_personal",
        sa.Column("entry_number", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_number"], ["ledger_entries.number"], name=op.f("fk_ledger_personal_entry_number_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("entry_number", name=op.f("pk_ledger_personal")),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object_key", sa.String(length=512), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destroyed_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_recordings_camera_id_cameras")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recordings_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("존재확인", "열람", "이용", "제공", "삭제", name="request_kind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("requester_name", sa.String(length=128), nullable=False),
        sa.Column("requester_phone", sa.String(length=32), nullable=False),
        sa.Column("requester_birth", sa.Date(), nullable=True),
        sa.Column("requester_relation", sa.String(length=64), nullable=False),
        sa.Column("requester_address", sa.String(length=255), nullable=False),
        sa.Column("subject_name", sa.String(length=128), nullable=False),
        sa.Column("subject_phone", sa.String(length=32), nullable=False),
        sa.Column("subject_birth", sa.Date(), nullable=True),
        sa.Column("subject_address", sa.String(length=255), nullable=False),
        sa.Column("period_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("camera_location", sa.String(length=255), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_requests_camera_id_cameras")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_requests_number")),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requests_due_at"), ["due_at"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("grant", "postpone", "limit", "refuse", name="decision_outcome", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("refusal_ground", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("appeal_route", sa.Text(), nullable=False),
        sa.Column("postponed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withheld", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("notice_pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_decisions_request_id_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_request_id"), ["request_id"], unique=False)

    op.create_table(
        "provisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ground", sa.Integer(), nullable=False),
        sa.Column("use", sa.Boolean(), nullable=False),
        sa.Column("recipient_agency", sa.String(length=255), nullable=False),
        sa.Column("recipient_officer", sa.String(length=128), nullable=False),
        sa.Column("recipient_phone", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("period_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use_until", sa.Date(), nullable=True),
        sa.Column("form", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_provisions_request_id_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisions")),
    )
    op.create_table(
        "recording_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"], name=op.f("fk_recording_holds_recording_id_recordings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_holds")),
    )
    with op.batch_alter_table("recording_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_holds_recording_id"), ["recording_id"], unique=False)

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provision_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "clerk",
                "privacy_officer",
                "center_head",
                "operator",
                "auditor",
                "admin",
                name="approval_role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("article", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["approver_id"], ["users.id"], name=op.f("fk_approvals_approver_id_users")),
        sa.ForeignKeyConstraint(["provision_id"], ["provisions.id"], name=op.f("fk_approvals_provision_id_provisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_provision_id"), ["provision_id"], unique=False)

    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("provision_id", sa.Integer(), nullable=True),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("object_key", sa.String(length=512), nullable=False),
        sa.Column("form", sa.String(length=128), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ledger_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["provision_id"], ["provisions.id"], name=op.f("fk_releases_provision_id_provisions")),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], name=op.f("fk_releases_recording_id_recordings")),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_releases_request_id_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    if _is_postgres():
        _append_only_up()


def downgrade() -> None:
    if _is_postgres():
        _append_only_down()
    op.drop_table("releases")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_provision_id"))

    op.drop_table("approvals")
    with op.batch_alter_table("recording_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_holds_recording_id"))

    op.drop_table("recording_holds")
    op.drop_table("provisions")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_request_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requests_due_at"))

    op.drop_table("requests")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_expires_at"))
        batch_op.drop_index(batch_op.f("ix_recordings_camera_id"))

    op.drop_table("recordings")
    op.drop_table("ledger_personal")
    op.drop_table("users")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_checkpoints")
    op.drop_table("cameras")
