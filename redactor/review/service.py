"""The current track table of an analysis (its latest revision), storing a new revision, and the consent record of
a face match. Every revision is a whole table stored under its own key with the recording's expiry: the analysis's
own table stays as the detectors made it, and each later one names who changed what."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redactor.base import utcnow
from redactor.errors import BadInput
from redactor.jobs import service as jobs
from redactor.jobs.models import Job, JobStatus
from redactor.review.models import FaceMatchConsent, TableRevision
from redactor.track.table import TrackTable


def latest_revision(session: Session, analysis: Job) -> TableRevision | None:
    return session.scalar(select(TableRevision).where(TableRevision.analysis_id == analysis.id)
                          .order_by(TableRevision.number.desc()).limit(1))


def table_key(session: Session, analysis: Job) -> tuple[str, int]:
    """(object key, revision number) of the table renders use now: the latest revision, else the analysis's own."""
    key = analysis.result.get("table_key")
    jobs.require_live(analysis)  # 410 once destroyed with its footage (제35조)
    if analysis.status != JobStatus.done or not key:
        raise BadInput(f"analysis {analysis.id} is not finished ({analysis.status})")
    rev = latest_revision(session, analysis)
    return (rev.table_key, rev.number) if rev is not None else (key, 0)


def read_table(store, key: str) -> TrackTable:
    from redactor.registry.footage import fetch

    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        fetch(store, key, Path(tmp.name))
        return TrackTable.load(tmp.name)


def current_table(session: Session, store, analysis: Job) -> tuple[TrackTable, int]:
    key, number = table_key(session, analysis)
    return read_table(store, key), number


def save_revision(session: Session, store, analysis: Job, table: TrackTable, based_on: int, change: str,
                  detail: dict, made_by: str) -> TableRevision:
    """Store `table` as the next revision. `based_on` is the revision it was edited from: an edit made on a table
    that changed meanwhile is refused (the reviewer sees the newer one and edits again), never merged silently."""
    from redactor.registry.models import Recording

    latest = session.scalar(select(func.max(TableRevision.number)).where(TableRevision.analysis_id == analysis.id))
    latest = latest or 0
    if latest != based_on:
        raise BadInput(f"analysis {analysis.id} changed meanwhile (revision {latest}, not {based_on}): reload it")
    number = latest + 1
    key = f"analyses/{analysis.id}.r{number}.json"
    rec = session.get(Recording, analysis.recording_id)
    expires = rec.expires_at if rec is not None else None
    if expires is None or expires <= utcnow():
        raise BadInput(f"recording {analysis.recording_id} is past its retention: its analysis is not edited")
    with tempfile.TemporaryDirectory(prefix="redactor-revision-") as tmp:
        path = Path(tmp) / "tracks.json"
        table.save(path)
        store.put(key, path, expires_at=expires, content_type="application/json")
    rev = TableRevision(analysis_id=analysis.id, number=number, table_key=key, change=change,
                        detail_json=json.dumps(detail, ensure_ascii=False), made_by=made_by, made_at=utcnow())
    session.add(rev)
    session.flush()
    return rev


def revision_json(rev: TableRevision) -> dict:
    return {"number": rev.number, "change": rev.change, "detail": rev.detail, "made_by": rev.made_by,
            "made_at": rev.made_at.isoformat()}


def record_consent(session: Session, analysis: Job, consent_by: str, note: str, recorded_by: str,
                   record: dict) -> FaceMatchConsent:
    row = FaceMatchConsent(analysis_id=analysis.id, consent_by=consent_by, note=note, recorded_by=recorded_by,
                           recorded_at=utcnow(), record_json=json.dumps(record, ensure_ascii=False))
    session.add(row)
    session.flush()
    return row


def latest_consent(session: Session, analysis_id: str) -> FaceMatchConsent | None:
    return session.scalar(select(FaceMatchConsent).where(FaceMatchConsent.analysis_id == analysis_id)
                          .order_by(FaceMatchConsent.id.desc()).limit(1))
