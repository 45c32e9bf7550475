"""Recipients' download links, stored (issue 20): who minted which link to which copy, until when; revocation; every
use counted. The URL carries 32 random bytes; the database keeps their sha256 and is the only authority (an unknown,
expired or revoked secret opens nothing), so a link can be revoked, and listed, one by one.

Who may mint: the copy's case handlers (redactor.disclosure.assignment); for a provision's copy (police 제32조①6,
courts, other agencies) only the privacy officer or the centre head, as for its package. Callers commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.base import utcnow
from redactor.disclosure.assignment import OVERSEERS, require_handler
from redactor.disclosure.models import DownloadLink, Release, Role, User
from redactor.errors import RedactorError
from redactor.storage.base import LinkInvalid


class MintRefused(RedactorError):
    """This account may not mint a link to that copy (answered 403)."""

    exit_code = 2
    rule = "provision-links"
    article = "제32조②"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def require_minter(session: Session, user: User, *, request_id: int | None, provision_id: int | None) -> None:
    if provision_id is not None and Role(user.role) not in OVERSEERS:
        raise MintRefused("only the privacy officer (총괄책임관) or the centre head opens a provision's copy to its "
                          "recipient (제32조②)")
    require_handler(session, user, request_id, provision_id)


def mint(session: Session, user: User, *, object_key: str, expires_at: dt.datetime, release: Release | None = None,
         package_job_id: str | None = None, request_id: int | None = None, provision_id: int | None = None,
         reason: str = "") -> tuple[str, DownloadLink]:
    """(the URL secret, the stored link). The secret is shown once, to its minter."""
    if release is not None:
        request_id, provision_id = release.request_id, release.provision_id
    require_minter(session, user, request_id=request_id, provision_id=provision_id)
    secret = secrets.token_urlsafe(32)
    link = DownloadLink(secret_sha256=_digest(secret), object_key=object_key,
                        release_id=release.id if release is not None else None, package_job_id=package_job_id,
                        request_id=request_id, provision_id=provision_id, minted_by=user.username,
                        minted_role=str(user.role), minted_at=utcnow(), expires_at=expires_at, reason=reason[:2000],
                        revoke_reason="", uses=0)
    session.add(link)
    session.flush()
    return secret, link


def find(session: Session, secret: str) -> DownloadLink | None:
    if not secret or len(secret) > 256:
        return None
    return session.scalar(select(DownloadLink).where(DownloadLink.secret_sha256 == _digest(secret)))


def check(link: DownloadLink | None, now: dt.datetime | None = None) -> DownloadLink:
    """The link if it opens now; LinkInvalid (410) saying why otherwise."""
    if link is None:
        raise LinkInvalid("unknown link")
    if link.revoked_at is not None:
        raise LinkInvalid("the link was revoked")
    if (now or utcnow()) >= link.expires_at:
        raise LinkInvalid("the link has expired")
    return link


def used(session: Session, link: DownloadLink) -> None:
    link.uses = (link.uses or 0) + 1
    link.last_used_at = utcnow()
    session.flush()


def revoke(session: Session, link: DownloadLink, user: User, reason: str = "") -> DownloadLink:
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by, link.revoke_reason = utcnow(), user.username, reason[:2000]
        session.flush()
    return link


def link_json(link: DownloadLink) -> dict:
    def iso(t):
        return t.isoformat() if t else None

    return {"id": link.id, "release_id": link.release_id, "package_id": link.package_job_id,
            "request_id": link.request_id, "provision_id": link.provision_id, "minted_by": link.minted_by,
            "minted_role": link.minted_role, "minted_at": iso(link.minted_at), "expires_at": iso(link.expires_at),
            "reason": link.reason, "revoked_at": iso(link.revoked_at), "revoked_by": link.revoked_by,
            "revoke_reason": link.revoke_reason, "uses": link.uses, "last_used_at": iso(link.last_used_at)}
