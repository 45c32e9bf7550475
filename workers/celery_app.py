"""The Celery app. Broker: REDACTOR_BROKER (default Redis on loopback; RabbitMQ `amqp://...` works the same).

Delivery is at least once (acks_late, a lost worker's task is redelivered); the jobs table makes it exactly once in
effect (redactor.jobs.service). Start workers with
`celery -A workers.celery_app worker -Q gpu` on GPU machines and `-Q cpu` elsewhere; `celery -A workers.celery_app beat`
runs the reaper.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def make_app(broker: str | None = None) -> Celery:
    broker = broker or os.environ.get("REDACTOR_BROKER") or DEFAULT_BROKER
    app = Celery("redactor", broker=broker, include=["workers.tasks"])
    app.conf.update(
        task_acks_late=True,  # acknowledged after the task ran: a worker killed mid-task loses nothing
        task_reject_on_worker_lost=True,  # ... and its task is requeued, not dropped
        worker_prefetch_multiplier=1,  # one render at a time per worker process: no job waits behind another
        task_time_limit=int(os.environ.get("REDACTOR_TASK_TIME_LIMIT", str(6 * 3600))),
        task_soft_time_limit=int(os.environ.get("REDACTOR_TASK_SOFT_TIME_LIMIT", str(6 * 3600 - 60))),
        task_default_queue="cpu",
        task_routes={"redactor.analyze": {"queue": "gpu"}, "redactor.segment": {"queue": "gpu"},
                     "redactor.render": {"queue": "gpu"},
                     "redactor.release": {"queue": "cpu"}, "redactor.package": {"queue": "cpu"},
                     "redactor.reap": {"queue": "cpu"}},
        task_ignore_result=True,  # results live in the jobs table
        broker_connection_retry_on_startup=True,
        # Redis redelivers an unacknowledged task after this many seconds: longer than the longest task, or the
        # job lease (redactor.jobs.service) keeps a second delivery from running beside the first.
        broker_transport_options={"visibility_timeout": int(os.environ.get("REDACTOR_VISIBILITY_TIMEOUT", "7200"))},
        worker_hijack_root_logger=False,
        beat_schedule={"retention-reaper": {"task": "redactor.reap_scheduled",
                                            "schedule": crontab(minute=0, hour=3), "options": {"queue": "cpu"}}},
        timezone="Asia/Seoul",
    )
    return app


app = make_app()
