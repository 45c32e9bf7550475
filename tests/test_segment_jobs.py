"""A long recording's analysis split into segment jobs on the `gpu` queue, run by two Celery workers on one machine
(issue 18): one of them is killed mid-segment; that segment alone is run again, the analysis is joined once, with
the source's frame count, and nothing of it is stored before the join."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from clips import ffmpeg, make_clip, score_redact
from conftest import EVALDATA
from dbsupport import *  # noqa: F403
from dbsupport import PgServer
from helpers import ROOT
from s3_server import s3_server  # noqa: F401
from services import *  # noqa: F403
from services import file_footage, login, make_service_env, start_api, start_worker, stop, stop_workers, wait_job


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
            # an analysis serves a request (issue 20): its clerk handles it
            _, req, rec = file_footage(client, admin, clerk, clip, code="OS-0003", location="오산역",
                                       filename="long.mp4")
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
        stop_workers(first, second, third)
        stop(api)


def _writing_part(pid: int) -> bool:
    """Whether the worker process is encoding a render segment's part (it holds redactor-segment-*/part.mp4 open)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if "redactor-segment-" in target and target.endswith("part.mp4"):
            return True
    return False


@pytest.mark.slow  # the unsplit redact, then the service's analysis and render in segments, a release (minutes here)
@pytest.mark.postgres
def test_service_in_segments_gives_the_unsplit_result_and_one_release(tmp_path, pg_schema, s3_server,  # noqa: F811
                                                                       redis_db):
    """Issue 18's acceptance on the CPU: a labelled clip analysed and rendered by two Celery workers of the `gpu`
    queue (a segment job each), one of them killed while it encodes its render segment; the render joined in order
    without re-encoding, released once. Its masked share of labelled faces is the unsplit `redactor redact`'s within
    0.2%, with the source's frame count and no audio."""
    faces = EVALDATA / "faces"
    made = make_clip(faces / "labels.json", faces, tmp_path / "made.mp4",
                     ["23_Shoppers_Shoppers_23_167.jpg", "54_Rescue_rescuepeople_54_102.jpg"], 1.5, "640x360")
    clip = tmp_path / "crowd.mp4"  # the same frames with a keyframe every half second (the audio stays)
    ffmpeg("-i", str(made), "-c:v", "libx264", "-g", "12", "-pix_fmt", "yuv420p", "-c:a", "copy", str(clip))
    gt = made.with_suffix(".gt.json")
    unsplit = tmp_path / "unsplit.mp4"
    res = subprocess.run([sys.executable, "-m", "redactor", "redact", str(clip), "-o", str(unsplit)], cwd=ROOT,
                         capture_output=True, text=True, timeout=3600)
    assert res.returncode == 0, res.stderr[-2000:]
    want = score_redact(clip, unsplit, "face", gt)
    frames = want["source_frames"]
    assert want["output_frames"] == frames and want["output_audio_streams"] == 0, want

    senv = make_service_env(tmp_path, db_url=pg_schema)
    # 1.5 s segments overlapping by 0.5 s: the 3 s clip is two segment jobs, of its analysis and of its render.
    # Short visibility and lease: a killed worker's segment is redelivered to the other one within seconds (the lease
    # shorter than the visibility: a task put back for a live worker's lease runs before the broker redelivers it).
    senv.env.update({"REDACTOR_STORE": s3_server.url(), "REDACTOR_BROKER": redis_db,
                     "REDACTOR_SEGMENT_MINUTES": str(1.5 / 60), "REDACTOR_SEGMENT_OVERLAP": "0.5",
                     "REDACTOR_VISIBILITY_TIMEOUT": "10", "REDACTOR_JOB_LEASE": "6"})
    api, base = start_api(senv)
    logs = {n: tmp_path / f"{n}.log" for n in ("first", "second", "cpu")}
    first = start_worker(senv.env, queues="gpu", name="first", log=logs["first"])
    second = start_worker(senv.env, queues="gpu", name="second", log=logs["second"])
    cpu = start_worker(senv.env, queues="cpu", name="cpu", log=logs["cpu"])
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            admin, clerk, officer, auditor = (login(client, r) for r in ("admin", "clerk", "privacy_officer",
                                                                          "auditor"))
            _, req, rec = file_footage(client, admin, clerk, clip, code="OS-0004", location="오산시장",
                                       filename="crowd.mp4")
            analysis = client.post("/api/v1/analyses", headers=clerk,
                                   json={"recording_id": rec["id"], "request_id": req["id"]}).json()
            analysis = wait_job(client, clerk, analysis["id"], timeout=1200)
            assert analysis["status"] == "done" and analysis["result"]["frames"] == frames, analysis
            # nobody kept: everyone masked, as the unsplit redact without --keep
            ks = client.post(f"/api/v1/analyses/{analysis['id']}/keep-sets", headers=clerk,
                             json={"track_ids": []}).json()
            render = client.post("/api/v1/renders", headers=clerk, json={"keep_set_id": ks["id"]}).json()

            deadline = time.monotonic() + 900  # the first worker killed while it encodes a render segment
            while time.monotonic() < deadline and not _writing_part(first.pid):
                assert client.get(f"/api/v1/jobs/{render['id']}", headers=clerk).json()["status"] != "done"
                time.sleep(0.05)
            assert _writing_part(first.pid), "the first worker never rendered a segment"
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            seen = client.get(f"/api/v1/jobs/{render['id']}", headers=clerk).json()
            assert seen["status"] != "done" and not seen["result"], seen
            assert seen["progress"]["frames_total"] == frames, seen  # the whole render's progress, segment by segment
            done = wait_job(client, clerk, render["id"], timeout=1200)
            parts = [j for j in _jobs(senv.db_url, "segment") if j["parent_id"] == render["id"]]
            assert done["status"] == "done", (done, parts, logs["second"].read_text()[-3000:])
            assert done["attempts"] == 1 and done["result"]["segments"] == 2, done
            rounds = [[j for j in parts if j["params"]["render"]["round"] == r] for r in range(3)]
            assert len(rounds[0]) == 2, parts
            assert sorted(j["attempts"] for j in rounds[0]) == [1, 2], parts  # the killed segment alone ran again
            # a re-mask round renders only the segments whose masks the audit's findings changed, each once
            assert all(j["attempts"] == 1 for j in rounds[1] + rounds[2]) and len(parts) <= 6, parts
            assert done["result"]["remask_rounds"] == max(r for r in range(3) if rounds[r]), done
            from redactor.storage.s3 import S3Store

            store = S3Store.from_url(senv.env["REDACTOR_STORE"])
            assert not any(store.exists(j["result"]["object_key"]) for j in parts)  # joined, then deleted

            got = client.get(f"/api/v1/renders/{render['id']}/video", headers=clerk)
            assert got.status_code == 200
            rendered = tmp_path / "service.mp4"
            rendered.write_bytes(got.content)
            score = score_redact(clip, rendered, "face", gt)
            assert score["output_frames"] == frames and score["output_audio_streams"] == 0, score
            assert abs(score["masked_fraction"] - want["masked_fraction"]) <= 0.002, (score, want)

            d = client.post(f"/api/v1/requests/{req['id']}/decisions", headers=officer, json={"outcome": "grant"})
            assert d.status_code == 201, d.text
            rel = client.post("/api/v1/releases", headers=officer,
                              json={"render_id": render["id"], "request_id": req["id"]}).json()
            released = wait_job(client, officer, rel["id"], timeout=600)
            assert released["status"] == "done", released
            ledger = client.get("/api/v1/ledger", headers=auditor).json()
            assert [e["kind"] for e in ledger] == ["열람"]  # exactly one release
            link = client.post(f"/api/v1/releases/{released['result']['release_id']}/links", headers=officer,
                               json={"hours": 1}).json()
            copy = tmp_path / "released.mp4"
            copy.write_bytes(httpx.get(link["url"], timeout=60).content)
            out = score_redact(clip, copy, "face", gt)
            assert out["output_frames"] == frames and out["output_audio_streams"] == 0, out
    finally:
        stop_workers(first, second, cpu)
        stop(api)


