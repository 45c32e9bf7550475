"""Recordings: uploaded (streamed to a temporary file, probed as video, then sealed into the object store) or
registered in place from a server folder allowed by REDACTOR_IMPORT_DIRS."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import STAFF, client_address, current_user, db, roles
from api.errors import NotFound
from redactor.access_log.service import record
from redactor.base import utcnow
from redactor.disclosure.models import Role, User
from redactor.errors import BadInput
from redactor.media import probe
from redactor.registry.inplace import check_registrable, fingerprint
from redactor.registry.models import Camera, Hold, Recording
from redactor.registry.service import active_holds, add_recording, expiry_for, place_hold, release_hold

router = APIRouter(prefix="/recordings", tags=["recordings"])
CHUNK = 1 << 20


def recording_json(r: Recording) -> dict:
    return {"id": r.id, "camera_id": r.camera_id, "start_at": r.start_at.isoformat(), "end_at": r.end_at.isoformat(),
            "collected_at": r.collected_at.isoformat(), "expires_at": r.expires_at.isoformat(),
            "destroyed_at": r.destroyed_at.isoformat() if r.destroyed_at else None, "file": r.file_name,
            "held": bool(active_holds(r))}


def _camera(session: Session, camera_id: int) -> Camera:
    cam = session.get(Camera, camera_id)
    if cam is None:
        raise NotFound(f"no camera {camera_id}")
    return cam


def _span(info, start_at: dt.datetime | None, end_at: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    length = dt.timedelta(seconds=max(info.duration, 0.001))
    if start_at is None and end_at is None:
        end_at = utcnow()
    if start_at is None:
        start_at = end_at - length
    if end_at is None:
        end_at = start_at + length
    if end_at <= start_at:
        raise BadInput("end_at must be after start_at")
    return start_at, end_at


@router.post("", status_code=201, summary="Upload a recording (multipart; probed as video, never trusted by name)",
             **roles(Role.clerk, Role.operator, Role.privacy_officer))
def upload(request: Request, file: Annotated[UploadFile, File(description="the video file")],
           camera_id: Annotated[int, Form()], reason: Annotated[str, Form(max_length=2000)] = "",
           start_at: Annotated[AwareDatetime | None, Form()] = None,
           end_at: Annotated[AwareDatetime | None, Form()] = None,
           user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    limit = request.app.state.settings.max_upload_bytes
    cam = _camera(session, camera_id)
    store = request.app.state.store()
    with tempfile.TemporaryDirectory(prefix="redactor-upload-") as tmp:
        # named "upload": a message about the file (probe's) names it so, never by its temporary folder
        path = Path(tmp) / "upload"
        size = 0
        with open(path, "wb") as out:
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise BadInput(f"the upload is larger than the limit of {limit} bytes")
                out.write(chunk)
        try:
            info = probe(path)  # the type check: a real video stream, whatever the file is called
        except BadInput as err:
            raise BadInput(str(err).replace(str(path), "the upload")) from None
        start, end = _span(info, start_at, end_at)
        key = f"recordings/{cam.code}/{uuid.uuid4().hex}.{_ext(info.codec)}"
        expires = expiry_for(cam, end)
        store.put(key, path, expires_at=expires, content_type="video/octet-stream")
    rec = add_recording(session, cam, start_at=start, end_at=end, object_key=key)
    record(session, actor=user.username, role=user.role, action="upload", target=f"recording:{rec.id}",
           reason=reason or "녹화 등록", client=client_address(request))
    return recording_json(rec) | {"video": info.to_json() | {"path": None}}


def _ext(codec: str) -> str:
    return "mp4" if codec in ("h264", "hevc", "mpeg4", "av1") else "video"


class RegisterPath(BaseModel):
    camera_id: int
    path: str = Field(min_length=1, max_length=1024)
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    reason: str = Field("", max_length=2000)


@router.post("/register", status_code=201, summary="Register footage lying in an allowed server folder, in place",
             **roles(Role.operator, Role.admin))
def register(request: Request, body: RegisterPath, user: User = Depends(current_user),
             session: Session = Depends(db)) -> dict:
    path = check_registrable(body.path, request.app.state.settings.import_dirs)
    cam = _camera(session, body.camera_id)
    size, sha256 = fingerprint(path)  # checked again whenever the footage is opened
    info = probe(path)
    start, end = _span(info, body.start_at, body.end_at)
    rec = add_recording(session, cam, start_at=start, end_at=end, object_key=str(path), size_bytes=size,
                        sha256=sha256)
    record(session, actor=user.username, role=user.role, action="register", target=f"recording:{rec.id}",
           reason=body.reason or "녹화 등록 (서버 경로)", client=client_address(request))
    return recording_json(rec)


@router.get("", summary="List recordings", **roles(*STAFF, Role.auditor))
def list_recordings(session: Session = Depends(db), camera_id: int | None = None) -> list[dict]:
    q = select(Recording).order_by(Recording.id.desc()).limit(500)
    if camera_id is not None:
        q = q.where(Recording.camera_id == camera_id)
    return [recording_json(r) for r in session.scalars(q)]


@router.get("/{recording_id}", summary="One recording", **roles(*STAFF, Role.auditor))
def get_recording(recording_id: int, session: Session = Depends(db)) -> dict:
    rec = session.get(Recording, recording_id)
    if rec is None:
        raise NotFound(f"no recording {recording_id}")
    return recording_json(rec)


class NewHold(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the footage is kept past its 30 days "
                                                                   "(제35조①: another law, an investigation...)")
    until: AwareDatetime | None = Field(None, description="when the hold ends by itself (none: until released)")


class HoldRelease(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the hold ends")


def hold_json(h: Hold) -> dict:
    def iso(t):
        return t.isoformat() if t else None

    return {"id": h.id, "recording_id": h.recording_id, "reason": h.reason, "approved_by": h.approved_by,
            "until": iso(h.until), "created_at": iso(h.created_at), "released_at": iso(h.released_at),
            "released_by": h.released_by, "release_reason": h.release_reason}


def _recording(session: Session, recording_id: int) -> Recording:
    rec = session.get(Recording, recording_id)
    if rec is None:
        raise NotFound(f"no recording {recording_id}")
    return rec


@router.post("/{recording_id}/holds", status_code=201, tags=["holds"],
             summary="Hold a recording past its 30 days, with the reason (제35조① exceptions)",
             **roles(Role.privacy_officer, Role.center_head))
def create_hold(request: Request, recording_id: int, body: NewHold, user: User = Depends(current_user),
                session: Session = Depends(db)) -> dict:
    hold = place_hold(session, _recording(session, recording_id), reason=body.reason.strip(),
                      approved_by=user.username, until=body.until)
    record(session, actor=user.username, role=user.role, action="hold", target=f"recording:{recording_id}",
           reason=body.reason, client=client_address(request))
    return hold_json(hold)


@router.get("/{recording_id}/holds", tags=["holds"], summary="A recording's holds", **roles(*STAFF, Role.auditor))
def list_holds(recording_id: int, session: Session = Depends(db)) -> list[dict]:
    return [hold_json(h) for h in _recording(session, recording_id).holds]


@router.post("/{recording_id}/holds/{hold_id}/release", tags=["holds"],
             summary="End a hold, with the reason: the 30-day clock decides again",
             **roles(Role.privacy_officer, Role.center_head))
def end_hold(request: Request, recording_id: int, hold_id: int, body: HoldRelease, user: User = Depends(current_user),
             session: Session = Depends(db)) -> dict:
    hold = session.get(Hold, hold_id)
    if hold is None or hold.recording_id != _recording(session, recording_id).id:
        raise NotFound(f"no hold {hold_id} on recording {recording_id}")
    release_hold(session, hold, reason=body.reason.strip(), released_by=user.username)
    record(session, actor=user.username, role=user.role, action="hold", target=f"recording:{recording_id}",
           reason=f"보존 해제: {body.reason}", client=client_address(request))
    return hold_json(hold)
