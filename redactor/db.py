"""The database: one engine per URL, sessions, the declarative base, and migrations run in-process.

The URL comes from `redactor.config.settings().db_url` (`--db` / REDACTOR_DB; default a SQLite file in REDACTOR_HOME).
SQLite is the embedded default; PostgreSQL is production. A plain `postgresql://` URL is mapped to the psycopg 3
driver, the one the project installs.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from redactor.config import DataFolderError, data_home, private_path, settings
from redactor.errors import RedactorError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

class DatabaseNotReady(RedactorError):
    """The schema is missing or older than this code: `redactor db upgrade` fixes it."""

    exit_code = 5


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here; other URLs pass unchanged."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """One pooled engine per URL, created on first use."""
    key = normalize_url(url or settings().db_url)
    if key not in _ENGINES:
        _ENGINES[key] = _create_engine(key)
    return _ENGINES[key]


def _create_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    _private_database(u)
    eng = create_engine(url)
    _sqlite_transactions(eng)
    return eng


SQLITE_BUSY_MS = 30_000  # how long a writer waits for another's commit before the database answers "busy"
_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")


def _sqlite_transactions(eng: Engine) -> None:
    """SQLite transactions that never lose a write to a race between staff working at once.

    SQLite lets one writer at a time. A transaction that read first (BEGIN DEFERRED, Python's default) and then
    writes cannot wait for the write lock: SQLite answers "database is locked" at once (a reader upgrading while
    another writer waits would deadlock, and in WAL mode its snapshot may be stale). So the transaction is begun here,
    not by the driver: reads begin a plain snapshot (WAL: they never wait and never block); the first write, or the
    first SELECT ... FOR UPDATE, ends that read-only snapshot and begins again with BEGIN IMMEDIATE, which waits
    (busy_timeout) for the write lock and then holds it until the commit. Reads before the first write so see
    committed data, as on PostgreSQL's READ COMMITTED; from the first write on the transaction is alone.
    """

    @event.listens_for(eng, "connect")
    def _sqlite_pragmas(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # the driver begins nothing: _begin below does
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        _write_ahead_log(cur)
        cur.close()

    @event.listens_for(eng, "before_cursor_execute")
    def _begin(conn, cursor, statement, parameters, context, executemany) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # asked for no transaction: each statement stands alone
        raw = conn.connection.dbapi_connection
        verb = statement.lstrip()[:8].upper()
        writes = not verb.startswith(_READ_STATEMENTS) or _for_update(context)
        if not raw.in_transaction:
            cursor.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
            conn.info["sqlite_writer"] = writes
        elif writes and not conn.info.get("sqlite_writer"):
            cursor.execute("COMMIT")  # only reads so far: nothing is lost, the snapshot is let go
            cursor.execute("BEGIN IMMEDIATE")
            conn.info["sqlite_writer"] = True


def _write_ahead_log(cur) -> None:
    """Put the database in WAL mode (readers never wait for a writer; a file db, :memory: ignores it). WAL is kept in
    the file, so this normally only reads the mode: `upgrade` sets it when the database is made. Switching needs the
    database to itself, and SQLite answers "database is locked" at once, without waiting (busy_timeout does not
    apply), while another connection writes: the first connections of a service (or of staff's threads) opening a
    database still in rollback mode lost a request that way (CI, stop 25). So a refused switch is tried again."""
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while cur.execute("PRAGMA journal_mode").fetchone()[0].lower() not in ("wal", "memory"):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _for_update(context) -> bool:
    """The statement is a SELECT ... FOR UPDATE (SQLite's compiler drops the clause; its intent is kept here)."""
    statement = getattr(getattr(context, "compiled", None), "statement", None)
    return getattr(statement, "_for_update_arg", None) is not None


def _private_database(u) -> None:
    """The SQLite file is 0600 (its journals take its mode), and the data folder holding it 0700: it holds the
    requests, the ledger's personal fields and the accounts."""
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return
    path = Path(u.database).expanduser()
    if path.resolve().parent.is_relative_to(settings().home.resolve()):
        data_home()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataFolderError(f"cannot make the database's folder {path.parent}: {err.strerror or err}") from None
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # SQLite takes an empty file as new
    except FileExistsError:
        private_path(path, 0o600)


def dispose_all() -> None:
    """Close every pooled connection (tests that drop databases call this first)."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error: nothing half-written stays."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Run the migrations up to `revision` (no alembic.ini needed: the configuration is built here)."""
    from alembic import command

    url = normalize_url(url or settings().db_url)
    _private_database(make_url(url))  # before the migration's own engine makes the file
    command.upgrade(_alembic_config(url), revision)
    if make_url(url).get_backend_name() == "sqlite":
        with get_engine(url).connect():  # WAL from the start, alone: see _write_ahead_log
            pass


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


def require_current(url: str | None = None) -> None:
    """Fail with one clear line when the schema is missing or behind, instead of a SQL error deep in a command."""
    from alembic.runtime.migration import MigrationContext

    eng = get_engine(url)
    with eng.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            raise DatabaseNotReady(f"database {eng.url.render_as_string()} has no schema: run `redactor db upgrade`")
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head_revision():
        raise DatabaseNotReady(f"database schema is at {current}, code expects {head_revision()}: "
                               "run `redactor db upgrade`")
