"""Celery workers as separate processes on the real parts: PostgreSQL, the Redis broker, the loopback S3 server
(moto). One viewing request walks from intake to a released, watermarked clip while its render's worker is killed
with SIGKILL mid-render: the job still completes exactly once, nothing half-done is stored or released, and a
redelivered release task adds no second ledger row."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from dbsupport import PgServer
from s3_server import s3_server  # noqa: F401
from services import *  # noqa: F403
from services import (
    file_footage,
    login,
    make_service_env,
    run_cli,
    start_api,
    start_worker,
    stop,
    stop_workers,
    wait_job,
)


@pytest.fixture
def pg_schema():
    """A PostgreSQL schema of the test's own, migrated (tests/dbsupport.py), dropped afterwards."""
    server = PgServer()
    yield server.url
    server.drop()


@pytest.fixture
def stack(tmp_path, pg_schema, s3_server, redis_db):  # noqa: F811
    senv = make_service_env(tmp_path, db_url=pg_schema)
    senv.env.update({"REDACTOR_STORE": s3_server.url(), "REDACTOR_BROKER": redis_db})
    proc, base = start_api(senv)
    yield senv, base
    stop(proc)


def run_reap_job(senv, broker: str) -> dict:
    """A cheap real job (the retention reaper) created in the database and sent through the broker."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from redactor.db import normalize_url
    from redactor.jobs import service
    from workers.celery_app import make_app

    eng = create_engine(normalize_url(senv.db_url))
    with Session(eng) as s:
        job = service.create(s, "reap", "test")
        s.commit()
        job_id = job.id
    make_app(broker).send_task("redactor.reap", args=[job_id], queue="cpu")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with Session(eng) as s:
            row = service.get(s, job_id)
            if row.status in ("done", "failed"):
                out = service.to_json(row)
                eng.dispose()
                return out
        time.sleep(0.3)
    eng.dispose()
    raise TimeoutError(job_id)


@pytest.mark.postgres
def test_worker_process_runs_a_job_from_redis(tmp_path, pg_schema, s3_server, redis_db):  # noqa: F811
    senv = make_service_env(tmp_path, db_url=pg_schema)
    senv.env.update({"REDACTOR_STORE": s3_server.url(), "REDACTOR_BROKER": redis_db})
    worker = start_worker(senv.env, queues="cpu")
    try:
        job = run_reap_job(senv, redis_db)
    finally:
        log = stop(worker)
    assert job["status"] == "done", (job, log)
    assert job["attempts"] == 1


def poll(client, headers, job_id, until, timeout=300.0, every=0.05) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if until(job):
            return job
        time.sleep(every)
    raise TimeoutError(job)


@pytest.mark.slow  # a CPU analysis (about a minute here), a render killed and redone, a release
@pytest.mark.postgres
def test_worker_killed_mid_render_completes_once_nothing_half_released(stack, short_clip, tmp_path):
    senv, base = stack
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    worker = start_worker(senv.env, name="first")
    second = None
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            admin, clerk, officer, auditor = (login(client, r) for r in ("admin", "clerk", "privacy_officer",
                                                                          "auditor"))
            _, req, rec = file_footage(client, admin, clerk, short_clip, code="OS-0002", location="오산시청 앞",
                                       filename="c.mp4")
            analysis = client.post("/api/v1/analyses", headers=clerk,
                                   json={"recording_id": rec["id"], "request_id": req["id"]}).json()
            analysis = wait_job(client, clerk, analysis["id"], timeout=400)
            assert analysis["status"] == "done", analysis
            tracks = client.get(f"/api/v1/analyses/{analysis['id']}/tracks", headers=clerk,
                                params={"with_thumbnails": False}).json()["tracks"]
            keep = max((t for t in tracks if t["label"] == "person"), key=lambda t: t["frames"])["id"]
            ks = client.post(f"/api/v1/analyses/{analysis['id']}/keep-sets", headers=clerk,
                             json={"track_ids": [keep]}).json()
            render = client.post("/api/v1/renders", headers=clerk, json={"keep_set_id": ks["id"]}).json()

            # kill the worker (its whole process group) as soon as the render step is under way
            seen = poll(client, clerk, render["id"], lambda j: j["step"] in ("render", "re-render") or
                        j["status"] != "queued" and j["step"] not in ("queued", "starting", "fetch"))
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
            assert seen["status"] == "running", seen
            job = client.get(f"/api/v1/jobs/{render['id']}", headers=clerk).json()
            assert job["status"] != "done" and not job["result"], job
            from redactor.storage.s3 import S3Store

            store = S3Store.from_url(senv.env["REDACTOR_STORE"])
            assert not store.exists(f"renders/{render['id']}.mp4")  # nothing half-done stored
            # refused at once (issue 16): an unfinished render is no audited render, and no job is queued
            early = client.post("/api/v1/releases", headers=officer,
                                json={"render_id": render["id"], "request_id": req["id"]})
            assert early.status_code == 409 and early.json()["rule"] == "audited-render", early.text

            # a new worker: the broker redelivers the unacknowledged task; the stale job is taken over and finished
            second = start_worker(senv.env | {"REDACTOR_VISIBILITY_TIMEOUT": "3", "REDACTOR_JOB_LEASE": "4"},
                                  name="second")
            done = wait_job(client, clerk, render["id"], timeout=300)
            assert done["status"] == "done", done
            assert done["attempts"] == 2
            assert store.exists(f"renders/{render['id']}.mp4")

            d = client.post(f"/api/v1/requests/{req['id']}/decisions", headers=officer, json={"outcome": "grant"})
            assert d.status_code == 201, d.text
            rel = client.post("/api/v1/releases", headers=officer,
                              json={"render_id": render["id"], "request_id": req["id"]}).json()
            released = wait_job(client, officer, rel["id"], timeout=300)
            assert released["status"] == "done", released
            # the same release task delivered again (as after a crash between commit and ack): no second release
            from workers.celery_app import make_app

            make_app(senv.env["REDACTOR_BROKER"]).send_task("redactor.release", args=[rel["id"]], queue="cpu")
            time.sleep(3)
            again = client.get(f"/api/v1/jobs/{rel['id']}", headers=officer).json()
            assert again["result"] == released["result"] and again["status"] == "done"
            ledger = client.get("/api/v1/ledger", headers=auditor).json()
            assert [e["kind"] for e in ledger] == ["열람"]
            assert ledger[0]["number"] == released["result"]["ledger_number"]

            link = client.post(f"/api/v1/releases/{released['result']['release_id']}/links", headers=officer,
                               json={"hours": 1}).json()
            got = httpx.get(link["url"], timeout=60)
            assert got.status_code == 200
            out = tmp_path / "released.mp4"
            out.write_bytes(got.content)
            mark = run_cli(senv, "watermark", "extract", str(out))
            assert mark.stdout.strip() == str(ledger[0]["number"]), mark.stdout + mark.stderr
            assert run_cli(senv, "ledger", "verify").returncode == 0
    finally:
        stop_workers(worker, second)


RABBITMQ = os.environ.get("REDACTOR_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.mark.slow  # a second broker, once: kept out of the quick suite
@pytest.mark.postgres
def test_worker_process_runs_a_job_from_rabbitmq(tmp_path, pg_schema, s3_server):  # noqa: F811
    """RabbitMQ, configured once: the same app and tasks with an amqp:// broker."""
    from kombu import Connection

    try:
        with Connection(RABBITMQ, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as err:
        pytest.fail(f"RabbitMQ at {RABBITMQ} is not reachable: {err}")
    senv = make_service_env(tmp_path, db_url=pg_schema)
    senv.env.update({"REDACTOR_STORE": s3_server.url(), "REDACTOR_BROKER": RABBITMQ})
    worker = start_worker(senv.env, queues="cpu", name="rabbit")
    try:
        job = run_reap_job(senv, RABBITMQ)
    finally:
        log = stop(worker)
    assert job["status"] == "done", (job, log)
