"""Footage access from the review routes: who may look at an analysis's pictures (one function, so that a
per-request assignment rule replaces it in one place), the access-log row every look leaves, and the frame source
of the analysis's recording."""

from __future__ import annotations

import threading
from collections import OrderedDict

from fastapi import Request
from sqlalchemy.orm import Session

from api.deps import client_address
from api.errors import NotFound
from redactor.access_log.service import record
from redactor.disclosure.models import User
from redactor.errors import BadInput
from redactor.jobs.models import Job
from redactor.registry.models import Recording
from redactor.review.frames import FrameSource, recording_opener, sources
from redactor.review.service import read_table, table_key
from redactor.track.table import TrackTable


def authorize_footage(session: Session, user: User, job: Job) -> None:
    """May `user` see the footage behind `job`? The route's role check has passed; a per-request assignment check
    (who handles which request) belongs here, and only here."""


def view_footage(request: Request, session: Session, user: User, job: Job, what: str, reason: str = "",
                 action: str = "view") -> None:
    """Authorize, then log, one look at (or use of) the footage: `what` names the picture, never a person."""
    authorize_footage(session, user, job)
    basis = reason or (f"request:{job.request_id}" if job.request_id else "검토")
    record(session, actor=user.username, role=user.role, action=action, target=f"analysis:{job.id}",
           reason=f"{basis} ({what})"[:2000], client=client_address(request))


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
