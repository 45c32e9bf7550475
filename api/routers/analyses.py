"""Analyses (detect + track once, on the gpu queue), their track tables, and job progress."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from api.deps import STAFF, client_address, current_user, db, roles
from api.errors import NotFound
from api.footage import analysis_table, handled_job, job_listing
from api.pages import MAX_PAGE, JobOut, Page
from redactor.access_log.service import record
from redactor.disclosure.assignment import require_handler
from redactor.disclosure.models import DisclosureRequest, Provision, Role, User
from redactor.jobs import service
from redactor.jobs.models import JobKind, JobStatus
from redactor.registry.models import Recording

router = APIRouter(tags=["analyses"])
API_PREFIX = "/api/v1"
WORKERS = roles(Role.clerk, Role.operator, Role.privacy_officer)


class NewAnalysis(BaseModel):
    recording_id: int
    request_id: int | None = Field(None, description="the request the analysis serves (or give provision_id)")
    provision_id: int | None = Field(None, description="the provision under 제32조① it serves")
    reason: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def one_case(self) -> NewAnalysis:
        if (self.request_id is None) == (self.provision_id is None):
            raise ValueError("give exactly one of request_id or provision_id: every use of footage serves a "
                             "request or a provision (제31조)")
        return self


def submit(request: Request, session: Session, job) -> None:
    """Queue the job after its row is committed (a worker must find it)."""
    session.commit()
    request.app.state.dispatch.submit(job.id, job.kind)


def queue_footage_job(request: Request, session: Session, user: User, kind: JobKind, params: dict, reason: str,
                      recording_id: int, request_id: int | None, provision_id: int | None,
                      parent_id: str | None = None) -> dict:
    """A job that reads a recording's footage (an analysis, a render): its row, the access-log row naming the case
    it serves, the commit, then the queue. Answers the job as it was queued."""
    job = service.create(session, kind, user.username, params, recording_id=recording_id, request_id=request_id,
                         provision_id=provision_id, **({"parent_id": parent_id} if parent_id else {}))
    record(session, actor=user.username, role=user.role, action=kind.value, target=f"recording:{recording_id}",
           reason=reason, client=client_address(request), request_id=request_id, provision_id=provision_id)
    data = service.to_json(job)
    submit(request, session, job)
    return data


@router.post("/analyses", status_code=202, summary="Analyze a recording for a request or a provision (queued: poll "
                                                   "/api/v1/jobs/{id}; its assignees only)", **WORKERS)
def create_analysis(request: Request, body: NewAnalysis, user: User = Depends(current_user),
                    session: Session = Depends(db)) -> dict:
    rec = session.get(Recording, body.recording_id)
    if rec is None or rec.destroyed_at is not None:
        raise NotFound(f"no live recording {body.recording_id}")
    if body.request_id is not None and session.get(DisclosureRequest, body.request_id) is None:
        raise NotFound(f"no request {body.request_id}")
    if body.provision_id is not None and session.get(Provision, body.provision_id) is None:
        raise NotFound(f"no provision {body.provision_id}")
    require_handler(session, user, body.request_id, body.provision_id)
    return queue_footage_job(request, session, user, JobKind.analyze, {"reason": body.reason}, body.reason,
                             rec.id, body.request_id, body.provision_id)


@router.get("/analyses", response_model=Page[JobOut], summary="List analyses (newest first), by recording or request "
                                                              "(those of the cases one handles)", **roles(*STAFF))
def list_analyses(recording_id: int | None = None, request_id: int | None = None,
                  limit: int = Query(100, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0),
                  user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    return job_listing(session, user, limit, offset, JobKind.analyze, recording_id=recording_id,
                       request_id=request_id)


@router.get("/analyses/{job_id}", summary="An analysis and its progress", **roles(*STAFF))
def get_analysis(job_id: str, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    return service.to_json(handled_job(session, user, job_id, JobKind.analyze))


class TrackRow(BaseModel):
    id: int
    label: str
    first_frame: int | None
    last_frame: int | None
    frames: int
    parent: int | None
    manual: bool
    added_by: str | None
    thumbnail_url: str  # a JPEG (a logged view of the footage), not inlined here


class TrackList(BaseModel):
    analysis_id: str
    revision: int
    frames: int
    video: dict
    tracks: list[TrackRow]


@router.get("/analyses/{job_id}/tracks", response_model=TrackList,
            summary="The tracks of the table renders use (latest revision): ids, labels, frames, a thumbnail link",
            **roles(Role.clerk, Role.operator, Role.privacy_officer))
def tracks(request: Request, job_id: str, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    job = handled_job(session, user, job_id, JobKind.analyze)
    table, revision = analysis_table(request, session, job)
    base = f"{API_PREFIX}/analyses/{job_id}/tracks"
    return {"analysis_id": job_id, "revision": revision, "frames": table.frames, "video": table.video | {"path": None},
            "tracks": [{"id": t.id, "label": t.label, "first_frame": int(t.frames[0]) if len(t.frames) else None,
                        "last_frame": int(t.frames[-1]) if len(t.frames) else None, "frames": len(t.frames),
                        "parent": t.parent, "manual": "manual" in t.sources, "added_by": t.added_by,
                        "thumbnail_url": f"{base}/{t.id}/thumbnail.jpg"}
                       for t in table.tracks]}


@router.get("/jobs", response_model=Page[JobOut], summary="List jobs (newest first), by status and kind",
            **roles(*STAFF))
def list_jobs(status: JobStatus | None = None, kind: JobKind | None = None,
              limit: int = Query(100, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0),
              user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    return job_listing(session, user, limit, offset, kind, status=status)


@router.get("/jobs/{job_id}", summary="Any job's status and progress (step, frames done, total)", **roles(*STAFF))
def get_job(job_id: str, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    return service.to_json(handled_job(session, user, job_id))
