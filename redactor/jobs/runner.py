"""Running one job: `run_job(job_id)` is the one entry point that a Celery task and the embedded worker's child
process both call. It claims the job row (with a lease, so a redelivered task never runs beside a live one), runs
its step (redactor.jobs.steps) and turns what the step raised into the job's state.

Idempotent by job id: a finished job returns its stored result; a job whose worker died (stale heartbeat) is taken
over and run again from the start, but only up to REDACTOR_JOB_ATTEMPTS starts in all (a clip that kills its worker
would kill every worker that takes it); a job that runs out of memory is failed at once, not retried. Each step
writes its domain rows and the job's `done` in one transaction, so a crash before that commit leaves nothing
half-done visible and a crash after it is a no-op when redelivered.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable

from redactor.base import utcnow
from redactor.db import session_scope
from redactor.errors import AuditObjection, RedactorError
from redactor.jobs import service
from redactor.jobs.models import Job, JobStatus
from redactor.jobs.service import JobBusy
from redactor.jobs.steps import STEPS, wake_parent

log = logging.getLogger("redactor.jobs.service")


def _claim(job_id: str) -> tuple[Job, bool]:
    """(job, True) when this caller now runs it; (job, False) when it is already finished."""
    with session_scope() as s:
        job = service.get(s, job_id, lock=True)
        if job.status in service.FINAL:
            return job, False
        now = utcnow()
        if job.status == JobStatus.running and job.heartbeat_at and \
                now - job.heartbeat_at < dt.timedelta(seconds=service.lease_seconds()):
            raise JobBusy(f"job {job_id} is running on another worker (heartbeat {job.heartbeat_at.isoformat()})")
        if job.attempts >= service.max_attempts():
            # Every earlier start ended without finishing (its worker was killed, ran out of memory, or the machine
            # restarted): not resumed blindly once more.
            last = (service.last_line(job.error)
                    or "its worker stopped without a word (killed, out of memory or restarted)")
            job.error = f"not run again after {job.attempts} starts (REDACTOR_JOB_ATTEMPTS); the last: {last}"
            service.finish(s, job, {}, JobStatus.failed, step=JobStatus.failed.value)
            log.warning("job %s failed: %s", job_id, job.error)
            return job, False
        job.status, job.step = JobStatus.running.value, "starting"
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.frames_done = 0
        return job, True


StepFunction = Callable[[str, service.Progress], None]


def run_job(job_id: str, steps: dict[str, StepFunction] | None = None) -> dict:
    """Run (or skip, when finished) one job. Expected failures are stored on the job; anything else is stored and
    re-raised, so that the queue retries it with backoff."""
    job, mine = _claim(job_id)
    if not mine:
        log.info("job %s already %s: nothing to do", job_id, job.status)
        if job.status in (JobStatus.failed, JobStatus.blocked):
            wake_parent(job_id)  # its starts ran out just now (or a redelivery of a failed one): the parent is told
        return service.to_json(job)
    step = (steps or STEPS).get(job.kind)
    if step is None:
        service.fail(job_id, f"no worker step for {job.kind} jobs in this version", JobStatus.failed)
        with session_scope() as s:
            return service.to_json(service.get(s, job_id))
    progress = service.Progress(job_id)
    exhausted = False
    try:
        with service.Heartbeat(job_id):
            step(job_id, progress)
    except AuditObjection as err:
        service.fail(job_id, str(err), JobStatus.blocked)
    except RedactorError as err:
        service.fail(job_id, str(err), JobStatus.failed)
    except Exception as err:
        if not out_of_memory(err):
            with session_scope() as s:
                j = service.get(s, job_id)
                if j.status not in service.FINAL:
                    j.status, j.step = JobStatus.queued.value, "retrying"
                    j.error = traceback.format_exc(limit=3)[-2000:]
            raise
        # Resource exhaustion is no passing fault: the same clip on the same worker would run out again. Failed
        # below, once this handler has let go of the traceback (and of the arrays its frames hold).
        exhausted = True
    if exhausted:
        service.fail(job_id, OUT_OF_MEMORY, JobStatus.failed)
    wake_parent(job_id)
    with session_scope() as s:
        return service.to_json(service.get(s, job_id))


OUT_OF_MEMORY = ("ran out of memory: the clip needs more than this worker may use (REDACTOR_JOB_MEMORY_MB, "
                 "REDACTOR_MAX_PIXELS); not retried")


def out_of_memory(err: BaseException) -> bool:
    """MemoryError (Python, numpy), and the allocation failures of the native libraries, which raise their own
    types (OpenCV's cv2.error, onnxruntime's RuntimeException, an ImportError when a library cannot be mapped under
    the address-space limit) with these words."""
    if isinstance(err, MemoryError):
        return True
    text = str(err)
    return any(w in text for w in ("Insufficient memory", "Failed to allocate memory", "bad_alloc",
                                   "bad allocation", "Cannot allocate memory", "failed to map segment"))
