"""A long recording's analysis split into segment jobs on the `gpu` queue, run by two Celery workers on one machine
(issue 18): one of them is killed mid-segment; that segment alone is run again, the analysis is joined once, with
the source's frame count, and nothing of it is stored before the join."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import httpx
import pytest
from clips import ffmpeg
from dbsupport import PgServer
from s3_server import s3_server  # noqa: F401
from services import *  # noqa: F403
from services import login, make_service_env, start_api, start_worker, stop, wait_job


@pytest.fixture
def pg_schema():
    server = PgServer()
    yield server.url
    server.drop()


def _jobs(db_url: str, kind: str) -> list[dict]:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from redactor.db import normalize_url
    from redactor.jobs import service
    from redactor.jobs.models import Job

    eng = create_engine(normalize_url(db_url))
    try:
        with Session(eng) as s:
            return [service.to_json(j) for j in s.scalars(select(Job).where(Job.kind == kind))]
    finally:
        eng.dispose()


@pytest.mark.slow  # two segment analyses on the CPU, one of them twice, and the join
@pytest.mark.postgres
def test_segment_worker_killed_the_segment_alone_runs_again(tmp_path, vtest, pg_schema, s3_server,  # noqa: F811
                                                            redis_db):
    clip = tmp_path / "long.mp4"
    ffmpeg("-ss", "5", "-t", "8", "-i", str(vtest), "-vf", "scale=320:240", "-r", "10", "-c:v", "libx264", "-g",
           "20", "-pix_fmt", "yuv420p", str(clip))
    senv = make_service_env(tmp_path, db_url=pg_schema)
    # 4 s segments overlapping by 1 s: the 8 s clip is two segment jobs
    senv.env.update({"REDACTOR_STORE": s3_server.url(), "REDACTOR_BROKER": redis_db,
                     "REDACTOR_SEGMENT_MINUTES": str(4 / 60), "REDACTOR_SEGMENT_OVERLAP": "1"})
    api, base = start_api(senv)
    first = start_worker(senv.env, queues="gpu", name="first")
    second = third = None
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            admin, clerk = login(client, "admin"), login(client, "clerk")
            cam = client.post("/api/v1/cameras", headers=admin, json={
                "code": "OS-0003", "location": "오산역", "department": "안전정책과", "officer": "과장",
                "staff": "팀장", "purpose": "사회안정"}).json()
            with open(clip, "rb") as fh:
                rec = client.post("/api/v1/recordings", headers=clerk, data={"camera_id": str(cam["id"])},
                                  files={"file": ("long.mp4", fh, "video/mp4")}).json()
            now = dt.datetime.now(dt.UTC)  # an analysis serves a request (issue 20): its clerk handles it
            req = client.post("/api/v1/requests", headers=clerk, json={
                "kind": "열람", "requester_name": "이영희", "period_from": (now - dt.timedelta(hours=1)).isoformat(),
                "period_to": now.isoformat(), "camera_location": "오산역", "camera_id": cam["id"],
                "purpose": "분실물 확인"}).json()
            analysis = client.post("/api/v1/analyses", headers=clerk,
                                   json={"recording_id": rec["id"], "request_id": req["id"]}).json()
            assert "id" in analysis, analysis
            # the first worker takes the parent (plans, queues two segments), then a segment: killed in its analysis
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                running = [j for j in _jobs(senv.db_url, "segment") if j["status"] == "running"
                           and j["step"] == "analyze"]
                if running:
                    break
                time.sleep(0.2)
            assert running, _jobs(senv.db_url, "segment")
            killed = running[0]["id"]
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            parent = client.get(f"/api/v1/jobs/{analysis['id']}", headers=clerk).json()
            assert parent["status"] != "done" and not parent["result"], parent
            from redactor.storage.s3 import S3Store

            store = S3Store.from_url(senv.env["REDACTOR_STORE"])
            assert not store.exists(f"analyses/{analysis['id']}.json")  # nothing joined before every segment is in

            # two workers of the gpu queue on this machine: the unacknowledged segment is redelivered and taken over
            quick = senv.env | {"REDACTOR_VISIBILITY_TIMEOUT": "3", "REDACTOR_JOB_LEASE": "4"}
            second = start_worker(quick, queues="gpu", name="second")
            third = start_worker(quick, queues="gpu", name="third")
            done = wait_job(client, clerk, analysis["id"], timeout=600)
            assert done["status"] == "done", done
            assert done["result"]["frames"] == 80
            segments = {j["id"]: j for j in _jobs(senv.db_url, "segment")}
            assert len(segments) == 2 and all(j["status"] == "done" for j in segments.values())
            assert segments[killed]["attempts"] == 2  # the killed one ran again ...
            assert [j["attempts"] for i, j in segments.items() if i != killed] == [1]  # ... and only it
            assert done["attempts"] == 1  # waiting for its segments was no start of the parent's
            for j in segments.values():  # the parts are in the joined table and gone from the store
                assert not store.exists(j["result"]["key"])
            table = client.get(f"/api/v1/analyses/{analysis['id']}/tracks", headers=clerk,
                               params={"with_thumbnails": False}).json()
            assert any(t["label"] == "person" for t in table["tracks"])
    finally:
        for w in (first, second, third):
            if w is not None and w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
                try:
                    w.wait(20)
                except Exception:
                    os.killpg(w.pid, signal.SIGKILL)
        stop(api)
