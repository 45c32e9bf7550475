"""Footage registered in place is re-checked whenever it is opened (issue 20: it could be swapped for a symbolic link
after registration and was then read outside the allowed folder). Real files, real links, the real API and its
embedded worker (each job in its own process), a real clip."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from services import short_clip  # noqa: F401

from redactor.errors import BadInput
from redactor.registry.inplace import fingerprint, open_registered, unlink_registered


@pytest.fixture
def folders(tmp_path):
    allowed, outside = tmp_path / "import", tmp_path / "outside"
    (allowed / "cam9").mkdir(parents=True)
    outside.mkdir()
    return allowed.resolve(), outside.resolve()


def test_unchanged_footage_opens_as_the_checked_file(folders, short_clip):  # noqa: F811
    allowed, outside = folders
    clip = allowed / "cam9" / "a.mp4"
    shutil.copy(short_clip, clip)
    size, sha = fingerprint(clip)
    with open_registered(clip, size, sha, (allowed,)) as opened:
        # the path is swapped for another file while it is open: the bytes read are still the checked file's
        clip.unlink()
        clip.write_bytes(b"swapped")
        assert opened.read_bytes() == short_clip.read_bytes()


@pytest.mark.parametrize("change", ["file-to-link", "folder-to-link", "same-size-other-bytes", "grown", "gone"])
def test_changed_footage_is_refused(folders, short_clip, change):  # noqa: F811
    allowed, outside = folders
    clip = allowed / "cam9" / "a.mp4"
    shutil.copy(short_clip, clip)
    size, sha = fingerprint(clip)
    secret = outside / "a.mp4"
    secret.write_bytes(b"\0" * size)  # what an attacker wants read: the same name and size, elsewhere
    if change == "file-to-link":
        clip.unlink()
        clip.symlink_to(secret)
    elif change == "folder-to-link":
        shutil.rmtree(allowed / "cam9")
        (allowed / "cam9").symlink_to(outside, target_is_directory=True)
    elif change == "same-size-other-bytes":
        data = bytearray(clip.read_bytes())
        data[len(data) // 2] ^= 0xFF
        clip.write_bytes(bytes(data))
    elif change == "grown":
        with open(clip, "ab") as fh:
            fh.write(b"x")
    else:
        clip.unlink()
    words = {"file-to-link": "symbolic link", "folder-to-link": "symbolic link", "same-size-other-bytes": "sha256",
             "grown": "bytes", "gone": "gone"}[change]
    with pytest.raises(BadInput, match=words):
        with open_registered(clip, size, sha, (allowed,)):
            pass
    with pytest.raises(BadInput, match="REDACTOR_IMPORT_DIRS"):  # a process that allows no folder opens none
        with open_registered(clip, size, sha, ()):
            pass


def test_retention_never_deletes_through_a_swapped_folder(folders):
    allowed, outside = folders
    clip = allowed / "cam9" / "a.mp4"
    clip.write_bytes(b"footage")
    secret = outside / "a.mp4"
    secret.write_bytes(b"someone else's file")
    shutil.rmtree(allowed / "cam9")
    (allowed / "cam9").symlink_to(outside, target_is_directory=True)
    with pytest.raises(BadInput, match="not deleted"):
        unlink_registered(clip)
    assert secret.read_bytes() == b"someone else's file"
    (allowed / "cam9").unlink()
    (allowed / "cam9").mkdir()
    (allowed / "cam9" / "a.mp4").symlink_to(secret)  # a link in the file's place: the link goes, not its target
    unlink_registered(clip)
    assert not clip.is_symlink() and secret.exists()


@pytest.fixture
def api(tmp_path, monkeypatch, folders):
    allowed, _ = folders
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDACTOR_DB", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("REDACTOR_IMPORT_DIRS", str(allowed))
    monkeypatch.delenv("REDACTOR_BROKER", raising=False)
    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    from api.app import create_app
    from redactor import db
    from redactor.auth import accounts, tokens

    db.upgrade()
    with db.session_scope() as s:
        headers = {}
        for role in ("operator", "admin"):
            user = accounts.create(s, role, role, "a-long-password")
            s.flush()
            headers[role] = {"Authorization": f"Bearer {tokens.issue(user.id, role)[0]}"}
    with TestClient(create_app()) as c:
        cam = c.post("/api/v1/cameras", headers=headers["admin"], json={
            "code": "C9", "location": "x", "department": "d", "officer": "o", "staff": "s", "purpose": "시설관리"})
        assert cam.status_code == 201, cam.text
        yield c, headers["operator"], cam.json()["id"]
    db.dispose_all()


def test_footage_swapped_for_a_link_after_registration_is_not_analysed(api, folders, short_clip):  # noqa: F811
    c, operator, cam = api
    allowed, outside = folders
    clip = allowed / "cam9" / "a.mp4"
    shutil.copy(short_clip, clip)
    r = c.post("/api/v1/recordings/register", headers=operator, json={"camera_id": cam, "path": str(clip)})
    assert r.status_code == 201, r.text
    link = allowed / "cam9" / "b.mp4"
    link.symlink_to(outside / "x.mp4")
    r = c.post("/api/v1/recordings/register", headers=operator, json={"camera_id": cam, "path": str(link)})
    assert r.status_code == 400 and "allowed import folder" in r.json()["detail"]  # resolved at registration

    # after registration: the clip is replaced by a link to footage outside the allowed folder
    shutil.copy(short_clip, outside / "other.mp4")
    clip.unlink()
    clip.symlink_to(outside / "other.mp4")
    job = c.post("/api/v1/analyses", headers=operator, json={"recording_id": r_id(c, operator),
                                                             "request_id": assigned_request(cam)})
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 120
    while (done := c.get(f"/api/v1/jobs/{job.json()['id']}", headers=operator).json())["status"] not in (
            "done", "failed", "blocked"):
        assert time.monotonic() < deadline, done
        time.sleep(0.3)
    assert done["status"] == "failed" and "symbolic link" in done["error"], done


def assigned_request(camera_id: int) -> int:
    """A request the operator handles (assigned by the privacy officer): what an analysis serves."""
    from redactor import db
    from redactor.auth.accounts import by_name
    from redactor.disclosure.assignment import assign
    from redactor.disclosure.service import receive_request

    now = dt.datetime.now(dt.UTC)
    with db.session_scope() as s:
        req = receive_request(s, kind="열람", requester_name="가", period_from=now - dt.timedelta(hours=1),
                              period_to=now, camera_location="x", camera_id=camera_id, purpose="p",
                              received_by="clerk")
        assign(s, by_name(s, "operator"), by="privacy_officer", request=req)
        return req.id


def r_id(c, operator) -> int:
    return next(r["id"] for r in c.get("/api/v1/recordings", headers=operator).json() if r["file"] == "a.mp4")


def test_recording_row_holds_size_and_sha(api, folders, short_clip):  # noqa: F811
    from redactor import db
    from redactor.registry.models import Recording

    c, operator, cam = api
    allowed, _ = folders
    clip = allowed / "cam9" / "a.mp4"
    shutil.copy(short_clip, clip)
    r = c.post("/api/v1/recordings/register", headers=operator, json={"camera_id": cam, "path": str(clip)})
    assert r.status_code == 201, r.text
    with db.session_scope() as s:
        rec = s.get(Recording, r.json()["id"])
        assert (rec.size_bytes, rec.sha256) == fingerprint(clip) and Path(rec.object_key) == clip
