"""Recipients' downloads through stored links (redactor.disclosure.links), served by the API, which decrypts the
sealed object as it streams; and the staff's view of the links: list, revoke. Used for both back ends: an S3
presigned URL would hand out ciphertext (the store seals every object with its own data key), so the S3 store's own
presigned links stay for transfers between the service's parts.

The link's address starts with the configured public URL (REDACTOR_PUBLIC_URL; `redactor serve` defaults it to its
own --host and --port), never with what a request's Host header says. Every use of a link, and every failed one, is
a row of the access log."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import client_address, current_user, db, roles
from api.errors import NotFound
from api.ranges import serve_object
from redactor.access_log.service import record
from redactor.disclosure import links
from redactor.disclosure.assignment import handled_clause, require_handler
from redactor.disclosure.models import DownloadLink, Release, Role, User
from redactor.disclosure.service import mark_handed_over
from redactor.errors import RedactorError
from redactor.storage import LinkInvalid
from redactor.storage.base import link_lifetime, utcnow

router = APIRouter(tags=["downloads"])
staff_router = APIRouter(prefix="/links", tags=["links"])
LINK_READERS = roles(Role.privacy_officer, Role.center_head, Role.clerk, Role.auditor)


def public_base(request: Request) -> str:
    base = request.app.state.settings.public_url
    return base or "http://127.0.0.1:8000"  # the documented default address, not the caller's Host


def mint_download(request: Request, session: Session, user: User, key: str, lifetime: dt.timedelta, *,
                  release: Release | None = None, package_job_id: str | None = None,
                  provision_id: int | None = None, reason: str = "") -> tuple[str, DownloadLink]:
    """A stored link to `key` and its URL; refused (403) for who may not open that copy to its recipient."""
    store = request.app.state.store()
    now = utcnow()
    until = now + link_lifetime(store.expiry(key), lifetime, now)
    secret, link = links.mint(session, user, object_key=key, expires_at=until, release=release,
                              package_job_id=package_job_id, provision_id=provision_id, reason=reason)
    return f"{public_base(request)}/objects/{secret}", link


@router.get("/objects/{token}", summary="Download through an expiring link (no account; every use is logged)",
            response_class=StreamingResponse)
def download(request: Request, token: str, session: Session = Depends(db)) -> Response:
    store = request.app.state.store()
    link = links.find(session, token)
    try:
        links.check(link)
        name = link.object_key.rsplit("/", 1)[-1]
        # fails (410/404) before any byte is sent; a player's seek asks for a range and decrypts only its chunks
        response = serve_object(request, store, link.object_key,
                                "video/mp4" if name.endswith(".mp4") else "application/octet-stream",
                                {"Content-Disposition": f'attachment; filename="{name}"'})
    except (RedactorError, LinkInvalid) as err:
        # a failed use is logged too (committed here: the error answer rolls the request's transaction back)
        target = f"link:{link.id}" if link is not None else "link:unknown"
        record(session, actor="link", action="refused", target=target, reason=f"다운로드 거부: {err}"[:2000],
               client=client_address(request), request_id=link.request_id if link else None,
               provision_id=link.provision_id if link else None)
        session.commit()
        raise
    if link.package_job_id is not None:
        mark_handed_over(session, link.object_key)  # a package's first download is its handover
    links.used(session, link)
    target = f"release:{link.release_id}" if link.release_id else f"package:{link.package_job_id}"
    span = request.headers.get("range")
    record(session, actor=f"link:{link.id}", action="download", target=target,
           reason="수령인 다운로드 (저장된 링크)" + (" (부분 요청)" if span else ""), client=client_address(request),
           request_id=link.request_id, provision_id=link.provision_id)
    session.commit()
    return response


class Revocation(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def _readable(session: Session, user: User, link: DownloadLink) -> None:
    if Role(user.role) != Role.auditor:
        require_handler(session, user, link.request_id, link.provision_id)


@staff_router.get("", summary="Download links (newest first), by release or package: who minted them, expiry, "
                              "revocation, uses", **LINK_READERS)
def list_links(release_id: int | None = None, package_id: str | None = Query(None, max_length=32),
               limit: int = Query(100, ge=1, le=500), user: User = Depends(current_user),
               session: Session = Depends(db)) -> list[dict]:
    q = select(DownloadLink).order_by(DownloadLink.id.desc()).limit(limit)
    if release_id is not None:
        q = q.where(DownloadLink.release_id == release_id)
    if package_id is not None:
        q = q.where(DownloadLink.package_job_id == package_id)
    if Role(user.role) != Role.auditor:
        q = q.where(handled_clause(session, user, DownloadLink.request_id, DownloadLink.provision_id))
    return [links.link_json(x) for x in session.scalars(q)]


@staff_router.get("/{link_id}", summary="One download link", **LINK_READERS)
def get_link(link_id: int, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    link = session.get(DownloadLink, link_id)
    if link is None:
        raise NotFound(f"no link {link_id}")
    _readable(session, user, link)
    return links.link_json(link)


@staff_router.post("/{link_id}/revoke", summary="Revoke a download link at once (logged)",
                   **roles(Role.privacy_officer, Role.center_head, Role.clerk))
def revoke_link(request: Request, link_id: int, body: Revocation, user: User = Depends(current_user),
                session: Session = Depends(db)) -> dict:
    link = session.get(DownloadLink, link_id)
    if link is None:
        raise NotFound(f"no link {link_id}")
    require_handler(session, user, link.request_id, link.provision_id)
    links.revoke(session, link, user, body.reason)
    record(session, actor=user.username, role=user.role, action="revoke", target=f"link:{link.id}",
           reason=body.reason, client=client_address(request), request_id=link.request_id,
           provision_id=link.provision_id)
    return links.link_json(link)
