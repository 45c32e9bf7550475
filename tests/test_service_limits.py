"""No upload takes the service down (issue 20), through the real server (`redactor serve`, embedded worker, SQLite)
under an 8 GB address-space cap, as acceptance runs it:

- the 115 KB MPEG-TS that holds 1 s at 320x240 and then five 6000x6000 frames is refused by the analysis with one
  clear line, the server stays up and grows by far less than 1.5 GB;
- a job whose worker runs out of memory or is killed ends failed with the reason; the API lives on;
- a job that already used its starts is failed at start-up with the reason, not resumed once more.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from clips import bomb_ts
from services import *  # noqa: F403
from services import cut_clip, login, start_capped_api, stop_server, wait_job


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def upload(client: httpx.Client, headers: dict, clip: Path) -> int:
    admin = login(client, "admin")
    cam = client.post("/api/v1/cameras", headers=admin, json={
        "code": f"OS-{time.monotonic_ns() % 10**6}", "location": "오산시청 앞", "department": "안전정책과",
        "officer": "과장", "staff": "팀장", "purpose": "사회안정"})
    assert cam.status_code == 201, cam.text
    with open(clip, "rb") as fh:
        up = client.post("/api/v1/recordings", headers=headers, data={"camera_id": str(cam.json()["id"])},
                         files={"file": (clip.name, fh, "application/octet-stream")})
    assert up.status_code in (201, 400), up.text
    return up


def analyse(client: httpx.Client, clerk: dict, recording: dict) -> httpx.Response:
    """The clerk files a request for the recording's camera, then analyses the recording for it (제31조: every use
    of footage serves a request its handler filed or was assigned)."""
    now = dt.datetime.now(dt.UTC)
    req = client.post("/api/v1/requests", headers=clerk, json={
        "kind": "열람", "requester_name": "김민수", "period_from": (now - dt.timedelta(hours=1)).isoformat(),
        "period_to": now.isoformat(), "camera_location": "오산시청 앞", "camera_id": recording["camera_id"],
        "purpose": "본인 확인"})
    assert req.status_code == 201, req.text
    return client.post("/api/v1/analyses", headers=clerk, json={"recording_id": recording["id"],
                                                                "request_id": req.json()["id"]})


@pytest.mark.slow  # the job's process loads the detectors before the decode reaches the big frames: about a minute
def test_bomb_stream_is_refused_and_the_server_lives(service_env, vtest, tmp_path):
    clip = bomb_ts(vtest, tmp_path)
    assert clip.stat().st_size < 400_000
    proc, base = start_capped_api(service_env)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            clerk = login(client, "clerk")
            before = status_kb(proc.pid, "VmRSS")
            up = upload(client, clerk, clip)
            if up.status_code == 400:  # refused at upload: as good
                assert "6000x6000" in up.json()["detail"]
            else:
                assert up.json()["video"]["width"] == 320  # what the container declares
                job = analyse(client, clerk, up.json())
                assert job.status_code == 202, job.text
                done = wait_job(client, clerk, job.json()["id"], timeout=240)
                assert done["status"] == "failed", done
                assert "6000x6000" in done["error"] and "above the limit" in done["error"], done["error"]
                assert "\n" not in done["error"]
            assert proc.poll() is None and client.get("/healthz").status_code == 200
            grown_mb = (status_kb(proc.pid, "VmHWM") - before) / 1024
            print(f"server peak growth {grown_mb:.0f} MB")
            assert grown_mb < 1536, f"the server grew by {grown_mb:.0f} MB"
            deadline = time.monotonic() + 20
            while children(proc.pid) and time.monotonic() < deadline:  # the job's process ends after its commit
                time.sleep(0.1)
            assert not children(proc.pid)
    finally:
        stop_server(proc)


@pytest.mark.slow  # two servers, two analyses that start: two to three minutes here
def test_worker_out_of_memory_or_killed_ends_the_job_not_the_api(service_env, vtest, tmp_path):
    clip = cut_clip(vtest, tmp_path / "c.mp4", seconds=1.0, size=(1920, 1080))
    # 1400 MB of address space: the detectors load (about 1 GB), one 1080p frame's detection does not fit
    proc, base = start_capped_api(service_env, REDACTOR_JOB_MEMORY_MB="1400")
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            clerk = login(client, "clerk")
            rec = upload(client, clerk, clip).json()
            job = analyse(client, clerk, rec).json()
            done = wait_job(client, clerk, job["id"], timeout=240)
            assert done["status"] == "failed", done
            assert "memory" in done["error"], done["error"]
            print(done["error"])
            assert proc.poll() is None and client.get("/healthz").status_code == 200
    finally:
        stop_server(proc)

    proc, base = start_capped_api(service_env)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            clerk = login(client, "clerk")
            job = analyse(client, clerk, rec).json()
            deadline = time.monotonic() + 120
            while client.get(f"/api/v1/jobs/{job['id']}", headers=clerk).json()["step"] != "analyze":
                assert time.monotonic() < deadline, "the analysis did not start"
                time.sleep(0.1)
            kids = children(proc.pid)
            assert len(kids) == 1, "the analysis does not run in a process of its own"
            os.kill(kids[0], signal.SIGKILL)
            done = wait_job(client, clerk, job["id"], timeout=120)
            assert done["status"] == "failed" and "SIGKILL" in done["error"], done
            assert done["attempts"] == 1
            assert proc.poll() is None and client.get("/healthz").status_code == 200
    finally:
        stop_server(proc)


def test_a_job_out_of_starts_is_failed_at_start_up_not_resumed(service_env):
    """As after the crash of issue 20: the killer job is left `running` by a dead process. Within the cap it is
    run again; past it, it is failed with the reason."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from redactor.db import normalize_url
    from redactor.jobs import service
    from redactor.jobs.models import Job

    eng = create_engine(normalize_url(service_env.db_url))
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ids = {}
    with Session(eng) as s:
        for name, attempts in (("spent", 3), ("again", 1)):
            job = service.create(s, "reap", "test")
            job.status, job.step, job.attempts, job.heartbeat_at = "running", "analyze", attempts, stale
            ids[name] = job.id
        s.commit()
    proc, base = start_capped_api(service_env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Session(eng) as s:
                rows = {n: s.get(Job, i) for n, i in ids.items()}
                if all(r.status in ("done", "failed") for r in rows.values()):
                    break
            time.sleep(0.3)
        assert rows["spent"].status == "failed" and rows["spent"].attempts == 3
        assert "not run again after 3 starts" in rows["spent"].error and "REDACTOR_JOB_ATTEMPTS" in rows["spent"].error
        assert rows["again"].status == "done" and rows["again"].attempts == 2, json.dumps(service.to_json(
            rows["again"]), default=str)
    finally:
        stop_server(proc)
        eng.dispose()
