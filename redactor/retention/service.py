"""Destroy recordings: delete the object, destroy its key, mark the row, append 파기 to the 관리대장.

The object store is reached through a `Destroyer` callback. The default (`store_destroyer`) hands object keys to
`redactor.storage.open_store().delete`, which destroys the per-object data key and then the bytes; keys that are
absolute local paths (footage registered in place) are unlinked. Tests and other back ends pass their own.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from redactor.db import utcnow
from redactor.documents.notice import kst
from redactor.ledger.entry import Kind
from redactor.ledger.service import Ledger
from redactor.registry.inplace import registered_path, unlink_registered
from redactor.registry.models import Recording
from redactor.registry.service import ensure_deletable, expired_recordings, is_held

log = logging.getLogger(__name__)

# Deletes the stored object and destroys its key. Must be idempotent: an object already gone is not an error, so a
# run interrupted between the deletion and the ledger row can be repeated.
Destroyer = Callable[[Recording], None]

SYSTEM_ROLE = "system"


def store_destroyer(store=None) -> Destroyer:
    """Destroy through the configured object store (REDACTOR_STORE), opened on first use; footage registered in
    place is unlinked (redactor.registry.inplace.unlink_registered)."""
    opened = [store]

    def destroy(recording: Recording) -> None:
        path = registered_path(recording.object_key)
        if path is not None:
            unlink_registered(path)
            return
        if opened[0] is None:
            from redactor.storage import open_store

            opened[0] = open_store()
        opened[0].delete(recording.object_key)  # destroys the data key first, then the bytes; missing is no error

    return destroy


def default_destroyer() -> Destroyer:
    return store_destroyer()


def destroy_recording(session: Session, recording: Recording, *, responsible: str = SYSTEM_ROLE,
                      reason: str = "보존기간(수집 후 최대 30일) 경과",
                      basis: str = "영상정보처리기기 운영 지침 제35조제1항",
                      destroyer: Destroyer | None = None, ledger: Ledger | None = None,
                      now: dt.datetime | None = None, ref: str = "") -> int:
    """Destroy one recording and record it; returns the 파기 entry's number. A held recording raises RecordingHeld."""
    now = now or utcnow()
    ensure_deletable(recording, now)
    # Object first, then the record: a failure in between leaves footage with no 파기 row (retried next run),
    # never a 파기 row for footage that still exists.
    (destroyer or default_destroyer())(recording)
    destroyed_at = now
    recording.destroyed_at = destroyed_at
    recording.destroyed_by = responsible
    span = f"{kst(recording.start_at)} ~ {kst(recording.end_at)}"
    number = (ledger or Ledger()).append(
        session, Kind.파기, occurred_at=destroyed_at, file=f"{recording.file_name} / 영상파일",
        officer=responsible, purpose=reason, party="", basis=basis,
        form="파기(복구 불가: 객체 삭제 및 암호키 폐기)", period=f"촬영 {span}",
        approval=responsible, ref=ref or f"recording:{recording.id}")
    session.flush()
    return number


@dataclass
class RetentionRun:
    destroyed: list[tuple[int, int]] = field(default_factory=list)  # (recording id, ledger number)
    held: list[int] = field(default_factory=list)
    due: list[Recording] = field(default_factory=list)  # what a dry run would destroy


def run(session: Session, *, now: dt.datetime | None = None, dry_run: bool = False,
        destroyer: Destroyer | None = None, responsible: str = SYSTEM_ROLE, ledger: Ledger | None = None,
        commit_each: bool = True) -> RetentionRun:
    """Destroy every recording past its expiry that is not held. Commits after each one (unless commit_each=False)."""
    now = now or utcnow()
    result = RetentionRun()
    ledger = ledger or Ledger()
    for rec in expired_recordings(session, now):
        if is_held(rec, now):
            result.held.append(rec.id)
            continue
        result.due.append(rec)
        if dry_run:
            continue
        number = destroy_recording(session, rec, responsible=responsible, destroyer=destroyer, ledger=ledger, now=now)
        if commit_each:
            session.commit()
        result.destroyed.append((rec.id, number))
        log.info("destroyed recording %s (ledger entry %s)", rec.id, number)
    return result
