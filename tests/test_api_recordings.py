"""Recordings in process (FastAPI TestClient, real SQLite, real local store, real clip): an upload is stored sealed
and logged; registration in place only from a folder in REDACTOR_IMPORT_DIRS; a camera that does not exist is 404."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from services import short_clip  # noqa: F401


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDACTOR_DB", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("REDACTOR_IMPORT_DIRS", str(tmp_path / "import"))
    monkeypatch.delenv("REDACTOR_BROKER", raising=False)
    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    from api.app import create_app
    from redactor import db
    from redactor.auth import accounts, tokens

    db.upgrade()
    with db.session_scope() as s:
        headers = {}
        for role in ("operator", "auditor", "admin"):
            user = accounts.create(s, role, role, "a-long-password")
            s.flush()
            headers[role] = {"Authorization": f"Bearer {tokens.issue(user.id, role)[0]}"}
    with TestClient(create_app()) as c:
        cam = c.post("/api/v1/cameras", headers=headers["admin"], json={
            "code": "C9", "location": "x", "department": "d", "officer": "o", "staff": "s", "purpose": "시설관리"})
        assert cam.status_code == 201, cam.text
        yield c, headers, cam.json()["id"], tmp_path
    db.dispose_all()


def test_upload_is_sealed_and_logged(client, short_clip):  # noqa: F811
    c, headers, cam, tmp_path = client
    with open(short_clip, "rb") as fh:
        r = c.post("/api/v1/recordings", headers=headers["operator"],
                   data={"camera_id": str(cam), "reason": "사건 현장 확인"}, files={"file": ("x.dat", fh)})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["video"]["width"] == 320 and rec["expires_at"] > rec["end_at"]
    sealed = list((tmp_path / "home" / "objects").rglob("*.sealed"))
    assert len(sealed) == 1 and short_clip.read_bytes()[:4096] not in sealed[0].read_bytes()
    log = c.get("/api/v1/access-log", headers=headers["auditor"]).json()
    assert [(a["actor"], a["action"], a["target"], a["reason"]) for a in log] == [
        ("operator", "upload", f"recording:{rec['id']}", "사건 현장 확인")]
    assert c.post("/api/v1/recordings", headers=headers["operator"], data={"camera_id": "999"},
                  files={"file": ("x.mp4", b"x")}).status_code == 404


def test_register_in_place_only_from_allowed_folders(client, short_clip):  # noqa: F811
    c, headers, cam, tmp_path = client
    (tmp_path / "import").mkdir()
    inside = tmp_path / "import" / "cam9.mp4"
    shutil.copy(short_clip, inside)
    r = c.post("/api/v1/recordings/register", headers=headers["operator"],
               json={"camera_id": cam, "path": str(short_clip)})
    assert r.status_code == 400 and "allowed import folder" in r.json()["detail"]
    r = c.post("/api/v1/recordings/register", headers=headers["operator"],
               json={"camera_id": cam, "path": str(tmp_path / "import" / ".." / "r.db")})
    assert r.status_code == 400
    r = c.post("/api/v1/recordings/register", headers=headers["operator"], json={"camera_id": cam, "path": str(inside)})
    assert r.status_code == 201, r.text
    assert r.json()["file"] == "cam9.mp4"
