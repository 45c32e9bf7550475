"""Looking at an analysis: the tracks at a frame (a click on the picture picks one), the frame itself as JPEG with
the planned masks or the track ids drawn, and a track's thumbnail and filmstrip. Every picture is a logged view of
the footage; the boxes alone are not pictures."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Literal

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import current_user, db, roles
from api.errors import NotFound
from api.footage import analysis_table, frame_source, handled_job, view_footage
from redactor.disclosure.models import Role, User
from redactor.errors import BadInput
from redactor.jobs.models import JobKind, KeepSet
from redactor.render.styles import STYLES
from redactor.track.masks import MaskParams, expand_keep, plan_masks, tracks_at
from redactor.track.table import Track, TrackTable

router = APIRouter(tags=["review"])
VIEWERS = roles(Role.clerk, Role.operator, Role.privacy_officer)
JPEG = {200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
              "description": "a JPEG picture"}}
PICTURE = VIEWERS | {"responses": VIEWERS["responses"] | JPEG, "response_class": Response}
NO_STORE = {"Cache-Control": "private, no-store"}  # footage: never left in a shared browser's cache
COLOURS = {"face": (0, 200, 255), "plate": (255, 160, 0), "person": (80, 220, 80), "vehicle": (220, 80, 220)}


class TrackAt(BaseModel):
    id: int
    label: str
    box: list[float]
    parent: int | None
    source: str  # detector | flow | manual | ...: where this track's row nearest the frame came from


class FrameTracks(BaseModel):
    analysis_id: str
    frame: int
    revision: int
    tracks: list[TrackAt]


def _analysis(session: Session, user: User, job_id: str):
    return handled_job(session, user, job_id, JobKind.analyze)


def _frame_in(table: TrackTable, n: int) -> int:
    if not 0 <= n < table.frames:
        raise BadInput(f"no frame {n}: the analysis has frames 0-{table.frames - 1}")
    return n


def _source_near(t: Track, n: int) -> str:
    if not t.sources:
        return "detector"
    i = int(np.clip(np.searchsorted(t.frames, n), 0, len(t.frames) - 1))
    return t.sources[min(i, len(t.sources) - 1)]


@router.get("/analyses/{job_id}/frames/{n}/tracks", response_model=FrameTracks,
            summary="The tracks at frame n with their boxes there (as render uses them): a click picks one",
            **VIEWERS)
def frame_tracks(request: Request, job_id: str, n: int, user: User = Depends(current_user),
                 session: Session = Depends(db)) -> dict:
    job = _analysis(session, user, job_id)
    table, revision = analysis_table(request, session, job)
    _frame_in(table, n)
    return {"analysis_id": job_id, "frame": n, "revision": revision,
            "tracks": [{"id": t.id, "label": t.label, "box": [round(float(v), 1) for v in box], "parent": t.parent,
                        "source": _source_near(t, n)} for t, box in tracks_at(table, n)]}


_plans: OrderedDict[tuple, dict[int, np.ndarray]] = OrderedDict()
_plans_lock = threading.Lock()


def _planned(table: TrackTable, revision_key: tuple, keep: set[int]) -> dict[int, np.ndarray]:
    """plan_masks for a (table, keep-set), kept for the next frames of the same review."""
    key = (*revision_key, tuple(sorted(keep)))
    with _plans_lock:
        plan = _plans.get(key)
    if plan is None:
        plan = plan_masks(table, keep, MaskParams())
        with _plans_lock:
            _plans[key] = plan
            while len(_plans) > 4:
                _plans.popitem(last=False)
    return plan


def _keep_set(session: Session, job_id: str, keep_set_id: int | None) -> KeepSet | None:
    if keep_set_id is not None:
        k = session.get(KeepSet, keep_set_id)
        if k is None or k.analysis_id != job_id:
            raise NotFound(f"no keep-set {keep_set_id} of analysis {job_id}")
        return k
    return session.scalar(select(KeepSet).where(KeepSet.analysis_id == job_id).order_by(KeepSet.id.desc()).limit(1))


def _jpeg(image: np.ndarray, quality: int = 85) -> Response:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise BadInput("the picture could not be encoded as JPEG")
    return Response(data.tobytes(), media_type="image/jpeg", headers=NO_STORE)


def _label(image: np.ndarray, text: str, x: float, y: float, colour) -> None:
    scale = max(0.4, image.shape[0] / 900)
    org = (int(max(0, x)), int(max(12 * scale, y - 3)))
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


@router.get("/analyses/{job_id}/frames/{n}.jpg",
            summary="Frame n as JPEG, with the planned masks (of a keep-set, by default the latest) or the track ids "
                    "drawn (logged view of footage)", **PICTURE)
def frame_jpeg(request: Request, job_id: str, n: int, overlay: Literal["masks", "tracks", "none"] = "none",
               keep_set_id: int | None = None, reason: str = Query("", max_length=2000),
               user: User = Depends(current_user), session: Session = Depends(db)) -> Response:
    job = _analysis(session, user, job_id)
    table, revision = analysis_table(request, session, job)
    _frame_in(table, n)
    source = frame_source(request, session, job, int(table.video.get("rotation", 0) or 0))
    with source.lock:
        image = source.frame(n)
    if overlay == "masks":
        k = _keep_set(session, job_id, keep_set_id)
        keep = set(k.tracks) if k else set()
        boxes = _planned(table, (job_id, revision), keep).get(n, np.zeros((0, 4), np.float32))
        STYLES["solid"](image, boxes)
        kept = expand_keep(table, keep)
        for t, box in tracks_at(table, n):
            if t.id in kept:  # what stays visible: outlined, so the reviewer sees whom the keep-set shows
                cv2.rectangle(image, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), (80, 220, 80), 2)
    elif overlay == "tracks":
        for t, box in tracks_at(table, n):
            colour = COLOURS.get(t.label, (255, 255, 255))
            cv2.rectangle(image, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), colour, 2)
            _label(image, str(t.id), box[0], box[1], colour)
    view_footage(request, session, user, job, f"frame {n}", reason)
    return _jpeg(image)


def _track(table: TrackTable, tid: int) -> Track:
    t = table.by_id().get(tid)
    if t is None or not len(t.frames):
        raise NotFound(f"no track {tid} in this analysis")
    return t


def _crop(image: np.ndarray, box: np.ndarray, pad: float = 0.3) -> np.ndarray:
    h, w = image.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x1, y1 = int(max(0, box[0] - pad * bw)), int(max(0, box[1] - pad * bh))
    x2, y2 = int(min(w, box[2] + pad * bw)), int(min(h, box[3] + pad * bh))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return np.zeros((8, 8, 3), np.uint8)
    return image[y1:y2, x1:x2]


def _fit(crop: np.ndarray, height: int) -> np.ndarray:
    s = height / crop.shape[0]
    width = max(8, min(4 * height, round(crop.shape[1] * s)))
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


@router.get("/analyses/{job_id}/tracks/{tid}/filmstrip.jpg",
            summary="Crops along a track, each labelled with its frame number (logged view of footage)", **PICTURE)
def filmstrip(request: Request, job_id: str, tid: int, count: int = Query(12, ge=1, le=48),
              height: int = Query(96, ge=32, le=256), reason: str = Query("", max_length=2000),
              user: User = Depends(current_user), session: Session = Depends(db)) -> Response:
    job = _analysis(session, user, job_id)
    table, _ = analysis_table(request, session, job)
    t = _track(table, tid)
    rows = np.unique(np.linspace(0, len(t.frames) - 1, min(count, len(t.frames))).round().astype(int))
    source = frame_source(request, session, job, int(table.video.get("rotation", 0) or 0))
    tiles = []
    with source.lock:
        for i in rows:
            n = int(t.frames[i])
            tile = _fit(_crop(source.frame(n), t.boxes[i]), height)
            band = np.zeros((18, tile.shape[1], 3), np.uint8)
            cv2.putText(band, str(n), (2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(np.vstack([tile, band]))
            tiles.append(np.zeros((height + 18, 2, 3), np.uint8))
    view_footage(request, session, user, job, f"track {tid} filmstrip", reason)
    return _jpeg(np.hstack(tiles[:-1]))


@router.get("/analyses/{job_id}/tracks/{tid}/thumbnail.jpg",
            summary="One picture of a track: its best box (logged view of footage)", **PICTURE)
def thumbnail(request: Request, job_id: str, tid: int, size: int = Query(160, ge=32, le=512),
              reason: str = Query("", max_length=2000), user: User = Depends(current_user),
              session: Session = Depends(db)) -> Response:
    job = _analysis(session, user, job_id)
    table, _ = analysis_table(request, session, job)
    t = _track(table, tid)
    frame = (t.thumbnail or {}).get("frame")
    rows = np.nonzero(t.frames == frame)[0] if frame is not None else []
    if len(rows):
        i = int(rows[0])
    else:
        area = (t.boxes[:, 2] - t.boxes[:, 0]) * (t.boxes[:, 3] - t.boxes[:, 1])
        i = int(np.argmax(area * (t.scores if len(t.scores) == len(area) else 1)))
    source = frame_source(request, session, job, int(table.video.get("rotation", 0) or 0))
    with source.lock:
        crop = _crop(source.frame(int(t.frames[i])), t.boxes[i])
    scale = size / max(crop.shape[:2])
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))))
    view_footage(request, session, user, job, f"track {tid} thumbnail", reason)
    return _jpeg(crop)
