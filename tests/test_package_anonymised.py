"""Anonymised export (제32조① 4): everyone masked, the audit passes before anything is stored, or nothing is."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import av
import pytest
from conftest import SHARED

from redactor.disclosure.anonymised import anonymised_export
from redactor.errors import AuditObjection, BadInput
from redactor.storage.base import utcnow
from redactor.storage.local import LocalStore

TOOLS = SHARED / "tools"


def test_storing_needs_key_and_expiry(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    with pytest.raises(BadInput):
        anonymised_export(tmp_path / "x.mp4", tmp_path / "y.mp4", store=LocalStore())


@pytest.mark.slow
def test_export_masks_audits_then_stores(evaldata, tmp_path, monkeypatch):
    from redactor.config import settings

    monkeypatch.setenv("REDACTOR_MODELS", str(settings().models_dir))  # the fetched weights, before HOME moves
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    clip = tmp_path / "crowd.mp4"
    images = sorted(p.name for p in (evaldata / "faces").glob("*.jpg"))[20:22]
    subprocess.run([sys.executable, str(TOOLS / "make_clip.py"), str(evaldata / "faces" / "labels.json"),
                    str(evaldata / "faces"), str(clip), "--seconds", "2", "--size", "640x360", "--images", *images],
                   check=True, capture_output=True)
    store, out = LocalStore(), tmp_path / "press.mp4"
    try:
        result = anonymised_export(clip, out, store=store, object_key="anon/press.mp4",
                                   expires_at=utcnow() + timedelta(days=30), entry=12)
    except AuditObjection:
        # fail closed: no file, nothing stored
        assert not out.exists() and not store.exists("anon/press.mp4")
        return
    assert result.report["released"] and result.report["findings"] == [] and result.report["kept"] == []
    assert sum(result.report["tracks"].values()) > 0
    with av.open(str(out)) as c:
        assert not c.streams.audio  # make_clip's tone is gone
        assert not {k for k in c.metadata if k.lower() in ("title", "comment", "location", "creation_time")}
    assert b"".join(store.get("anon/press.mp4")) == out.read_bytes()
