"""/healthz and /readyz in process (FastAPI TestClient): ready on a migrated database with the local store; 503
naming the database when it has no schema, and the broker when the broker cannot be reached."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDACTOR_DB", f"sqlite:///{tmp_path / 'h.db'}")
    monkeypatch.delenv("REDACTOR_BROKER", raising=False)
    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    yield tmp_path
    from redactor import db

    db.dispose_all()


def test_ready_when_everything_answers(env):
    from api.app import create_app
    from redactor import db

    db.upgrade()
    with TestClient(create_app()) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        r = client.get("/readyz")
        assert r.status_code == 200 and r.json()["broker"] == "embedded"


def test_unready_names_the_database_and_the_broker(env):
    from api.app import create_app
    from api.settings import ServiceSettings

    # no `db upgrade`, and a broker port nothing listens on
    app = create_app(ServiceSettings(broker="redis://127.0.0.1:1/0"))
    client = TestClient(app)
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 503
    failing = r.json()["failing"]
    assert "db upgrade" in failing["database"] and "broker" in failing and "object_store" not in failing
