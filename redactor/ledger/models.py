"""Tables of the 관리대장: entries (append-only), their erasable personal fields, and signed checkpoints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redactor.base import Base, UTCDateTime

ENTRIES_TABLE = "ledger_entries"


class LedgerEntry(Base):
    """One 별지 2호 row. Never updated or deleted (a trigger enforces it on PostgreSQL); verify recomputes it."""

    __tablename__ = ENTRIES_TABLE

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 번호, 1-based, no gaps
    kind: Mapped[str] = mapped_column(String(8))  # 구분: 이용 제공 열람 파기
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # 일시 (for 파기: the destruction time)
    file: Mapped[str] = mapped_column(Text)  # 파일명/형태
    officer: Mapped[str] = mapped_column(String(128))  # 담당자 (staff username or the responsible role)
    purpose: Mapped[str] = mapped_column(Text)  # 목적/사유
    party: Mapped[str] = mapped_column(Text)
    # ^ 이용·제공받는 제3자/열람등 요구자: only its non-personal part (an agency, "정보주체 본인")
    personal_commitment: Mapped[str] = mapped_column(String(64))  # SHA-256(salt || personal fields), "" when none
    basis: Mapped[str] = mapped_column(Text)  # 이용·제공근거
    form: Mapped[str] = mapped_column(Text)  # 이용·제공 형태
    period: Mapped[str] = mapped_column(Text)  # 기간
    approval: Mapped[str] = mapped_column(Text)  # 결재
    ref: Mapped[str] = mapped_column(String(128))  # what it records: "request:12", "provision:3", "recording:40"
    leaf_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256(0x00 || canonical bytes)


class LedgerPersonal(Base):
    """Names and phone numbers of the party, kept apart so they can be erased without touching the log."""

    __tablename__ = "ledger_personal"

    entry_number: Mapped[int] = mapped_column(ForeignKey(f"{ENTRIES_TABLE}.number"), primary_key=True)
    salt: Mapped[str | None] = mapped_column(String(64), nullable=True)  # hex; erased with the fields
    name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LedgerCheckpoint(Base):
    """A signed tree head over the first `tree_size` entries. One is signed at every append."""

    __tablename__ = "ledger_checkpoints"

    tree_size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))  # hex
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))  # hex prefix of SHA-256 of the raw public key
    signature: Mapped[str] = mapped_column(String(128))  # base64 Ed25519 over `checkpoint_text`
    # The right edge of the tree after this size (hex subtree roots, left to right), so that the next append costs
    # O(log n). Not signed and not trusted: verify recomputes everything from the entries.
    frontier: Mapped[str] = mapped_column(Text)
