"""A light install (issue 23): the wheel carries every run-time file, the plate models ship exported (fetched without
torch), a shipped model is a file plus a manifest entry, a new data folder is made owner-only or refused in one line,
/readyz names each missing part with its fix, and `/` leads to a page."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import ROOT, clean_env, run_redactor

from redactor.hashing import sha256_file
from redactor.weights import fetch, manifest

SHIPPED = [n for n, s in manifest.load_manifest().items() if s.shipped]


@pytest.fixture
def fresh_manifest():
    manifest.load_manifest.cache_clear()
    manifest.load_fonts.cache_clear()
    yield
    manifest.load_manifest.cache_clear()
    manifest.load_fonts.cache_clear()


def test_wheel_carries_every_runtime_file(tmp_path):
    """Every file of the packages that is not Python source (manifest, shipped weights, migrations, templates...) is
    in the wheel `pip install .` installs, and so are the migrations' Python files."""
    src = tmp_path / "src"  # a copy: an in-tree build would leave build/ behind, whose leftovers leak into wheels
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".cache", ".git", "build", "*.egg-info",
                                                             "__pycache__", ".pytest_cache", ".ruff_cache"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(tmp_path), str(src)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("redactor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "redactor", "api", "workers"], capture_output=True, text=True,
                             cwd=ROOT, check=True).stdout.split()
    needed = [p for p in tracked if not p.endswith(".py") or "/migrations/" in p]
    assert any(p.endswith("manifest.json") for p in needed) and any(p.endswith(".onnx") for p in needed)
    assert [p for p in needed if p not in names] == []


def test_shipped_plate_models_are_fetched_without_torch(tmp_path, monkeypatch, fresh_manifest):
    monkeypatch.setenv("REDACTOR_MODELS", str(tmp_path / "models"))
    for blocked in ("torch", "ultralytics"):  # importing either now fails: the fetch must not need them
        monkeypatch.setitem(sys.modules, blocked, None)
    assert set(SHIPPED) >= {"plate_safelicensing", "plate_fastanpr"}
    lock = fetch.fetch_all(only=SHIPPED, log=lambda *_: None)
    for name in SHIPPED:
        spec = manifest.load_manifest()[name]
        assert lock[name]["onnx_sha256"] == spec.sha256 and lock[name]["source"] == "redactor"
        assert sha256_file(manifest.model_path(name)) == spec.sha256
    assert list((tmp_path / "models" / "wheels").glob("*.whl")) == []  # nothing downloaded
    # the shipped export keeps the name of the checkpoint it came from, as track tables recorded it before
    assert manifest.load_manifest()["plate_safelicensing"].version.startswith("safelicensing==1.0.3:")


