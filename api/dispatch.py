"""Where a job runs: Celery workers behind the broker, or the embedded in-process worker (a thread pool per queue
running the very same `redactor.jobs.service.run_job`). Routes call `dispatch(job)` and nothing else."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from redactor.db import session_scope
from redactor.jobs.models import Job, JobStatus
from redactor.jobs.service import QUEUES, JobBusy, give_up, lease_seconds, run_job

log = logging.getLogger("redactor.dispatch")


class EmbeddedWorker:
    """One thread per queue: analyze/render one at a time on the CPU, release and reap beside them."""

    def __init__(self, threads: int = 1) -> None:
        self.pools = {q: ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"redactor-{q}")
                      for q in set(QUEUES.values())}

    def submit(self, job_id: str, kind: str) -> None:
        self.pools[QUEUES[kind]].submit(self._run, job_id, kind)

    def _run(self, job_id: str, kind: str) -> None:
        try:
            run_job(job_id)
        except JobBusy:  # left running by a process that just stopped: look again once its lease has run out
            timer = threading.Timer(lease_seconds(), self.submit, args=(job_id, kind))
            timer.daemon = True
            timer.start()
        except Exception as err:  # no broker to retry: the job is failed with its reason
            log.exception("job %s failed", job_id)
            give_up(job_id, f"internal error: {type(err).__name__}: {err}")

    def resume(self) -> int:
        """Jobs left queued or running by a previous process (a crash, a restart) run again."""
        with session_scope() as s:
            jobs = list(s.execute(select(Job.id, Job.kind).where(Job.status.in_([JobStatus.queued,
                                                                                  JobStatus.running]))))
        for job_id, kind in jobs:
            self.submit(job_id, kind)
        return len(jobs)

    def shutdown(self) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


class CeleryDispatch:
    def __init__(self, broker: str) -> None:
        from workers.celery_app import make_app

        self.app = make_app(broker)

    def submit(self, job_id: str, kind: str) -> None:
        self.app.send_task(f"redactor.{kind}", args=[job_id], queue=QUEUES[kind])

    def resume(self) -> int:
        return 0

    def shutdown(self) -> None:
        pass

    def ping(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
