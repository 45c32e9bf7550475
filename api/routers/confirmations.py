"""Confirming the requester by hand where the identity guard masked kept frames as unverifiable (the render report's
`masked_for_identity`): the clerk looks at those frames and, seeing the requester, confirms the range; the next
render of the keep-set shows the kept tracks there (redactor.identify.confirm). A confirmation never overrides
SFace: a face matched to someone else stays masked."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import STAFF, client_address, current_user, db, roles
from api.errors import NotFound
from api.footage import handled_job
from redactor.access_log.service import record
from redactor.disclosure.models import Role, User
from redactor.identify.confirm import confirm_frames, confirmations_for
from redactor.jobs.models import JobKind, KeepSet

router = APIRouter(tags=["reviews"])


class NewConfirmation(BaseModel):
    first: int = Field(ge=0, description="first frame of the range (inclusive)")
    last: int = Field(ge=0, description="last frame of the range (inclusive)")
    track: int | None = Field(None, description="the kept track confirmed (none: every kept track there)")
    note: str = Field("", max_length=2000)


def _keep_set(session: Session, keep_set_id: int) -> KeepSet:
    k = session.get(KeepSet, keep_set_id)
    if k is None:
        raise NotFound(f"no keep-set {keep_set_id}")
    return k


@router.post("/keep-sets/{keep_set_id}/confirmations", status_code=201,
             summary="Confirm the requester in frames the identity guard masked (the next render shows them)",
             **roles(Role.clerk, Role.privacy_officer))
def confirm(request: Request, keep_set_id: int, body: NewConfirmation, user: User = Depends(current_user),
            session: Session = Depends(db)) -> dict:
    k = _keep_set(session, keep_set_id)
    analysis = handled_job(session, user, k.analysis_id, JobKind.analyze)  # 제31조: its handlers only
    frames = (analysis.result or {}).get("frames")
    row = confirm_frames(session, keep_set_id, body.first, body.last, user.username, body.note, track=body.track,
                         frames=int(frames) if frames else None)
    # an edit of the review (the access log's word for it), naming what was confirmed
    record(session, actor=user.username, role=user.role, action="edit", target=f"analysis:{analysis.id}",
           reason=f"신원 확인: keep-set {keep_set_id}, frames {body.first}-{body.last}"
                  + (f" ({body.note})" if body.note else ""), client=client_address(request),
           request_id=analysis.request_id, provision_id=analysis.provision_id)
    return row.to_json()


@router.get("/keep-sets/{keep_set_id}/confirmations", summary="A keep-set's confirmations, oldest first",
            **roles(*STAFF))
def list_confirmations(keep_set_id: int, user: User = Depends(current_user), session: Session = Depends(db)
                       ) -> list[dict]:
    handled_job(session, user, _keep_set(session, keep_set_id).analysis_id, JobKind.analyze)
    return confirmations_for(session, keep_set_id)
