"""Registry rules: a recording's expiry is at most 30 days after collection; holds keep it; held footage stays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.base import utcnow
from redactor.errors import RedactorError
from redactor.registry.models import MAX_RETENTION, Camera, Hold, Purpose, Recording


class RegistryError(RedactorError):
    exit_code = 2


class RecordingHeld(RegistryError):
    """A held recording cannot be deleted (제35조① exceptions)."""


def add_camera(session: Session, *, code: str, location: str, department: str, officer: str, staff: str,
               purpose: Purpose | str, purpose_detail: str = "", count: int = 1,
               installed_on: dt.datetime | None = None, retention_days: int = 30) -> Camera:
    if not 1 <= retention_days <= MAX_RETENTION.days:
        raise RegistryError(f"camera {code}: retention {retention_days} days; 제35조① allows 1 to 30")
    cam = Camera(code=code, location=location, department=department, officer=officer, staff=staff,
                 purpose=Purpose(purpose), purpose_detail=purpose_detail, count=count, installed_on=installed_on,
                 retention_days=retention_days)
    session.add(cam)
    session.flush()
    return cam


def expiry_for(camera: Camera, collected_at: dt.datetime) -> dt.datetime:
    days = min(camera.retention_days, MAX_RETENTION.days)
    return collected_at + dt.timedelta(days=days)


def add_recording(session: Session, camera: Camera, *, start_at: dt.datetime, end_at: dt.datetime, object_key: str,
                  collected_at: dt.datetime | None = None, size_bytes: int | None = None,
                  sha256: str | None = None) -> Recording:
    if end_at <= start_at:
        raise RegistryError(f"recording on {camera.code}: end {end_at} is not after start {start_at}")
    collected_at = collected_at or end_at
    rec = Recording(camera=camera, start_at=start_at, end_at=end_at, object_key=object_key,
                    collected_at=collected_at, expires_at=expiry_for(camera, collected_at), size_bytes=size_bytes,
                    sha256=sha256)
    session.add(rec)
    session.flush()
    return rec


def place_hold(session: Session, recording: Recording, *, reason: str, approved_by: str,
               until: dt.datetime | None = None) -> Hold:
    if not reason.strip():
        raise RegistryError("a hold needs its reason (제35조①)")
    if recording.destroyed_at is not None:
        raise RegistryError(f"recording {recording.id} was destroyed at {recording.destroyed_at}: nothing to hold")
    hold = Hold(recording=recording, reason=reason, approved_by=approved_by, until=until, created_at=utcnow())
    session.add(hold)
    session.flush()
    return hold


def release_hold(session: Session, hold: Hold, *, reason: str = "", released_by: str = "",
                 now: dt.datetime | None = None) -> Hold:
    """End a hold; from then on the recording's own 30-day clock decides (제35조①). Released once."""
    if hold.released_at is not None:
        raise RegistryError(f"hold {hold.id} was already released at {hold.released_at.isoformat()}")
    hold.released_at = now or utcnow()
    hold.release_reason = reason or None
    hold.released_by = released_by or None
    session.flush()
    return hold


def active_holds(recording: Recording, now: dt.datetime | None = None) -> list[Hold]:
    now = now or utcnow()
    return [h for h in recording.holds if h.released_at is None and (h.until is None or h.until > now)]


def is_held(recording: Recording, now: dt.datetime | None = None) -> bool:
    return bool(active_holds(recording, now))


def ensure_deletable(recording: Recording, now: dt.datetime | None = None) -> None:
    holds = active_holds(recording, now)
    if holds:
        raise RecordingHeld(f"recording {recording.id} is held ({holds[0].reason}; approved by {holds[0].approved_by})"
                            ": it is not deleted")


def recordings_overlapping(session: Session, camera_id: int, start: dt.datetime, end: dt.datetime) -> list[Recording]:
    """Live recordings of one camera that overlap [start, end]."""
    q = (select(Recording).where(Recording.camera_id == camera_id, Recording.destroyed_at.is_(None),
                                 Recording.start_at < end, Recording.end_at > start).order_by(Recording.start_at))
    return list(session.scalars(q))


def expired_recordings(session: Session, now: dt.datetime | None = None) -> list[Recording]:
    now = now or utcnow()
    q = (select(Recording).where(Recording.destroyed_at.is_(None), Recording.expires_at <= now)
         .order_by(Recording.expires_at, Recording.id))
    return list(session.scalars(q))
