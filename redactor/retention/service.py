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

from redactor.base import utcnow
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
    ledger = ledger or Ledger()
    # Every copy first (track tables, renders, released copies, packages), then the footage itself.
    destroy_copies(session, recording, responsible=responsible, reason=reason, basis=basis, ledger=ledger, now=now,
                   ref=ref)
    # Object first, then the record: a failure in between leaves footage with no 파기 row (retried next run),
    # never a 파기 row for footage that still exists.
    (destroyer or default_destroyer())(recording)
    destroyed_at = now
    recording.destroyed_at = destroyed_at
    recording.destroyed_by = responsible
    span = f"{kst(recording.start_at)} ~ {kst(recording.end_at)}"
    number = ledger.append(
        session, Kind.파기, occurred_at=destroyed_at, file=f"{recording.file_name} / 영상파일",
        officer=responsible, purpose=reason, party="", basis=basis,
        form="파기(복구 불가: 객체 삭제 및 암호키 폐기)", period=f"촬영 {span}",
        approval=responsible, ref=ref or f"recording:{recording.id}")
    session.flush()
    return number


# What each kind of derived copy is, as the 파기 row's 파일명/형태 names it.
COPY_FORMS = {"analyze": "분석 결과 (트랙 표·얼굴 썸네일)", "render": "마스킹 영상 (검토용)",
              "release": "열람·제공 사본", "package": "인계 꾸러미"}


class ObjectStoreDeleter:
    """Deletes derived copies through the configured object store, opened only when there is something to delete."""

    def __init__(self, store=None) -> None:
        self._store = store

    @property
    def store(self):
        if self._store is None:
            from redactor.storage import open_store

            self._store = open_store()
        return self._store

    def __call__(self, key: str) -> bool:
        """Destroy one object (its data key, then its bytes); False when it was already gone."""
        if not self.store.exists(key):
            return False
        self.store.delete(key)
        return True


def destroy_copies(session: Session, recording: Recording, *, responsible: str, reason: str, basis: str,
                   now: dt.datetime, ledger: Ledger | None = None, ref: str = "",
                   delete: Callable[[str], bool] | None = None) -> list[int]:
    """Destroy every object derived from the recording's footage: the analyses' track tables (with their thumbnails
    of faces), the renders, the released copies and the handover packages. Each destroyed object is its own 파기 row;
    the jobs and releases are marked destroyed (their routes answer 410) and unfinished jobs on the footage are
    stopped. An object already gone (its own expiry came first: the reaper recorded that 파기) is only marked.
    Returns the new entries' numbers."""
    from sqlalchemy import select

    from redactor.disclosure.models import HandoverPackage, Release
    from redactor.jobs.models import Job, JobStatus
    from redactor.review.models import TableRevision

    ledger = ledger or Ledger()
    delete = delete or ObjectStoreDeleter()
    span = f"{kst(recording.start_at)} ~ {kst(recording.end_at)}"
    numbers: list[int] = []
    done_keys: set[str] = set()

    def destroy(key: str, form: str, copy_ref: str) -> None:
        if key in done_keys:
            return
        done_keys.add(key)
        if not delete(key):
            return
        numbers.append(ledger.append(
            session, Kind.파기, occurred_at=now, file=f"{key.rsplit('/', 1)[-1]} / {form}", officer=responsible,
            purpose=f"{reason} (원본 영상과 함께 파생 사본 파기)", party="", basis=basis,
            form="파기(복구 불가: 객체 삭제 및 암호키 폐기)", period=f"촬영 {span}", approval=responsible,
            ref=" ".join(x for x in (ref or f"recording:{recording.id}", copy_ref) if x)))

    releases = list(session.scalars(select(Release).where(Release.recording_id == recording.id)))
    packages = list(session.scalars(select(HandoverPackage).where(
        HandoverPackage.release_id.in_([r.id for r in releases])))) if releases else []

    def package_form(pkg: HandoverPackage) -> str:
        if pkg.handed_over_at is None:
            return f"{COPY_FORMS['package']} (인계 전)"
        return f"{COPY_FORMS['package']} (보관 사본; 인계된 사본은 수령자의 파기 확인 대상, 제35조③)"

    for pkg in packages:
        if pkg.stored_copy_destroyed_at is None:
            destroy(pkg.object_key, package_form(pkg), f"package:{pkg.job_id}")
            pkg.stored_copy_destroyed_at = now
    for job in session.scalars(select(Job).where(Job.recording_id == recording.id).order_by(Job.created_at)
                               .with_for_update()):
        if job.status in (JobStatus.queued, JobStatus.running):
            # a worker that finishes later finds its job stopped and deletes what it stored
            job.status, job.step, job.finished_at = JobStatus.failed.value, "failed", now
            job.error = "the footage was destroyed (제35조): this job was stopped"
        key = job.result.get("object_key") or job.result.get("table_key") or job.object_key
        if job.destroyed_at is None and key:
            destroy(key, COPY_FORMS.get(job.kind, "파생 사본"), f"{job.kind}:{job.id}")
            if job.kind == "analyze":  # the reviewer's edited tables hold the same thumbnails
                for rev in session.scalars(select(TableRevision).where(TableRevision.analysis_id == job.id)):
                    destroy(rev.table_key, f"{COPY_FORMS['analyze']} 검토 수정본 {rev.number}",
                            f"analyze:{job.id}.r{rev.number}")
            job.destroyed_at = now
    for rel in releases:
        if rel.destroyed_at is None:
            destroy(rel.object_key, COPY_FORMS["release"], f"release:{rel.id}")
            rel.destroyed_at = now
    session.flush()
    return numbers


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
