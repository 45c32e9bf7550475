"""Job rows: create, report progress, finish, fail. Running one (the claim with its lease, the step, what a failure
becomes) is redactor.jobs.runner's, apart from the steps it runs and from these rows, so none imports the other.

Idempotent by job id: a finished job returns its stored result; a job whose worker died (stale heartbeat) is taken
over and run again from the start, but only up to REDACTOR_JOB_ATTEMPTS starts in all (a clip that kills its worker
would kill every worker that takes it); a job that runs out of memory is failed at once, not retried. Each step
writes its domain rows and the job's `done` in one transaction, so a crash before that commit leaves nothing
half-done visible and a crash after it is a no-op when redelivered.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from redactor.base import utcnow
from redactor.db import session_scope
from redactor.errors import FootageDestroyed, RedactorError, scrub_paths
from redactor.jobs.models import Job, JobKind, JobStatus

log = logging.getLogger(__name__)

# Which queue a kind goes to: the expensive steps to GPU workers, the rest to CPU workers.
QUEUES: dict[str, str] = {JobKind.analyze: "gpu", JobKind.segment: "gpu", JobKind.render: "gpu", JobKind.release: "cpu",
                          JobKind.package: "cpu", JobKind.reap: "cpu"}
FINAL = (JobStatus.done, JobStatus.failed, JobStatus.blocked)


def lease_seconds() -> float:
    """A running job whose heartbeat is older than this is taken to be orphaned by a dead worker."""
    return float(os.environ.get("REDACTOR_JOB_LEASE", "60"))


def max_attempts() -> int:
    """How many times a job may be started. Read when used."""
    raw = os.environ.get("REDACTOR_JOB_ATTEMPTS", "").strip()
    try:
        return max(1, int(raw)) if raw else 3
    except ValueError:
        from redactor.config import ConfigError

        raise ConfigError(f"REDACTOR_JOB_ATTEMPTS={raw!r}: not a whole number") from None


class JobBusy(RedactorError):
    """Another live worker holds the job: try again later."""


class JobMissing(RedactorError):
    exit_code = 6


def create(session: Session, kind: JobKind | str, created_by: str, params: dict | None = None, **links) -> Job:
    job = Job(id=uuid.uuid4().hex, kind=JobKind(kind).value, status=JobStatus.queued, step="queued",
              params_json=json.dumps(params or {}, ensure_ascii=False), created_by=created_by, created_at=utcnow(),
              frames_done=0, frames_total=0, result_json="{}", error="", attempts=0, **links)
    session.add(job)
    session.flush()
    return job


def get(session: Session, job_id: str, kind: str | None = None, lock: bool = False) -> Job:
    job = session.get(Job, job_id, with_for_update=lock)
    if job is None or (kind and job.kind != kind):
        raise JobMissing(f"no {kind or ''} job {job_id}".replace("  ", " "))
    return job


def require_live(job: Job) -> Job:
    """The job, unless its output was destroyed with its footage (FootageDestroyed: HTTP 410)."""
    if job.destroyed_at is not None:
        raise FootageDestroyed(f"{job.kind} {job.id}: destroyed with its footage at {job.destroyed_at.isoformat()}")
    return job


def to_json(job: Job) -> dict:
    # the error text reaches clients: a traceback or a temporary file's path must not show where the service lives
    return {"id": job.id, "kind": job.kind, "status": job.status, "step": job.step,
            "progress": {"step": job.step, "frames_done": job.frames_done, "frames_total": job.frames_total},
            "attempts": job.attempts, "error": scrub_paths(job.error) if job.error else None, "result": job.result,
            "params": job.params,
            "recording_id": job.recording_id, "request_id": job.request_id, "provision_id": job.provision_id,
            "parent_id": job.parent_id, "created_by": job.created_by,
            "created_at": job.created_at.isoformat() if job.created_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "destroyed_at": job.destroyed_at.isoformat() if job.destroyed_at else None}


class Progress:
    """Step and frame counts written to the job row at most every `every` seconds; doubles as the heartbeat."""

    def __init__(self, job_id: str, every: float = 0.5) -> None:
        self.job_id, self.every = job_id, every
        self.step, self.done, self.total = "running", 0, 0
        self._last = 0.0

    def __call__(self, step: str | None = None, done: int | None = None, total: int | None = None,
                 force: bool = False) -> None:
        if step is not None and step != self.step:
            self.step, force = step, True
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if force or now - self._last >= self.every:
            self._last = now
            try:
                with session_scope() as s:
                    job = s.get(Job, self.job_id)
                    if job is not None and job.status == JobStatus.running:
                        job.step, job.frames_done, job.frames_total = self.step, self.done, self.total
                        job.heartbeat_at = utcnow()
            except OperationalError:  # a busy database delays a progress report; it never fails the job
                log.warning("progress of job %s not recorded (database busy)", self.job_id)


class Heartbeat:
    """The job's lease renewed from a thread of its own while its step runs (every third of the lease), so that a
    step busy for longer than the lease between two progress reports (models loading, a long upload) is not taken
    for a dead worker's and run again beside itself. It dies with the process: a killed worker's job still goes
    stale after one lease."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        try:
            self._thread.start()
        except RuntimeError:  # no thread to be had (a job process at its memory cap): progress reports still beat
            log.warning("job %s: no heartbeat thread; its lease is renewed by its progress reports only", self.job_id)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(lease_seconds() / 3):
            try:
                with session_scope() as s:
                    job = s.get(Job, self.job_id)
                    if job is not None and job.status == JobStatus.running:
                        job.heartbeat_at = utcnow()
            except OperationalError:  # a busy database delays one beat; the next comes a third of a lease later
                log.warning("heartbeat of job %s not recorded (database busy)", self.job_id)


def finish(session: Session, job: Job, result: dict, status: JobStatus = JobStatus.done, step: str = "done") -> None:
    """Mark the job finished in the caller's transaction (the one that stores its domain rows)."""
    job.status, job.step, job.finished_at = status.value, step, utcnow()
    job.result_json = json.dumps(result, ensure_ascii=False, default=str)
    if status == JobStatus.done:
        job.error = ""
        job.frames_done = max(job.frames_done, job.frames_total)
    session.flush()


def last_line(text: str | None) -> str:
    """The last non-empty line of a stored error (a traceback's is the exception itself)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def fail(job_id: str, message: str, status: JobStatus) -> None:
    with session_scope() as s:
        job = get(s, job_id)
        if job.status in FINAL:
            return
        job.error = message
        finish(s, job, {}, status, step=status.value)


def give_up(job_id: str, message: str) -> None:
    """After the last retry: the job is failed, with the reason, and nothing of it was released."""
    fail(job_id, message, JobStatus.failed)
