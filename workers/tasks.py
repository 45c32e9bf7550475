"""One task per job kind: each runs the job row through `redactor.jobs.runner.run_job` (idempotent by job id)."""

from __future__ import annotations

from celery import Task
from celery.exceptions import MaxRetriesExceededError

from redactor.db import session_scope
from redactor.errors import RedactorError
from redactor.jobs import runner, service, steps
from redactor.jobs.models import JobKind
from workers.celery_app import app

RETRIES = 5


def _run(task: Task, job_id: str) -> dict:
    try:
        return runner.run_job(job_id)
    except service.JobBusy as err:
        # another live worker holds it (a redelivery raced the original): look again after the lease
        raise task.retry(exc=err, countdown=service.lease_seconds(), max_retries=None) from None
    except RedactorError as err:  # no such job, or a refusal a retry cannot change: stored or reported, not retried
        return {"id": job_id, "error": str(err)}
    except Exception as err:
        try:
            raise task.retry(exc=err, countdown=min(600, 10 * 2 ** task.request.retries)) from None
        except MaxRetriesExceededError:
            service.give_up(job_id, f"gave up after {RETRIES} retries: {type(err).__name__}: {err}")
            steps.wake_parent(job_id)  # a segment's parent fails with it, not waits for it
            raise


def _task(kind: str):
    @app.task(name=f"redactor.{kind}", bind=True, max_retries=RETRIES, acks_late=True)
    def run(self: Task, job_id: str) -> dict:
        return _run(self, job_id)

    return run


analyze = _task(JobKind.analyze)
segment = _task(JobKind.segment)
render = _task(JobKind.render)
release = _task(JobKind.release)
package = _task(JobKind.package)
reap = _task(JobKind.reap)


@app.task(name="redactor.reap_scheduled", bind=True)
def reap_scheduled(self: Task) -> dict:
    """celery beat: a reap job row (so the run is visible through the API), run right here on the cpu queue."""
    with session_scope() as s:
        job = service.create(s, JobKind.reap, created_by="system:beat")
        job_id = job.id
    return _run(self, job_id)
