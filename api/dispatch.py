"""Where a job runs: Celery workers behind the broker, or the embedded in-process worker (a thread pool per queue,
each job in a child process of its own running the very same `redactor.jobs.runner.run_job`). Routes call
`dispatch(job)` and nothing else.

In production the workers run apart from the API (REDACTOR_BROKER, `celery -A workers.celery_app worker`). The
embedded default keeps a bad clip from taking the API with it: each job runs in a child process under an
address-space limit (redactor.jobs.child), so a MemoryError or a kill ends the job, not the API."""

from __future__ import annotations

import logging
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from redactor.db import session_scope
from redactor.jobs import child
from redactor.jobs.models import Job, JobStatus
from redactor.jobs.service import QUEUES, JobBusy, give_up, lease_seconds

log = logging.getLogger("redactor.dispatch")


class EmbeddedWorker:
    """One thread per queue: analyze/render one at a time on the CPU, release and reap beside them; each job in a
    child process that the thread waits for."""

    def __init__(self, threads: int = 1) -> None:
        self.pools = {q: ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"redactor-{q}")
                      for q in set(QUEUES.values())}
        self._children: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def submit(self, job_id: str, kind: str) -> None:
        if not self._stopping:
            self.pools[QUEUES[kind]].submit(self._run, job_id, kind)

    def _run(self, job_id: str, kind: str) -> None:
        try:
            with self._lock:
                if self._stopping:
                    return
                proc = child.start(job_id)
                self._children.add(proc)
            try:
                returncode = proc.wait()
            finally:
                with self._lock:
                    self._children.discard(proc)
            if self._stopping:
                return  # stopped with the service: the child put its job back in the queue for the next start
            child.outcome(job_id, returncode)
        except JobBusy:  # left running by a process that just stopped: look again once its lease has run out
            timer = threading.Timer(lease_seconds(), self.submit, args=(job_id, kind))
            timer.daemon = True
            timer.start()
        except Exception as err:  # no broker to retry: the job is failed with its reason
            log.exception("job %s failed", job_id)
            give_up(job_id, f"internal error: {type(err).__name__}: {err}")

    def resume(self) -> int:
        """Jobs left queued or running by a previous process (a crash, a restart) run again, within the cap on
        starts (REDACTOR_JOB_ATTEMPTS): one that killed its worker is failed, not run for ever."""
        with session_scope() as s:
            jobs = list(s.execute(select(Job.id, Job.kind).where(Job.status.in_([JobStatus.queued,
                                                                                  JobStatus.running]))))
        for job_id, kind in jobs:
            self.submit(job_id, kind)
        return len(jobs)

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            children = list(self._children)
        for proc in children:
            proc.terminate()
        for proc in children:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
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
