"""Analyses (detect + track once, on the gpu queue), their track tables, and job progress."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import STAFF, client_address, current_user, db, roles
from api.errors import NotFound
from redactor.access_log.service import record
from redactor.disclosure.models import DisclosureRequest, Role, User
from redactor.jobs import service
from redactor.jobs.models import JobKind
from redactor.jobs.steps import load_table
from redactor.registry.models import Recording

router = APIRouter(tags=["analyses"])
WORKERS = roles(Role.clerk, Role.operator, Role.privacy_officer)


class NewAnalysis(BaseModel):
    recording_id: int
    request_id: int | None = None
    reason: str = Field("", max_length=2000)


def submit(request: Request, session: Session, job) -> None:
    """Queue the job after its row is committed (a worker must find it)."""
    session.commit()
    request.app.state.dispatch.submit(job.id, job.kind)


@router.post("/analyses", status_code=202, summary="Analyze a recording (queued: poll /api/v1/jobs/{id})", **WORKERS)
def create_analysis(request: Request, body: NewAnalysis, user: User = Depends(current_user),
                    session: Session = Depends(db)) -> dict:
    rec = session.get(Recording, body.recording_id)
    if rec is None or rec.destroyed_at is not None:
        raise NotFound(f"no live recording {body.recording_id}")
    if body.request_id is not None and session.get(DisclosureRequest, body.request_id) is None:
        raise NotFound(f"no request {body.request_id}")
    job = service.create(session, JobKind.analyze, user.username, {"reason": body.reason},
                         recording_id=rec.id, request_id=body.request_id)
    record(session, actor=user.username, role=user.role, action="analyze", target=f"recording:{rec.id}",
           reason=body.reason or (f"request:{body.request_id}" if body.request_id else ""),
           client=client_address(request))
    data = service.to_json(job)
    submit(request, session, job)
    return data


@router.get("/analyses/{job_id}", summary="An analysis and its progress", **roles(*STAFF))
def get_analysis(job_id: str, session: Session = Depends(db)) -> dict:
    return service.to_json(service.get(session, job_id, JobKind.analyze))


@router.get("/analyses/{job_id}/tracks", summary="The tracks found (ids, labels, frames, a thumbnail each)",
            **roles(Role.clerk, Role.operator, Role.privacy_officer))
def tracks(request: Request, job_id: str, reason: str = "", with_thumbnails: bool = True,
           user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    job = service.get(session, job_id, JobKind.analyze)
    table = load_table(request.app.state.store(), job)
    # thumbnails are pictures of people: looking at them is a view of footage
    record(session, actor=user.username, role=user.role, action="view", target=f"analysis:{job_id}",
           reason=reason or (f"request:{job.request_id}" if job.request_id else "검토"), client=client_address(request))
    return {"analysis_id": job_id, "frames": table.frames, "video": table.video | {"path": None},
            "tracks": [{"id": t.id, "label": t.label, "first_frame": int(t.frames[0]) if len(t.frames) else None,
                        "last_frame": int(t.frames[-1]) if len(t.frames) else None, "frames": len(t.frames),
                        "parent": t.parent, "thumbnail": t.thumbnail if with_thumbnails else None}
                       for t in table.tracks]}


@router.get("/jobs/{job_id}", summary="Any job's status and progress (step, frames done, total)", **roles(*STAFF))
def get_job(job_id: str, session: Session = Depends(db)) -> dict:
    return service.to_json(service.get(session, job_id))
