"""One row per access to footage: upload, view, download, render, release."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redactor.base import Base, UTCDateTime, utcnow


class AccessRecord(Base):
    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # when
    actor: Mapped[str] = mapped_column(String(128))  # who: a user name, or "link:<release id>" for a recipient
    role: Mapped[str] = mapped_column(String(32), default="")
    action: Mapped[str] = mapped_column(String(32))  # upload, register, view, download, analyze, render, release
    target: Mapped[str] = mapped_column(String(128))  # what: "recording:3", "render:<job>", "release:2"
    reason: Mapped[str] = mapped_column(Text, default="")  # why: the request or provision it serves, or a free text
    client: Mapped[str] = mapped_column(String(64), default="")  # network address, not a person
    # the request or provision the access serves (제31조, 표준지침 47조), from the footage's own record, never the
    # caller's words: every use of footage names one (redactor.access_log.service.record)
    request_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    provision_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
