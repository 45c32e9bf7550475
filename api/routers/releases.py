"""Releases: an audited render, watermarked (visible + forensic, naming the ledger entry), stored with its expiry,
recorded in the 관리대장; the recipient downloads through an expiring signed link, without an account.

Whether a render may go to a request or a provision is decided here, on the POST, by the disclosure rules
(`check_release`): a refusal is a 409 naming the rule and its article, and no job is queued."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import client_address, current_user, db, roles
from api.errors import NotFound
from api.footage import handled_job
from api.links import mint_download
from api.pages import MAX_PAGE, Page, page
from api.routers.analyses import submit
from redactor.access_log.service import record
from redactor.disclosure.assignment import handled_clause, require_handler
from redactor.disclosure.models import DisclosureRequest, Provision, Release, Role, User
from redactor.disclosure.service import check_release
from redactor.errors import FootageDestroyed
from redactor.jobs import service
from redactor.jobs.models import JobKind

router = APIRouter(prefix="/releases", tags=["releases"])


class NewRelease(BaseModel):
    render_id: str = Field(min_length=1, max_length=32)
    request_id: int | None = None
    provision_id: int | None = None
    expires_days: int = Field(7, ge=1, le=30, description="how long the copy and its links live")

    @model_validator(mode="after")
    def one_basis(self) -> NewRelease:
        if (self.request_id is None) == (self.provision_id is None):
            raise ValueError("give exactly one of request_id (a data subject's request) or provision_id (제32조)")
        return self


class NewLink(BaseModel):
    hours: int = Field(24, ge=1, le=720)
    reason: str = Field("", max_length=2000)


def release_json(r: Release) -> dict:
    return {"id": r.id, "request_id": r.request_id, "provision_id": r.provision_id, "form": r.form,
            "released_at": r.released_at.isoformat(), "released_by": r.released_by,
            "expires_at": r.expires_at.isoformat() if r.expires_at else None, "ledger_number": r.ledger_number,
            "destroyed_at": r.destroyed_at.isoformat() if r.destroyed_at else None}


@router.post("", status_code=202, summary="Release an audited render (queued: watermark, store, ledger row)",
             description="Refused at once (409, with `rule` and `article`) when the law or the request does not "
                         "allow it: no grant (제33조③) or no approval (제32조②③); footage of another camera or "
                         "outside the period asked for; someone kept visible in an anonymised provision "
                         "(제32조①4) or kept for another requester (표준지침 44조). 410 once the footage is destroyed.",
             **roles(Role.privacy_officer, Role.center_head))
def create_release(request: Request, body: NewRelease, user: User = Depends(current_user),
                   session: Session = Depends(db)) -> dict:
    render = handled_job(session, user, body.render_id, JobKind.render)
    req = prov = None
    if body.request_id is not None and (req := session.get(DisclosureRequest, body.request_id)) is None:
        raise NotFound(f"no request {body.request_id}")
    if body.provision_id is not None and (prov := session.get(Provision, body.provision_id)) is None:
        raise NotFound(f"no provision {body.provision_id}")
    check_release(session, render, request=req, provision=prov)
    job = service.create(session, JobKind.release, user.display_name or user.username,
                         {"render_id": render.id, "expires_days": body.expires_days},
                         recording_id=render.recording_id, request_id=body.request_id,
                         provision_id=body.provision_id, parent_id=render.id)
    data = service.to_json(job)
    submit(request, session, job)
    return data


class ReleaseOut(BaseModel):
    id: int
    request_id: int | None
    provision_id: int | None
    form: str
    released_at: str
    released_by: str
    expires_at: str | None
    ledger_number: int | None


@router.get("", response_model=Page[ReleaseOut], summary="List releases (newest first), by request or provision",
            **roles(Role.privacy_officer, Role.center_head, Role.clerk, Role.auditor))
def list_releases(request_id: int | None = None, provision_id: int | None = None,
                  limit: int = Query(100, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0),
                  user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    q = select(Release).order_by(Release.id.desc())
    if Role(user.role) == Role.clerk:  # a clerk sees the releases of the cases they handle
        q = q.where(handled_clause(session, user, Release.request_id, Release.provision_id))
    if request_id is not None:
        q = q.where(Release.request_id == request_id)
    if provision_id is not None:
        q = q.where(Release.provision_id == provision_id)
    return page(session, q, limit, offset, release_json)


@router.get("/{release_id}", summary="One release", **roles(Role.privacy_officer, Role.center_head, Role.clerk,
                                                             Role.auditor))
def get_release(release_id: int, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    rel = session.get(Release, release_id)
    if rel is None:
        raise NotFound(f"no release {release_id}")
    if Role(user.role) == Role.clerk:
        require_handler(session, user, rel.request_id, rel.provision_id)
    return release_json(rel)


@router.post("/{release_id}/links", status_code=201, summary="An expiring download link for the recipient (stored, "
             "logged; a provision's copy: the privacy officer or the centre head only)",
             **roles(Role.privacy_officer, Role.center_head, Role.clerk))
def create_link(request: Request, release_id: int, body: NewLink, user: User = Depends(current_user),
                session: Session = Depends(db)) -> dict:
    rel = session.get(Release, release_id)
    if rel is None:
        raise NotFound(f"no release {release_id}")
    if rel.destroyed_at is not None:
        raise FootageDestroyed(f"release {rel.id}: its copy was destroyed with its footage "
                               f"({rel.destroyed_at.isoformat()})")
    hours = min(body.hours, request.app.state.settings.link_hours_max)
    url, link = mint_download(request, session, user, rel.object_key, dt.timedelta(hours=hours), release=rel,
                              reason=body.reason)
    record(session, actor=user.username, role=user.role, action="link", target=f"release:{rel.id}",
           reason=f"link:{link.id}" + (f" ({body.reason})" if body.reason else ""), client=client_address(request),
           request_id=rel.request_id, provision_id=rel.provision_id)
    return {"url": url, "expires_at": link.expires_at.isoformat(), "release_id": rel.id, "link_id": link.id}
