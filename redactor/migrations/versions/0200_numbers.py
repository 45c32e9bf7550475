"""Counters: the numbers the service hands out (접수번호), taken under a row lock instead of counted.

Revision ID: 0200_numbers
Revises: 0100_service
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0200_numbers"
down_revision = "0240_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    # Carry on from the highest 접수번호 of each year already given ("2026-00042"), so no number is given twice.
    last: dict[str, int] = {}
    for (number,) in op.get_bind().execute(sa.text("SELECT number FROM requests")):
        m = re.fullmatch(r"(\d{4})-(\d+)", number or "")
        if m:
            last[m[1]] = max(last.get(m[1], 0), int(m[2]))
    if last:
        op.bulk_insert(counters, [{"name": f"request:{year}", "value": n} for year, n in sorted(last.items())])


def downgrade() -> None:
    op.drop_table("counters")
