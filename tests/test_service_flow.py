"""End to end through the HTTP API alone, as a new user would from the OpenAPI page, on the embedded default
(`redactor serve`: SQLite, local object store, in-process worker, CPU): a clerk files a 별지 4호 viewing request,
uploads a clip, runs the analysis, keeps the requester's track, renders; the privacy officer grants and releases;
the link downloads a watermarked MP4 with no audio whose forensic mark names the release's ledger entry; the ledger
shows the 열람 entry and `redactor ledger verify` passes; the access log holds every touch of the footage."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from services import *  # noqa: F403
from services import login, run_cli, start_api, stop, wait_job

from redactor.media import probe


def walk_one_request(client: httpx.Client, clip, tmp_path, senv) -> dict:
    admin, clerk, officer, auditor = (login(client, r) for r in ("admin", "clerk", "privacy_officer", "auditor"))
    cam = client.post("/api/v1/cameras", headers=admin, json={
        "code": "OS-0001", "location": "오산시 원동 123 앞 교차로", "department": "안전정책과",
        "officer": "안전정책과장", "staff": "관제팀장", "purpose": "사회안정", "purpose_detail": "방범"})
    assert cam.status_code == 201, cam.text
    now = dt.datetime.now(dt.UTC)
    req = client.post("/api/v1/requests", headers=clerk, json={
        "kind": "열람", "requester_name": "김민수", "requester_phone": "010-1234-5678",
        "period_from": (now - dt.timedelta(hours=1)).isoformat(), "period_to": now.isoformat(),
        "camera_location": "오산시 원동 123 앞 교차로", "camera_id": cam.json()["id"],
        "purpose": "본인 차량 접촉사고 확인"})
    assert req.status_code == 201, req.text
    request_id = req.json()["id"]
    with open(clip, "rb") as fh:
        up = client.post("/api/v1/recordings", headers=clerk, data={"camera_id": str(cam.json()["id"]),
                                                                    "reason": f"request:{request_id}"},
                         files={"file": ("clip.bin", fh, "application/octet-stream")})
    assert up.status_code == 201, up.text
    rec_id = up.json()["id"]

    job = client.post("/api/v1/analyses", headers=clerk, json={"recording_id": rec_id, "request_id": request_id})
    assert job.status_code == 202, job.text
    analysis = wait_job(client, clerk, job.json()["id"])
    assert analysis["status"] == "done", analysis
    assert analysis["progress"]["frames_done"] == analysis["progress"]["frames_total"] > 0
    tracks = client.get(f"/api/v1/analyses/{analysis['id']}/tracks", headers=clerk).json()["tracks"]
    people = [t for t in tracks if t["label"] == "person"]
    assert people, tracks
    keep = max(people, key=lambda t: t["frames"])["id"]
    ks = client.post(f"/api/v1/analyses/{analysis['id']}/keep-sets", headers=clerk,
                     json={"track_ids": [keep], "reason": "청구인 본인 (신분증 대조)"})
    assert ks.status_code == 201, ks.text
    r = client.post("/api/v1/renders", headers=clerk, json={"keep_set_id": ks.json()["id"]})
    assert r.status_code == 202, r.text
    render = wait_job(client, clerk, r.json()["id"])
    assert render["status"] == "done", render
    assert render["result"]["released"] is True

    # the clerk may not grant; the privacy officer does
    assert client.post(f"/api/v1/requests/{request_id}/decisions", headers=clerk,
                       json={"outcome": "grant"}).status_code == 403
    d = client.post(f"/api/v1/requests/{request_id}/decisions", headers=officer, json={"outcome": "grant"})
    assert d.status_code == 201, d.text
    rel = client.post("/api/v1/releases", headers=officer, json={"render_id": render["id"], "request_id": request_id})
    assert rel.status_code == 202, rel.text
    release_job = wait_job(client, officer, rel.json()["id"])
    assert release_job["status"] == "done", release_job
    release_id, number = release_job["result"]["release_id"], release_job["result"]["ledger_number"]
    link = client.post(f"/api/v1/releases/{release_id}/links", headers=officer, json={"hours": 2})
    assert link.status_code == 201, link.text

    # the recipient: no account, only the link
    got = httpx.get(link.json()["url"], timeout=60)
    assert got.status_code == 200, got.text
    out = tmp_path / "released.mp4"
    out.write_bytes(got.content)
    info = probe(out)
    assert not info.has_audio and info.codec == "h264"
    # the forensic mark, read with this service's watermark key (its data folder), names the ledger entry
    mark = run_cli(senv, "watermark", "extract", str(out))
    assert mark.returncode == 0 and mark.stdout.strip() == str(number), mark.stdout + mark.stderr
    tampered = link.json()["url"][:-3] + ("AAA" if not link.json()["url"].endswith("AAA") else "BBB")
    assert httpx.get(tampered, timeout=30).status_code == 410

    ledger = client.get("/api/v1/ledger", headers=auditor).json()
    entry = next(e for e in ledger if e["number"] == number)
    assert entry["kind"] == "열람" and entry["ref"] == f"request:{request_id}"
    assert len(ledger) == 1  # exactly one row for the one release
    assert client.get("/api/v1/ledger/verify", headers=auditor).json()["ok"] is True
    verify = run_cli(senv, "ledger", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    actions = {(a["action"], a["target"]) for a in client.get("/api/v1/access-log", headers=auditor).json()}
    assert {("upload", f"recording:{rec_id}"), ("analyze", f"recording:{rec_id}"),
            ("render", f"recording:{rec_id}"), ("release", f"release:{release_id}"),
            ("link", f"release:{release_id}"), ("download", f"release:{release_id}")} <= actions
    return {"release_id": release_id, "ledger_number": number, "render_id": render["id"], "officer": officer,
            "clerk": clerk, "auditor": auditor}


def police_provision_with_package(client: httpx.Client, done: dict, tmp_path) -> None:
    """The same audited render provided to the police (제32조①6) after the 총괄책임관's approval, as a signed
    handover package with its 별지 3호 인수증."""
    from redactor.disclosure.package import verify_package

    officer, clerk, auditor = done["officer"], done["clerk"], done["auditor"]
    now = dt.datetime.now(dt.UTC)
    prov = client.post("/api/v1/provisions", headers=clerk, json={
        "ground": 6, "recipient_agency": "오산경찰서 형사과", "recipient_officer": "박수사", "recipient_rank": "경위",
        "purpose": "절도 사건 수사", "period_from": (now - dt.timedelta(hours=1)).isoformat(),
        "period_to": now.isoformat()})
    assert prov.status_code == 201, prov.text
    pid = prov.json()["id"]
    body = {"render_id": done["render_id"], "provision_id": pid}
    unapproved = client.post("/api/v1/releases", headers=officer, json=body)  # refused at once, nothing queued
    assert unapproved.status_code == 409 and unapproved.json()["rule"] == "approval", unapproved.text
    assert client.post(f"/api/v1/provisions/{pid}/approvals", headers=officer, json={}).status_code == 201
    # the 별지 3호 인수증 prints the 인계자's 소속, 직급 and 성명 from their account
    admin = login(client, "admin")
    me = client.get("/api/v1/auth/me", headers=officer).json()
    assert client.patch(f"/api/v1/users/{me['id']}", headers=admin, json={
        "display_name": "이책임", "affiliation": "오산시 안전정책과", "rank": "행정5급"}).status_code == 200
    rel = wait_job(client, officer, client.post("/api/v1/releases", headers=officer, json=body).json()["id"])
    assert rel["status"] == "done", rel
    pkg = client.post(f"/api/v1/provisions/{pid}/packages", headers=officer,
                      json={"release_id": rel["result"]["release_id"]})
    assert pkg.status_code == 202, pkg.text
    job = wait_job(client, officer, pkg.json()["id"])
    assert job["status"] == "done", job
    link = client.post(f"/api/v1/provisions/{pid}/packages/{job['id']}/links", headers=officer, json={})
    assert link.status_code == 201, link.text
    zipped = tmp_path / "package.zip"
    zipped.write_bytes(httpx.get(link.json()["url"], timeout=60).content)
    v = verify_package(zipped)
    assert v.manifest["ledger_entry"] == rel["result"]["ledger_number"] and v.manifest["basis"] == "32-1-6"
    assert v.manifest["recipient"] == {"affiliation": "오산경찰서 형사과", "rank": "경위", "name": "박수사"}
    assert v.manifest["handed_over_by"]["rank"] == "행정5급"
    kinds = [e["kind"] for e in client.get("/api/v1/ledger", headers=auditor).json()]
    assert kinds == ["열람", "제공"]


@pytest.mark.slow  # the CPU analysis of even 2 s of footage takes about a minute on this machine
def test_viewing_request_end_to_end_embedded(service_env, short_clip, tmp_path):
    proc, base = start_api(service_env)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            done = walk_one_request(client, short_clip, tmp_path, service_env)
            police_provision_with_package(client, done, tmp_path)
    finally:
        log = stop(proc)
    assert "Traceback" not in log, log


NOT_VIDEO = [b"", b"not a video at all" * 100, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500]


def test_upload_refuses_what_is_not_video(service_env):
    proc, base = start_api(service_env, REDACTOR_MAX_UPLOAD_MB="1")
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            admin, clerk = login(client, "admin"), login(client, "clerk")
            cam = client.post("/api/v1/cameras", headers=admin, json={
                "code": "C1", "location": "x", "department": "d", "officer": "o", "staff": "s", "purpose": "사회안정"})
            for payload in NOT_VIDEO:  # named .mp4 and sent as video/mp4: only the probe decides
                r = client.post("/api/v1/recordings", headers=clerk, data={"camera_id": str(cam.json()["id"])},
                                files={"file": ("movie.mp4", payload, "video/mp4")})
                assert r.status_code == 400, r.text
                assert r.json()["detail"]
            big = client.post("/api/v1/recordings", headers=clerk, data={"camera_id": str(cam.json()["id"])},
                              files={"file": ("big.mp4", b"\x00" * (1024 * 1024 + 10), "video/mp4")})
            assert big.status_code == 413, big.text
            assert client.get("/api/v1/recordings", headers=clerk).json() == []
    finally:
        stop(proc)
