"""Renders: mask everything not kept, encode without audio, then the second-opinion audit (gpu queue). A render the
audit objects to is `blocked` and can never be released."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import STAFF, client_address, current_user, db, roles
from api.errors import NotFound
from api.footage import handled_job, job_listing
from api.pages import MAX_PAGE, JobOut, Page
from api.ranges import serve_object
from api.routers.analyses import queue_footage_job
from redactor.access_log.service import record
from redactor.disclosure.models import Role, User
from redactor.errors import BadInput
from redactor.jobs import service
from redactor.jobs.models import JobKind, JobStatus, KeepSet

router = APIRouter(prefix="/renders", tags=["renders"])


class NewRender(BaseModel):
    keep_set_id: int
    style: Literal["solid", "mosaic"] = "solid"
    reason: str = Field("", max_length=2000)


@router.post("", status_code=202, summary="Render a keep-set (queued: poll /api/v1/jobs/{id})",
             **roles(Role.clerk, Role.operator, Role.privacy_officer))
def create_render(request: Request, body: NewRender, user: User = Depends(current_user),
                  session: Session = Depends(db)) -> dict:
    k = session.get(KeepSet, body.keep_set_id)
    if k is None:
        raise NotFound(f"no keep-set {body.keep_set_id}")
    analysis = service.require_live(handled_job(session, user, k.analysis_id, JobKind.analyze))
    if analysis.status != JobStatus.done:
        raise BadInput(f"analysis {analysis.id} is {analysis.status}: render after it is done")
    return queue_footage_job(request, session, user, JobKind.render, {"keep_set_id": k.id, "style": body.style},
                             body.reason, analysis.recording_id, analysis.request_id, analysis.provision_id,
                             parent_id=analysis.id)


@router.get("", response_model=Page[JobOut], summary="List renders (newest first), by analysis", **roles(*STAFF))
def list_renders(analysis_id: str | None = Query(None, max_length=32), limit: int = Query(100, ge=1, le=MAX_PAGE),
                 offset: int = Query(0, ge=0), user: User = Depends(current_user),
                 session: Session = Depends(db)) -> dict:
    return job_listing(session, user, limit, offset, JobKind.render, parent_id=analysis_id)


@router.get("/{job_id}", summary="A render, its audit findings and progress", **roles(*STAFF))
def get_render(job_id: str, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    return service.to_json(handled_job(session, user, job_id, JobKind.render))


@router.get("/{job_id}/video", summary="Watch the masked render before release (logged; HTTP Range for seeking)",
            response_class=StreamingResponse, **roles(Role.clerk, Role.privacy_officer))
def video(request: Request, job_id: str, reason: str = Query("", max_length=2000), user: User = Depends(current_user),
          session: Session = Depends(db)) -> Response:
    job = service.require_live(handled_job(session, user, job_id, JobKind.render))  # 410 once destroyed
    key = job.result.get("object_key")
    if job.status != JobStatus.done or not key:
        raise NotFound(f"render {job_id} has no audited output ({job.status})")
    response = serve_object(request, request.app.state.store(), key, "video/mp4")  # fails (404/410) before a byte
    record(session, actor=user.username, role=user.role, action="view", target=f"render:{job_id}",
           reason=reason, client=client_address(request), request_id=job.request_id, provision_id=job.provision_id)
    return response