def test_a_failed_segment_fails_its_render_and_its_parts_are_deleted(db_url, ledger_home, tmp_path, monkeypatch):
    """A segment that fails queues its parent at once (a parent never waits for a part that will not come); the
    parent then fails with the segment's reason, and the parts its other segments stored are deleted: nothing of a
    failed render is left to release."""
    from redactor.db import session_scope
    from redactor.errors import BadInput
    from redactor.jobs import runner, service, steps
    from redactor.jobs.models import JobKind, JobStatus
    from redactor.storage import open_store

    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(steps, "_send", lambda job_id, kind: sent.append((job_id, kind)))  # the broker
    store = open_store()
    part = tmp_path / "part.mp4"
    part.write_bytes(b"\0" * 64)
    with session_scope() as s:
        parent = service.create(s, JobKind.render, "clerk", {"keep_set_id": 1})
        params = {"plan": {}, "render": {"round": 0, "table_key": "analyses/x.json", "style": "solid",
                                         "findings": [], "only": None}}
        done = service.create(s, JobKind.segment, "clerk", params | {"index": 0}, parent_id=parent.id)
        broken = service.create(s, JobKind.segment, "clerk", params | {"index": 1}, parent_id=parent.id)
        parent_id, done_id, broken_id = parent.id, done.id, broken.id
        key = done.object_key
        assert key == f"segments/{done_id}.mp4"  # a render segment's part: destroyed with its recording
        store.put(key, part, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        service.finish(s, done, {"object_key": key, "index": 0, "round": 0, "findings": [], "audited": []})

    def corrupt(job_id: str, progress) -> None:
        raise BadInput("segment 1: the video stream is corrupt at frame 40")

    runner.run_job(done_id)  # finished already: nothing to do, nobody woken
    assert sent == []
    out = runner.run_job(broken_id, steps={JobKind.segment: corrupt})
    assert out["status"] == JobStatus.failed
    assert sent == [(parent_id, JobKind.render)]

    ctx = steps._RenderContext(parent_id, 0, None, "analyses/x.json", 0, "solid", None)
    with pytest.raises(BadInput, match=f"segment job {broken_id} failed: segment 1: the video stream is corrupt"):
        steps._render_segments(ctx, store, service.Progress(parent_id))
    assert not store.exists(key)
