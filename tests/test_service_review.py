"""Review through the HTTP API alone, on the real server (`redactor serve`: SQLite, local store, embedded worker):
the requester found from their photo (/proposals) or by a click at frame 4 (/frames/4/tracks), the frame and the
track pictures, a manual box and a split as new table revisions, the render with the identity guard, release, and
the download by byte ranges. The released clip is scored by shared/tools/score_redact.py --keep: no other face in
any frame, the requester visible in >= 60% of their frames, no audio."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import httpx
import numpy as np
import pytest
from conftest import SHARED
from make_identity_clips import make_clips
from services import *  # noqa: F403
from services import file_footage, login, start_api, stop, wait_job

from api.ranges import parse_range


def test_parse_range():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-0", 100) == (0, 1)
    assert parse_range("bytes=10-", 100) == (10, 100)
    assert parse_range("bytes=-10", 100) == (90, 100)
    assert parse_range("bytes=90-1000", 100) == (90, 100)
    assert parse_range("bytes=100-", 100) == "unsatisfiable"
    assert parse_range("bytes=-0", 100) == "unsatisfiable"
    assert parse_range("bytes=0-1,5-9", 100) is None  # several ranges: the whole object
    assert parse_range("items=0-1", 100) is None


def test_docs_work_offline(service_env):
    proc, base = start_api(service_env)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            page = client.get("/docs")
            assert page.status_code == 200 and "swagger-ui" in page.text
            assert "cdn" not in page.text.lower() and "https://" not in page.text
            for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
                r = client.get(asset)
                assert r.status_code == 200 and len(r.content) > 10_000, asset
            assert client.get("/docs/oauth2-redirect").status_code == 200
    finally:
        stop(proc)


def _score(src, out, gt, who) -> dict:
    res = subprocess.run([sys.executable, str(SHARED / "tools" / "score_redact.py"), str(src), str(out), str(gt),
                          "--label", "face", "--keep", who], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def _click(tracks: list[dict], head: list[float]) -> list[int]:
    """What a clerk's click on the requester's head picks (as shared/tools/pick_keep.py judges it)."""
    cx, cy, hh = (head[0] + head[2]) / 2, (head[1] + head[3]) / 2, head[3] - head[1]
    ids = []
    for t in tracks:
        b = t["box"]
        inside = b[0] <= cx <= b[2] and b[1] <= cy <= b[3]
        if t["label"] == "face" and inside or t["label"] == "person" and inside and abs(b[1] - head[1]) <= hh:
            ids.append(t["id"])
    return ids


def _clear_face(gt: dict) -> tuple[int, list[float]]:
    """A frame and the box of a bystander's face that is inside the picture and alone for 3 frames either way."""
    W, H = gt["size"]
    for f in range(3, gt["frames"] - 3):
        for b in gt["boxes"].get(str(f), []):
            if b["who"] == gt["requester"]:
                continue
            near = [[c for c in gt["boxes"].get(str(g), []) if c["who"] == b["who"]] for g in range(f - 3, f + 4)]
            if all(near) and all(c[0]["box"][0] > 2 and c[0]["box"][1] > 2 and c[0]["box"][2] < W - 2
                                 and c[0]["box"][3] < H - 2 for c in near):
                return f, b["box"]
    raise AssertionError("no bystander's face clear of the edges")


