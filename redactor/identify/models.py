"""A clerk's confirmation of the requester's identity in frames the engine could not verify (issue 14)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import redactor.jobs.models  # noqa: F401 - keep_sets, which a confirmation refers to
from redactor.base import Base, UTCDateTime, utcnow


class IdentityConfirmation(Base):
    """The clerk looked at these frames of a keep-set's render and confirms that the kept tracks (or one of them)
    show the requester there: who, when, which frames. The identity guard then shows them (never where SFace saw
    another person's face)."""

    __tablename__ = "identity_confirmations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    keep_set_id: Mapped[int] = mapped_column(ForeignKey("keep_sets.id"), index=True)
    track_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: every kept track in those frames
    first_frame: Mapped[int] = mapped_column(Integer)
    last_frame: Mapped[int] = mapped_column(Integer)
    confirmed_by: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    def to_json(self) -> dict:
        return {"id": self.id, "keep_set_id": self.keep_set_id, "track": self.track_id, "first": self.first_frame,
                "last": self.last_frame, "by": self.confirmed_by,
                "at": self.confirmed_at.isoformat(timespec="seconds") if self.confirmed_at else None,
                "note": self.note}
