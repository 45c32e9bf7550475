"""Track-table revisions (the reviewer's edits, each a new stored table) and consents to a face match."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import redactor.jobs.models  # noqa: F401 - the jobs table a revision refers to
from redactor.base import Base, UTCDateTime, utcnow


class TableRevision(Base):
    """One edit of an analysis's track table. The analysis's own table (`analyses/{id}.json`, the evidence of what
    the detectors saw) is never rewritten: each edit stores a whole new table under its own key, and this row says
    who changed what, on top of which revision. Renders use the latest."""

    __tablename__ = "table_revisions"
    __table_args__ = (UniqueConstraint("analysis_id", "number", name="uq_table_revisions_analysis_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ...; 0 is the analysis's own table
    table_key: Mapped[str] = mapped_column(String(256))
    change: Mapped[str] = mapped_column(String(32))  # manual_box | split
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    made_by: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def detail(self) -> dict:
        return json.loads(self.detail_json or "{}")


class FaceMatchConsent(Base):
    """The requester's consent to compare their photo with the faces of an analysis: who consented, who recorded
    it, the photo's hash and the result. The photo and its embedding are never stored."""

    __tablename__ = "face_match_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    consent_by: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    record_json: Mapped[str] = mapped_column(Text, default="{}")  # redactor.identify.propose.consent_record

    @property
    def record(self) -> dict:
        return json.loads(self.record_json or "{}")
