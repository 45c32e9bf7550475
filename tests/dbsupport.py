"""Database fixtures for the registry, disclosure, ledger and retention tests: every test runs on SQLite AND on the
real PostgreSQL server (one schema made and migrated per session, emptied before each test, dropped at the end).
Import the fixtures into a test module with `from dbsupport import *  # noqa: F403`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from redactor import db
from redactor.schema import load_models

POSTGRES_URL = os.environ.get("REDACTOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PREFIX = "redactor_test_"

__all__ = ["pg_server", "sqlite_template", "db_url", "session", "ledger_home"]


class PgServer:
    """A fresh schema in the test database for the whole session, emptied before each test, dropped at the end.

    A schema (chosen by the connection's search_path) rather than a database: DROP DATABASE forces a checkpoint of the
    whole cluster (over ten seconds here), DROP SCHEMA does not. Emptying between tests (TRUNCATE with triggers off
    for that one connection) costs milliseconds.
    """

    def __init__(self) -> None:
        base = make_url(db.normalize_url(POSTGRES_URL))
        self.schema = f"{PREFIX}{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        self.url = base.update_query_dict({"options": f"-csearch_path={self.schema}"}).render_as_string(
            hide_password=False)
        db.upgrade(self.url)
        self.tables = [t.name for t in reversed(load_models().sorted_tables)]

    def reset(self) -> str:
        """Empty every table and re-arm the append-only triggers a test may have disabled."""
        eng = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("SET session_replication_role = replica"))  # lets TRUNCATE pass the ledger triggers
            conn.execute(text(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE"))
            for table in ("ledger_entries", "ledger_checkpoints"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        eng.dispose()
        return self.url

    def drop(self) -> None:
        db.dispose_all()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = PgServer()
    except OperationalError as err:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {err.orig}")
    yield server
    server.drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    db.dispose_all()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A freshly migrated, empty database of each kind; also set as REDACTOR_DB for code that reads settings."""
    if request.param == "sqlite":
        path = tmp_path / "redactor.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        db.get_engine(server.url).dispose()
        url = server.reset()
    mp = pytest.MonkeyPatch()
    mp.setenv("REDACTOR_DB", url)
    yield url
    mp.undo()
    db.get_engine(url).dispose()


@pytest.fixture
def ledger_home(tmp_path, monkeypatch) -> Path:
    """A REDACTOR_HOME of the test's own, so the ledger key is generated fresh there."""
    home = tmp_path / "home"
    monkeypatch.setenv("REDACTOR_HOME", str(home))
    monkeypatch.delenv("REDACTOR_LEDGER_KEY", raising=False)
    return home


@pytest.fixture
def session(db_url, ledger_home) -> Iterator[Session]:
    s = db.session_factory(db_url)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()
