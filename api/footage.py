"""Footage access from the review routes: who may look at an analysis's pictures (the assignment rule of
redactor.disclosure.assignment, called from here), the access-log row every look leaves, and the frame source of
the analysis's recording."""

from __future__ import annotations

import threading
from collections import OrderedDict

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import client_address
from api.errors import NotFound
from api.pages import page
from redactor.access_log.service import record
from redactor.disclosure.assignment import handled_jobs, require_job_handler
from redactor.disclosure.models import User
from redactor.errors import BadInput
from redactor.jobs import service
from redactor.jobs.models import Job, JobKind
from redactor.registry.models import Recording
from redactor.review.frames import FrameSource, recording_opener, sources
from redactor.review.service import read_table, table_key
from redactor.track.table import TrackTable


def authorize_footage(session: Session, user: User, job: Job) -> None:
    """May `user` reach the footage behind `job` (an analysis, a render, a release or package job)? The route's role
    check has passed; this is the per-case one (제31조): its assignees, the privacy officer, the centre head."""
    require_job_handler(session, user, job)


def handled_job(session: Session, user: User, job_id: str, kind: JobKind | None = None) -> Job:
    """The job, once `user` may reach it (404 for no such job, 403 for one of a case they do not handle)."""
    job = service.get(session, job_id, kind)
    authorize_footage(session, user, job)
    return job


def job_listing(session: Session, user: User, limit: int, offset: int, kind: JobKind | None = None,
                **equal: object) -> dict:
    """One page of the jobs `user` handles (redactor.disclosure.assignment), newest first, of `kind` and with each
    column in `equal` equal to its value where that value is given."""
    q = select(Job).where(handled_jobs(session, user)).order_by(Job.created_at.desc(), Job.id)
    if kind is not None:
        q = q.where(Job.kind == kind)
    for column, value in equal.items():
        if value is not None:
            q = q.where(getattr(Job, column) == value)
    return page(session, q, limit, offset, service.to_json)


def view_footage(request: Request, session: Session, user: User, job: Job, what: str, reason: str = "",
                 action: str = "view") -> None:
    """Authorize, then log, one look at (or use of) the footage: `what` names the picture, never a person. The row
    names the request or provision from the job itself; the caller's words are only a note beside it."""
    authorize_footage(session, user, job)
    record(session, actor=user.username, role=user.role, action=action, target=f"analysis:{job.id}",
           reason=(f"{what}: {reason}" if reason else what)[:2000], client=client_address(request),
           request_id=job.request_id, provision_id=job.provision_id)


def frame_source(request: Request, session: Session, analysis: Job, rotation: int = 0) -> FrameSource:
    rec = session.get(Recording, analysis.recording_id)
    if rec is None or rec.destroyed_at is not None:
        raise NotFound(f"the recording of analysis {analysis.id} is destroyed")
    store = request.app.state.store()
    try:
        return sources.get(rec.object_key, recording_opener(store, rec.object_key, rec.size_bytes), rotation)
    except BadInput:
        sources.forget(rec.object_key)
        raise


_tables: OrderedDict[str, TrackTable] = OrderedDict()
_tables_lock = threading.Lock()


def analysis_table(request: Request, session: Session, analysis: Job) -> tuple[TrackTable, int]:
    """The table renders use now (latest revision) and its revision number. Each revision lives under its own key
    and is never rewritten, so a few recent ones are kept parsed (a console asks for many frames of one table)."""
    key, number = table_key(session, analysis)
    with _tables_lock:
        table = _tables.get(key)
        if table is not None:
            _tables.move_to_end(key)
    if table is None:
        table = read_table(request.app.state.store(), key)
        with _tables_lock:
            _tables[key] = table
            while len(_tables) > 4:
                _tables.popitem(last=False)
    return table, number  # shared: callers that edit it copy it first (redactor.track.edits does)
