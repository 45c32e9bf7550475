"""Cameras (별지 1호 설치현황, purposes by the 별표 1 classes) and recordings with their 30-day clock and holds."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from redactor.base import Base, UTCDateTime, utcnow

# 제35조①: footage is kept at most 30 days after collection.
MAX_RETENTION = dt.timedelta(days=30)


class Purpose(enum.StrEnum):
    """별표 1 설치목적 classes (the values are the form's words, stored as such)."""

    사회안정 = "사회안정"  # public safety: 방범 crime prevention
    환경개선 = "환경개선"  # 쓰레기투기·오염 dumping, pollution
    시설관리 = "시설관리"  # 출입통제·시설물·주차·공원 access, facilities, parking, parks
    교통안전 = "교통안전"  # 교통정보·과속·주정차 traffic information, speeding, parking enforcement
    특수지역 = "특수지역"  # 재난·화재 등 disaster, fire
    문제차량 = "문제차량"  # 체납·과태료·수배 arrears, fines, wanted vehicles


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as text with a CHECK constraint: readable in SQL and exports, portable to SQLite.
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32)


class Camera(Base):
    """One line of 별지 1호: where, for what, and who answers for it."""

    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the city's own camera number
    location: Mapped[str] = mapped_column(String(255))  # 설치장소
    department: Mapped[str] = mapped_column(String(128))  # 설치부서
    officer: Mapped[str] = mapped_column(String(128))  # 책임자 (an official's title, not personal data of a subject)
    staff: Mapped[str] = mapped_column(String(128))  # 담당자
    purpose: Mapped[Purpose] = mapped_column(_enum(Purpose, "camera_purpose"))
    purpose_detail: Mapped[str] = mapped_column(String(128), default="")  # e.g. 방범, 쓰레기투기
    count: Mapped[int] = mapped_column(Integer, default=1)  # 대수
    installed_on: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)

    recordings: Mapped[list[Recording]] = relationship(back_populates="camera")


class Recording(Base):
    """A stored piece of footage. The row outlives the object: deletion sets `destroyed_at`, the ledger gets 파기."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    object_key: Mapped[str] = mapped_column(String(512))  # the storage key (or a local path, embedded default)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    destroyed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Footage registered in place: its size and sha256 when registered, checked again whenever it is opened
    # (redactor.registry.inplace). None for uploads: the object store seals and authenticates those.
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)

    camera: Mapped[Camera] = relationship(back_populates="recordings")
    holds: Mapped[list[Hold]] = relationship(back_populates="recording", order_by="Hold.id")

    @property
    def file_name(self) -> str:
        return self.object_key.rsplit("/", 1)[-1]


class Hold(Base):
    """Keeps a recording past its 30 days (제35조① exceptions: another law, an investigation, a recorded reason)."""

    __tablename__ = "recording_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(128))
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    recording: Mapped[Recording] = relationship(back_populates="holds")
