"""Review: the keep-set, i.e. which tracks stay visible (the requester's), who chose them and why."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import STAFF, current_user, db, roles
from api.errors import NotFound
from api.footage import analysis_table, handled_job
from redactor.base import utcnow
from redactor.disclosure.models import Role, User
from redactor.errors import BadInput
from redactor.jobs.models import JobKind, KeepSet

router = APIRouter(tags=["reviews"])


class NewKeepSet(BaseModel):
    track_ids: list[int] = Field(default_factory=list, max_length=1000, description="tracks that stay visible")
    reason: str = Field("", max_length=2000)


def keep_set_json(k: KeepSet) -> dict:
    return {"id": k.id, "analysis_id": k.analysis_id, "track_ids": k.tracks, "reason": k.reason,
            "chosen_by": k.chosen_by, "chosen_at": k.chosen_at.isoformat()}


@router.post("/analyses/{job_id}/keep-sets", status_code=201, summary="Choose the tracks that stay visible",
             **roles(Role.clerk, Role.privacy_officer))
def create_keep_set(request: Request, job_id: str, body: NewKeepSet, user: User = Depends(current_user),
                    session: Session = Depends(db)) -> dict:
    job = handled_job(session, user, job_id, JobKind.analyze)
    table, _ = analysis_table(request, session, job)  # the latest revision: manual tracks can be kept too
    unknown = set(body.track_ids) - {t.id for t in table.tracks}
    if unknown:
        raise BadInput(f"no track {', '.join(map(str, sorted(unknown)))} in analysis {job_id}")
    k = KeepSet(analysis_id=job_id, track_ids=json.dumps(sorted(set(body.track_ids))), reason=body.reason,
                chosen_by=user.username, chosen_at=utcnow())
    session.add(k)
    session.flush()
    return keep_set_json(k)


@router.get("/keep-sets/{keep_set_id}", summary="One keep-set", **roles(*STAFF))
def get_keep_set(keep_set_id: int, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    k = session.get(KeepSet, keep_set_id)
    if k is None:
        raise NotFound(f"no keep-set {keep_set_id}")
    handled_job(session, user, k.analysis_id, JobKind.analyze)
    return keep_set_json(k)
