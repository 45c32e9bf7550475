"""Proposing the requester's tracks from their photo, with their consent: the photo's face is compared with the face
tracks of the analysis (SFace, redactor.identify.propose), best proposal first; the consent (who gave it, who
recorded it, the photo's hash, the result) is stored. The photo and its embedding are never stored."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import current_user, db, roles
from api.footage import analysis_table, handled_job, view_footage
from redactor.disclosure.models import Role, User
from redactor.errors import BadInput
from redactor.identify.embeddings import MIN_FACE_PX, has_embeddings
from redactor.identify.propose import consent_record, embed_photo, propose
from redactor.jobs.models import JobKind
from redactor.review.service import record_consent

router = APIRouter(tags=["review"])
PHOTO_LIMIT = 15 << 20  # a phone's photo; api.middleware.BodyLimit lets this route's body be as large


class Proposal(BaseModel):
    track_ids: list[int]  # the matching face tracks with their people (what a keep-set keeps)
    score: float
    scores: dict[int, float]  # per face track


class Consent(BaseModel):
    id: int
    consent_by: str
    note: str
    recorded_by: str
    recorded_at: str
    record: dict[str, Any]


class Proposals(BaseModel):
    analysis_id: str
    revision: int
    proposals: list[Proposal]
    consent: Consent


@router.post("/analyses/{job_id}/proposals", response_model=Proposals,
             summary="Propose the requester's tracks from their photo (given with their consent, which is recorded)",
             **roles(Role.clerk, Role.privacy_officer))
def proposals(request: Request, job_id: str,
              photo: Annotated[UploadFile, File(description="a photo of the requester's face")],
              consent_by: Annotated[str, Form(min_length=1, max_length=128,
                                              description="who consented to the face match (the requester)")],
              consent_note: Annotated[str, Form(max_length=2000)] = "",
              user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    job = handled_job(session, user, job_id, JobKind.analyze)
    table, revision = analysis_table(request, session, job)
    data = photo.file.read(PHOTO_LIMIT + 1)
    if len(data) > PHOTO_LIMIT:
        raise BadInput(f"the photo is larger than {PHOTO_LIMIT >> 20} MiB")
    with tempfile.TemporaryDirectory(prefix="redactor-photo-") as tmp:
        path = Path(tmp) / "photo"
        path.write_bytes(data)
        try:
            ref = embed_photo(path)
        except BadInput as err:  # its message names the temporary file: name the photo instead
            raise BadInput(str(err).replace(str(path), "the photo")) from None
    if not has_embeddings(table):
        raise BadInput(f"no face in this clip is large enough to compare with a photo (at least {MIN_FACE_PX} px "
                       "tall): pick the requester's tracks on a frame instead")
    found = propose(table, ref.embedding)
    by_id = table.by_id()
    out = []
    for p in found:
        ids = set(p.tracks) | {by_id[i].parent for i in p.tracks if by_id[i].parent in by_id}
        out.append({"track_ids": sorted(ids), "score": round(p.score, 3),
                    "scores": {int(k): float(v) for k, v in p.scores.items()}})
    record = consent_record(ref, found[0] if found else None, consent_by) | {"recorded_by": user.username,
                                                                              "note": consent_note}
    row = record_consent(session, job, consent_by, consent_note, user.username, record)
    # the comparison uses the faces of the footage: a use of it, logged (never the requester's name)
    view_footage(request, session, user, job, f"face match, consent {row.id}", action="match")
    return {"analysis_id": job_id, "revision": revision, "proposals": out,
            "consent": {"id": row.id, "consent_by": row.consent_by, "note": row.note, "recorded_by": row.recorded_by,
                        "recorded_at": row.recorded_at.isoformat(), "record": row.record}}