def _packaged_copy(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "packaged"
    shutil.copytree(manifest.PACKAGED, folder)
    monkeypatch.setattr(manifest, "PACKAGED", folder)
    monkeypatch.setattr(manifest, "MANIFEST", folder / "manifest.json")
    monkeypatch.setattr(fetch, "PACKAGED", folder)
    return folder


def test_a_shipped_model_is_a_file_plus_a_manifest_entry(tmp_path, monkeypatch, fresh_manifest):
    """How a fine-tuned model is added: its ONNX file in redactor/models and one entry, nothing else."""
    folder = _packaged_copy(tmp_path, monkeypatch)
    monkeypatch.setenv("REDACTOR_MODELS", str(tmp_path / "models"))
    tuned = folder / "plate_tuned.onnx"
    shutil.copy(folder / "plate_safelicensing.onnx", tuned)
    data = json.loads((folder / "manifest.json").read_text())
    data["models"]["plate_tuned"] = {"role": "plate detection (fine-tuned)", "shipped": True, "file": tuned.name,
                                     "sha256": sha256_file(tuned), "licence": "AGPL-3.0"}
    (folder / "manifest.json").write_text(json.dumps(data))
    fetch.fetch_all(only=["plate_tuned"], log=lambda *_: None)
    assert manifest.model_path("plate_tuned").read_bytes() == tuned.read_bytes()
    assert manifest.load_manifest()["plate_tuned"].version.startswith("redactor:plate_tuned.onnx@")


def test_an_altered_shipped_model_is_refused(tmp_path, monkeypatch, fresh_manifest):
    folder = _packaged_copy(tmp_path, monkeypatch)
    monkeypatch.setenv("REDACTOR_MODELS", str(tmp_path / "models"))
    with open(folder / "plate_fastanpr.onnx", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\0\0\0\0")
    with pytest.raises(manifest.ModelMissing, match="reinstall redactor"):
        fetch.fetch_all(only=["plate_fastanpr"], log=lambda *_: None)
    assert not (tmp_path / "models" / "plate_fastanpr.onnx").exists()


def test_a_manifest_entry_names_one_source(fresh_manifest):
    with pytest.raises(manifest.ModelMissing, match="either package and path, or shipped"):
        manifest.ModelSpec(name="x", role="r", sha256="0" * 64, licence="MIT", file="x.onnx")


# The data folder ------------------------------------------------------------------------------------------------------


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return run_redactor(*args, env=clean_env(home))


def test_a_new_data_folder_is_made_owner_only(tmp_path):
    home = tmp_path / "a" / "new" / "folder"
    r = _cli(home, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700 and (home / "redactor.db").is_file()


def test_a_data_folder_that_cannot_be_made_is_refused_in_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    for home in (tmp_path / "a-file", tmp_path / "a-file" / "below"):
        r = _cli(home, "db", "upgrade")
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and str(home) in r.stderr, r.stderr


# Readiness and the start page -------------------------------------------------------------------------------------


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDACTOR_DB", f"sqlite:///{tmp_path / 'h.db'}")
    for var in ("REDACTOR_BROKER", "REDACTOR_STORE", "REDACTOR_FONT_DIR"):
        monkeypatch.delenv(var, raising=False)
    from redactor import db

    db.upgrade()
    yield tmp_path
    db.dispose_all()


def test_readyz_names_missing_weights_and_font_with_their_fix(app_env, monkeypatch):
    from api.app import create_app
    from redactor.config import settings

    fetched = settings().models_dir  # the machine's weights, as setup fetched them
    monkeypatch.setenv("REDACTOR_MODELS", str(app_env / "models"))
    monkeypatch.setenv("REDACTOR_FONT_DIR", str(app_env / "no-fonts"))
    with TestClient(create_app()) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        failing = r.json()["failing"]
        assert set(failing) == {"models", "font"}, failing
        assert "redactor models fetch" in failing["models"] and "plate_safelicensing" in failing["models"]
        assert "NanumGothic" in failing["font"] and "redactor models fetch" in failing["font"]
        assert "fonts-nanum" in failing["font"]
        # the shipped weights arrive: the ones taken out of wheels are still named
        fetch.fetch_all(only=SHIPPED, log=lambda *_: None)
        left = client.get("/readyz").json()["failing"]["models"]
        assert "plate_safelicensing" not in left and "face_yunet" in left
        shutil.copytree(fetched, app_env / "models", dirs_exist_ok=True, ignore=shutil.ignore_patterns("wheels"))
        assert set(client.get("/readyz").json()["failing"]) == {"font"}
        monkeypatch.delenv("REDACTOR_FONT_DIR")
        assert client.get("/readyz").status_code == 200


def test_readyz_is_ready_with_the_fetched_weights(app_env):
    from api.app import create_app

    with TestClient(create_app()) as client:
        r = client.get("/readyz")
        assert r.status_code == 200, r.text


def test_root_leads_to_a_korean_page_linking_the_docs_and_readiness(app_env):
    from api.app import create_app

    with TestClient(create_app()) as client:
        r = client.get("/", follow_redirects=False)
        assert r.status_code in (301, 302, 303, 307, 308)
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert 'href="/docs"' in page.text and 'href="/readyz"' in page.text and "로그인" in page.text  # the console
        assert client.get("/docs").status_code == 200


@pytest.mark.slow
def test_the_font_from_its_pinned_wheel_renders_a_korean_notice(tmp_path, monkeypatch, fresh_manifest):
    """A pip-only machine (no Debian fonts-nanum): the font comes out of its pinned PyPI wheel into the font folder,
    and a 별지 notice renders with it."""
    from redactor.documents import fonts

    monkeypatch.setenv("REDACTOR_FONT_DIR", str(tmp_path / "fonts"))
    with pytest.raises(fonts.FontMissing):
        fonts.font_files()
    folder = fetch.fetch_fonts(tmp_path / "wheels", log=lambda *_: None)
    regular, bold = fonts.font_files()
    assert folder == tmp_path / "fonts" and regular.name == "NanumGothic.ttf" and bold.name == "NanumGothicBold.ttf"
    from reportlab.pdfbase.ttfonts import TTFont

    assert TTFont("probe", str(regular)).face.charToGlyph.get(ord("열"))  # a Korean glyph is there
