"""The reviewer's edits of an analysis: a box the detectors missed (followed forward and backward until lost, kept
as a `manual` track with who drew it, masked like any other), and a track split in two where the tracker swapped
people. Each edit stores a new revision of the track table (redactor.review.service); the analysis's own table,
the record of what the detectors saw, is never rewritten. Renders use the latest revision."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from api.deps import current_user, db, roles
from api.footage import analysis_table, frame_source, handled_job, view_footage
from redactor.disclosure.models import Role, User
from redactor.errors import BadInput
from redactor.jobs.models import JobKind
from redactor.review.service import revision_json, save_revision
from redactor.track.edits import add_manual_track, follow, split_track
from redactor.track.table import Track

router = APIRouter(tags=["review"])
EDITORS = roles(Role.clerk, Role.privacy_officer)


class NewBox(BaseModel):
    frame: int = Field(ge=0)
    box: list[float] = Field(min_length=4, max_length=4, description="[x1, y1, x2, y2] in frame pixels")
    label: Literal["face", "plate", "person", "vehicle"] = "face"
    reason: str = Field("", max_length=2000)

    @field_validator("box")
    @classmethod
    def ordered(cls, box: list[float]) -> list[float]:
        if not all(np.isfinite(box)) or box[2] - box[0] < 2 or box[3] - box[1] < 2:
            raise ValueError("box must be [x1, y1, x2, y2] with x2 > x1 and y2 > y1 (at least 2 px)")
        return box


class Split(BaseModel):
    frame: int = Field(ge=0, description="the first frame of the new track")
    reason: str = Field("", max_length=2000)


class TrackSummary(BaseModel):
    id: int
    label: str
    first_frame: int
    last_frame: int
    frames: int
    parent: int | None
    added_by: str | None = None


class Revision(BaseModel):
    number: int
    change: str
    detail: dict[str, Any]
    made_by: str
    made_at: str


class Edited(BaseModel):
    analysis_id: str
    revision: Revision
    tracks: list[TrackSummary]  # the tracks the edit made or changed


def summary(t: Track) -> dict:
    return {"id": t.id, "label": t.label, "first_frame": int(t.frames[0]), "last_frame": int(t.frames[-1]),
            "frames": len(t.frames), "parent": t.parent, "added_by": t.added_by}


@router.post("/analyses/{job_id}/boxes", status_code=201, response_model=Edited,
             summary="Add a box the detectors missed: followed forward and backward until lost, stored as a manual "
                     "track (a new revision of the table)", **EDITORS)
def add_box(request: Request, job_id: str, body: NewBox, user: User = Depends(current_user),
            session: Session = Depends(db)) -> dict:
    job = handled_job(session, user, job_id, JobKind.analyze)
    table, revision = analysis_table(request, session, job)
    if body.frame >= table.frames:
        raise BadInput(f"no frame {body.frame}: the analysis has frames 0-{table.frames - 1}")
    w, h = int(table.video.get("width", 0)), int(table.video.get("height", 0))
    box = np.asarray(body.box, np.float32)
    if w and h and (box[2] <= 0 or box[3] <= 0 or box[0] >= w or box[1] >= h):
        raise BadInput(f"the box lies outside the {w}x{h} picture")
    source = frame_source(request, session, job, int(table.video.get("rotation", 0) or 0))
    view_footage(request, session, user, job, f"manual box at frame {body.frame}", body.reason, action="edit")
    with source.lock:
        frames, boxes = follow(source.span, table.frames, body.frame, box)
    edited, track = add_manual_track(table, body.label, frames, boxes, user.username)
    rev = save_revision(session, request.app.state.store(), job, edited, revision, "manual_box",
                        {"track": track.id, "label": body.label, "frame": body.frame,
                         "box": [round(float(v), 1) for v in box], "frames": [int(frames[0]), int(frames[-1])],
                         "reason": body.reason}, user.username)
    return {"analysis_id": job_id, "revision": revision_json(rev), "tracks": [summary(track)]}


@router.post("/analyses/{job_id}/tracks/{tid}/split", status_code=201, response_model=Edited,
             summary="Split a track at a frame (the tracker swapped people): two tracks, a new revision of the table",
             **EDITORS)
def split(request: Request, job_id: str, tid: int, body: Split, user: User = Depends(current_user),
          session: Session = Depends(db)) -> dict:
    job = handled_job(session, user, job_id, JobKind.analyze)
    table, revision = analysis_table(request, session, job)
    edited, first, second = split_track(table, tid, body.frame)
    rev = save_revision(session, request.app.state.store(), job, edited, revision, "split",
                        {"track": tid, "frame": body.frame, "new_track": second.id, "reason": body.reason},
                        user.username)
    view_footage(request, session, user, job, f"split track {tid} at frame {body.frame}", body.reason, action="edit")
    return {"analysis_id": job_id, "revision": revision_json(rev), "tracks": [summary(first), summary(second)]}
