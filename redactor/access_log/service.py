"""Record and list footage accesses. `record` adds to the caller's session (committed with the act it logs)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.access_log.models import AccessRecord
from redactor.base import utcnow

ACTIONS = ("upload", "register", "view", "download", "analyze", "render", "release", "link", "match", "edit", "export",
           "hold", "refused", "revoke")
# A use of footage serves a request or a provision, and the row names it (not the caller's words): 제31조, 47조.
USES = ("view", "download", "analyze", "render", "release", "link", "match", "edit", "revoke")


def record(session: Session, *, actor: str, action: str, target: str, reason: str = "", role: str = "",
           client: str = "", at: dt.datetime | None = None, request_id: int | None = None,
           provision_id: int | None = None) -> AccessRecord:
    if action not in ACTIONS:
        raise ValueError(f"unknown access action {action!r}")
    if action in USES and request_id is None and provision_id is None:
        raise ValueError(f"a {action} of footage names the request or provision it serves")
    row = AccessRecord(at=at or utcnow(), actor=actor, role=role, action=action, target=target, reason=reason[:2000],
                       client=client[:64], request_id=request_id, provision_id=provision_id)
    session.add(row)
    session.flush()
    return row


def listing(session: Session, *, target: str | None = None, actor: str | None = None, since: dt.datetime | None = None,
            limit: int = 200, request_id: int | None = None, provision_id: int | None = None) -> list[AccessRecord]:
    q = select(AccessRecord).order_by(AccessRecord.id.desc()).limit(max(1, min(limit, 1000)))
    if target:
        q = q.where(AccessRecord.target == target)
    if actor:
        q = q.where(AccessRecord.actor == actor)
    if request_id is not None:
        q = q.where(AccessRecord.request_id == request_id)
    if provision_id is not None:
        q = q.where(AccessRecord.provision_id == provision_id)
    if since:
        q = q.where(AccessRecord.at >= since)
    return list(session.scalars(q))
