"""Jobs (one unit of queued work, its progress and result) and keep-sets (the reviewer's choice of tracks)."""

from __future__ import annotations

import datetime as dt
import enum
import json

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import redactor.disclosure.models  # noqa: F401 - the tables a job refers to must be known wherever jobs are
import redactor.registry.models  # noqa: F401
from redactor.base import Base, UTCDateTime, utcnow


class JobKind(enum.StrEnum):
    analyze = "analyze"  # queue gpu
    segment = "segment"  # queue gpu: one segment of a long recording's analysis (redactor.jobs.segments)
    render = "render"  # queue gpu: mask, encode, then the second-opinion audit
    release = "release"  # queue cpu: watermarks, store with expiry, ledger row
    package = "package"  # queue cpu: handover package for a provision
    reap = "reap"  # queue cpu: retention


# The object each kind of job stores: a track table (with thumbnails of faces), a masked render, a watermarked copy for
# its recipient, a handover package. Every one is derived from footage and is destroyed with it.
OBJECT_KEYS: dict[str, str] = {JobKind.analyze: "analyses/{id}.json", JobKind.segment: "segments/{id}.json",
                               JobKind.render: "renders/{id}.mp4",
                               JobKind.release: "releases/{id}.mp4", JobKind.package: "packages/{id}.zip"}


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"  # an expected failure (bad input, audit objection): retrying will not help
    blocked = "blocked"  # the audit objected: nothing released until someone reviews


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued, index=True)
    step: Mapped[str] = mapped_column(String(32), default="queued")
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    result_json: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"), nullable=True, index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True)
    provision_id: Mapped[int | None] = mapped_column(ForeignKey("provisions.id"), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # its stored object destroyed with the footage it came from (a 삭제 grant, retention): the routes answer 410
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def object_key(self) -> str | None:
        """Where the job's output lies in the object store (fixed by its kind and id, so a copy stored by a job that
        never finished can still be found and destroyed)."""
        pattern = OBJECT_KEYS.get(self.kind)
        if self.kind == JobKind.segment and "render" in self.params:
            pattern = "segments/{id}.mp4"  # a segment of a render: its encoded part
        return pattern.format(id=self.id) if pattern else None

    @property
    def params(self) -> dict:
        return json.loads(self.params_json or "{}")

    @property
    def result(self) -> dict:
        return json.loads(self.result_json or "{}")


class KeepSet(Base):
    """Which tracks of an analysis stay visible, who chose them, and why (the review step)."""

    __tablename__ = "keep_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    track_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of ints
    reason: Mapped[str] = mapped_column(Text, default="")
    chosen_by: Mapped[str] = mapped_column(String(64))
    chosen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def tracks(self) -> list[int]:
        return [int(t) for t in json.loads(self.track_ids or "[]")]
