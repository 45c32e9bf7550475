"""One job in a child process of its own, under an address-space limit, so that a clip that exhausts memory ends
its job and not the process that started it (the API, with the embedded worker: issue 20, where one upload grew the
API to 23.9 GB and the kernel killed it).

`start(job_id)` runs `python -m redactor.jobs.child JOB_ID`, which lowers its own RLIMIT_AS, offers itself first to
the kernel's OOM killer, and calls `redactor.jobs.runner.run_job`; the parent waits for it, then calls `outcome`.
A MemoryError in the child fails the job (run_job); a child killed by a signal, or ended by an error run_job did not
store, is failed there with the reason. Nothing of the job is in the parent: a fresh interpreter per job costs about
a second of start-up and the models' load, against an API that stays up.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

EXIT_BUSY = 75  # EX_TEMPFAIL: another live worker holds the job
LIMIT_ENV = "REDACTOR_JOB_AS_BYTES"  # parent to child: the address-space limit, in bytes


def memory_limit() -> int | None:
    """The child's address-space limit in bytes: REDACTOR_JOB_MEMORY_MB (0: none of our own), by default the
    machine's physical memory; never above the limit this process runs under (the child inherits that anyway)."""
    from redactor.config import ConfigError

    raw = os.environ.get("REDACTOR_JOB_MEMORY_MB", "").strip()
    try:
        mb = float(raw) if raw else os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except ValueError:
        raise ConfigError(f"REDACTOR_JOB_MEMORY_MB={raw!r}: not a number") from None
    ours = int(mb * (1 << 20)) if mb > 0 else None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    inherited = None if soft == resource.RLIM_INFINITY else soft
    if ours is None or inherited is None:
        return ours or inherited
    return min(ours, inherited)


def _code_root() -> str:
    """The folder this `redactor` package was imported from: the child runs the very same code."""
    import redactor

    return str(Path(redactor.__file__).resolve().parents[1])


def start(job_id: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_code_root(), env.get("PYTHONPATH", "")) if p)
    limit = memory_limit()
    if limit:
        env[LIMIT_ENV] = str(limit)
    else:
        env.pop(LIMIT_ENV, None)
    return subprocess.Popen([sys.executable, "-m", "redactor.jobs.child", job_id], env=env,
                            stdin=subprocess.DEVNULL)


def outcome(job_id: str, returncode: int) -> None:
    """After the child ended: raise JobBusy when another worker holds the job; fail a job the child left
    unfinished, with the reason."""
    from redactor.db import session_scope
    from redactor.jobs import service
    from redactor.jobs.models import Job

    if returncode == EXIT_BUSY:
        raise service.JobBusy(f"job {job_id} is running on another worker")
    if returncode == 0:
        return
    with session_scope() as s:
        job = s.get(Job, job_id)
        if job is None or job.status in service.FINAL:
            return
        stored = service.last_line(job.error)
    limit = memory_limit()
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        cap = f"{int(limit) >> 20} MB" if limit else "no limit of its own"
        reason = (f"its worker process was killed by {name} (out of memory: address-space limit {cap}, "
                  f"REDACTOR_JOB_MEMORY_MB; or stopped by the system): not retried")
    else:
        reason = f"internal error in its worker process (exit {returncode}): {stored or 'no error recorded'}"
    log.error("job %s failed: %s", job_id, reason)
    service.give_up(job_id, reason)


def _interrupted(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    limit = os.environ.get(LIMIT_ENV)
    if limit:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = int(limit) if hard == resource.RLIM_INFINITY else min(int(limit), hard)
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    try:  # should memory run short on the machine, the kernel kills this job before the API beside it
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass
    signal.signal(signal.SIGTERM, _interrupted)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from redactor.errors import RedactorError
    from redactor.jobs import runner, service

    job_id = argv[0]
    try:
        runner.run_job(job_id)
    except service.JobBusy:
        return EXIT_BUSY
    except RedactorError as err:  # no such job, say: one line, nothing to store
        print(f"redactor: {err}", file=sys.stderr)
        return err.exit_code
    except SystemExit:
        _requeue(job_id)  # stopped with the service: the next start resumes it without waiting out the lease
        raise
    return 0


def _requeue(job_id: str) -> None:
    from redactor.db import session_scope
    from redactor.jobs import service
    from redactor.jobs.models import JobStatus

    try:
        with session_scope() as s:
            job = service.get(s, job_id, lock=True)
            if job.status == JobStatus.running:
                # an orderly stop is no failed start: it does not count against REDACTOR_JOB_ATTEMPTS
                job.status, job.step = JobStatus.queued.value, "interrupted"
                job.attempts = max(0, job.attempts - 1)
    except Exception:  # the database may be going down too: the lease then covers it
        log.warning("job %s left running at shutdown", job_id)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
