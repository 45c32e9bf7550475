"""The database layer on SQLite and PostgreSQL: URLs, migrations, schema check, aware timestamps."""

from __future__ import annotations

import datetime as dt

import pytest
from dbsupport import *  # noqa: F403
from sqlalchemy import inspect

from redactor import db
from redactor.registry import service as rs
from redactor.registry.models import Camera, Purpose
from redactor.schema import load_models


def test_normalize_url():
    assert db.normalize_url("postgresql://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert db.normalize_url("postgres://h/d") == "postgresql+psycopg://h/d"
    assert db.normalize_url("postgresql+psycopg://h/d") == "postgresql+psycopg://h/d"
    assert db.normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_missing_schema_is_one_clear_error(tmp_path):
    with pytest.raises(db.DatabaseNotReady, match="db upgrade"):
        db.require_current(f"sqlite:///{tmp_path / 'empty.db'}")


def test_upgrade_is_idempotent_and_creates_every_table(db_url):
    db.upgrade(db_url)
    db.require_current(db_url)
    tables = set(inspect(db.get_engine(db_url)).get_table_names())
    assert set(load_models().tables) <= tables


def test_times_round_trip_aware(session):
    kst = dt.timezone(dt.timedelta(hours=9))
    t = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=kst)
    cam = rs.add_camera(session, code="C", location="l", department="d", officer="o", staff="s",
                        purpose=Purpose.사회안정, installed_on=t)
    session.commit()
    session.expire_all()
    got = session.get(Camera, cam.id).installed_on
    assert got == t and got.tzinfo is not None and got.utcoffset() == dt.timedelta(0)
    with pytest.raises(Exception, match="naive"):
        cam.installed_on = dt.datetime(2026, 1, 1)
        session.flush()