def _jpeg(r: httpx.Response) -> np.ndarray:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg" and "no-store" in r.headers["cache-control"]
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.mark.slow  # analysis, identity guard, render and audit of a 640x480 clip on the CPU: minutes here
def test_requester_found_checked_and_released_through_the_api(service_env, tmp_path):
    # REDACTOR_REVIEW_CLIPS=N,SEED: another clip of the same maker (clip N of seed SEED), to measure on held-out ones
    n, seed = (int(v) for v in os.environ.get("REDACTOR_REVIEW_CLIPS", "1,5").split(","))
    clip = make_clips(tmp_path / "clips", clips=n, frames=30, seed=seed)[-1]
    gt_path = clip.with_suffix(".gt.json")
    gt = json.loads(gt_path.read_text())
    proc, base = start_api(service_env)
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            admin, clerk, officer, auditor = (login(client, r) for r in ("admin", "clerk", "privacy_officer",
                                                                         "auditor"))
            _, req, rec = file_footage(client, admin, clerk, clip, code="OS-0101", location="오산시 원동 1",
                                       requester="김민수", purpose="본인 확인", phone="010-1234-5678")
            job = client.post("/api/v1/analyses", headers=clerk,
                              json={"recording_id": rec["id"], "request_id": req["id"]}).json()
            analysis = wait_job(client, clerk, job["id"], timeout=600)
            assert analysis["status"] == "done", analysis
            aid = analysis["id"]
            listed = client.get("/api/v1/analyses", headers=clerk, params={"request_id": req["id"]}).json()
            assert [a["id"] for a in listed["items"]] == [aid] and listed["total"] == 1
            assert client.get("/api/v1/analyses", headers=clerk, params={"recording_id": 999}).json()["total"] == 0
            assert aid in [j["id"] for j in client.get("/api/v1/jobs", headers=clerk,
                                                       params={"status": "done"}).json()["items"]]

            # the track list is small JSON: links to pictures, no base64
            listing = client.get(f"/api/v1/analyses/{aid}/tracks", headers=clerk)
            assert "jpeg_b64" not in listing.text and listing.json()["revision"] == 0
            tracks = listing.json()["tracks"]

            # 1. the requester from their reference photo, with their consent
            with open(gt["reference"], "rb") as fh:
                prop = client.post(f"/api/v1/analyses/{aid}/proposals", headers=clerk,
                                   data={"consent_by": "김민수 (본인)", "consent_note": "신분증 확인"},
                                   files={"photo": ("me.jpg", fh, "image/jpeg")})
            assert prop.status_code == 200, prop.text
            body = prop.json()
            assert body["proposals"] and body["consent"]["record"]["photo_sha256"]
            assert body["proposals"] == sorted(body["proposals"], key=lambda p: -p["score"])
            first = body["proposals"][0]["track_ids"]
            noface = client.post(f"/api/v1/analyses/{aid}/proposals", headers=clerk, data={"consent_by": "x"},
                                 files={"photo": ("x.jpg", cv2.imencode(".jpg", np.full((200, 200, 3), 128,
                                                                                        np.uint8))[1].tobytes())})
            assert noface.status_code == 400 and "no face" in noface.json()["detail"], noface.text
            assert "\n" not in noface.json()["detail"] and "/tmp" not in noface.json()["detail"]

            # 2. or by a click at frame 4: the tracks there, with their boxes
            at4 = client.get(f"/api/v1/analyses/{aid}/frames/4/tracks", headers=clerk).json()
            assert at4["frame"] == 4 and all(len(t["box"]) == 4 for t in at4["tracks"])
            head = next(b["box"] for b in gt["boxes"]["4"] if b["who"] == gt["requester"])
            clicked = _click(at4["tracks"], head)
            assert set(clicked) & set(first), (clicked, first)
            assert client.get(f"/api/v1/analyses/{aid}/frames/{analysis['result']['frames']}/tracks",
                              headers=clerk).status_code == 400

            # pictures: a frame plain, with track ids, with the planned masks; a track's thumbnail and filmstrip
            plain = _jpeg(client.get(f"/api/v1/analyses/{aid}/frames/4.jpg", headers=clerk))
            assert plain.shape[:2] == (480, 640)
            drawn = _jpeg(client.get(f"/api/v1/analyses/{aid}/frames/4.jpg", headers=clerk,
                                     params={"overlay": "tracks"}))
            assert np.abs(drawn.astype(int) - plain).mean() > 0.5
            face = next(t for t in tracks if t["label"] == "face")
            thumb = _jpeg(client.get(face["thumbnail_url"], headers=clerk))
            assert max(thumb.shape[:2]) == 160
            strip = _jpeg(client.get(f"/api/v1/analyses/{aid}/tracks/{face['id']}/filmstrip.jpg", headers=clerk,
                                     params={"count": 4}))
            assert strip.shape[0] == 96 + 18 and strip.shape[1] > 4 * 20
            assert client.get(f"/api/v1/analyses/{aid}/frames/4.jpg", headers=auditor).status_code == 403

            ks = client.post(f"/api/v1/analyses/{aid}/keep-sets", headers=clerk,
                             json={"track_ids": first, "reason": "청구인 본인 (사진 대조, 동의)"}).json()
            masked = _jpeg(client.get(f"/api/v1/analyses/{aid}/frames/4.jpg", headers=clerk,
                                      params={"overlay": "masks", "keep_set_id": ks["id"]}))
            assert np.abs(masked.astype(int) - plain).mean() > 0.5

            r = client.post("/api/v1/renders", headers=clerk, json={"keep_set_id": ks["id"]}).json()
            render = wait_job(client, clerk, r["id"], timeout=900)
            assert render["status"] == "done", render
            res = render["result"]
            assert "identity" in res and res["identity_check"]["verified"] in (True, False)
            assert res["consent"]["photo_sha256"] == body["consent"]["record"]["photo_sha256"]
            assert res["table_revision"] == 0
            assert [j["id"] for j in client.get("/api/v1/renders", headers=clerk,
                                                params={"analysis_id": aid}).json()["items"]] == [render["id"]]
            assert client.get("/api/v1/renders", headers=clerk, params={"analysis_id": "0" * 32}).json()["total"] == 0

            # the render plays in a browser: byte ranges
            full = client.get(f"/api/v1/renders/{render['id']}/video", headers=clerk)
            assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
            part = client.get(f"/api/v1/renders/{render['id']}/video", headers=clerk | {"Range": "bytes=100-199"})
            assert part.status_code == 206 and part.content == full.content[100:200]
            assert part.headers["content-range"] == f"bytes 100-199/{len(full.content)}"

            assert client.post(f"/api/v1/requests/{req['id']}/decisions", headers=officer,
                               json={"outcome": "grant"}).status_code == 201
            rel = wait_job(client, officer, client.post("/api/v1/releases", headers=officer, json={
                "render_id": render["id"], "request_id": req["id"]}).json()["id"])
            assert rel["status"] == "done", rel
            releases = client.get("/api/v1/releases", headers=auditor, params={"request_id": req["id"]}).json()
            assert [x["id"] for x in releases["items"]] == [rel["result"]["release_id"]]
            link = client.post(f"/api/v1/releases/{rel['result']['release_id']}/links", headers=officer,
                               json={"hours": 1}).json()
            got = httpx.get(link["url"], timeout=60)
            assert got.status_code == 200
            tail = httpx.get(link["url"], headers={"Range": "bytes=-1000"}, timeout=60)
            assert tail.status_code == 206 and tail.content == got.content[-1000:]
            assert httpx.get(link["url"], headers={"Range": f"bytes={len(got.content)}-"},
                             timeout=60).status_code == 416
            out = tmp_path / "released.mp4"
            out.write_bytes(got.content)
            score = _score(clip, out, gt_path, gt["requester"])
            print("released:", json.dumps(score), json.dumps(res["identity_check"]), json.dumps(res["identity"]))
            assert score["output_audio_streams"] == 0, score
            assert score["frames_with_unmasked"] == 0, score
            assert score["kept_visible_fraction"] >= 0.6, score

            # the other way in: the tracks under a click on the requester's head at frame 4, rendered and scored
            ks2 = client.post(f"/api/v1/analyses/{aid}/keep-sets", headers=clerk,
                              json={"track_ids": clicked, "reason": "청구인 본인 (화면에서 선택)"}).json()
            r2 = wait_job(client, clerk, client.post("/api/v1/renders", headers=clerk,
                                                     json={"keep_set_id": ks2["id"]}).json()["id"], timeout=900)
            assert r2["status"] == "done", r2
            clicked_out = tmp_path / "clicked.mp4"
            clicked_out.write_bytes(client.get(f"/api/v1/renders/{r2['id']}/video", headers=clerk).content)
            score = _score(clip, clicked_out, gt_path, gt["requester"])
            print("clicked:", json.dumps(score))
            assert score["frames_with_unmasked"] == 0 and score["output_audio_streams"] == 0, score
            assert score["kept_visible_fraction"] >= 0.6, score

            # edits: a manual box followed through the clip, then a split; each a new revision, the first kept
            f, other = _clear_face(gt)
            added = client.post(f"/api/v1/analyses/{aid}/boxes", headers=clerk,
                                json={"frame": f, "box": other, "label": "face"})
            assert added.status_code == 201, added.text
            manual = added.json()["tracks"][0]
            assert added.json()["revision"]["number"] == 1 and manual["added_by"] == "clerk"
            assert manual["first_frame"] < f < manual["last_frame"], (f, manual)
            tid = max(tracks, key=lambda t: t["frames"])
            mid = (tid["first_frame"] + tid["last_frame"]) // 2
            sp = client.post(f"/api/v1/analyses/{aid}/tracks/{tid['id']}/split", headers=clerk, json={"frame": mid})
            assert sp.status_code == 201, sp.text
            assert [t["first_frame"] for t in sp.json()["tracks"]][1] >= mid
            after = client.get(f"/api/v1/analyses/{aid}/tracks", headers=clerk).json()
            assert after["revision"] == 2 and any(t["manual"] for t in after["tracks"])
            assert client.post(f"/api/v1/analyses/{aid}/tracks/{tid['id']}/split", headers=clerk,
                               json={"frame": 0}).status_code == 400
            log = {(a["action"], a["target"]) for a in client.get("/api/v1/access-log", headers=auditor).json()}
            assert {("view", f"analysis:{aid}"), ("match", f"analysis:{aid}"), ("edit", f"analysis:{aid}")} <= log
    finally:
        server_log = stop(proc)
    assert "Traceback" not in server_log, server_log
