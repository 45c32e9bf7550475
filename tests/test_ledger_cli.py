"""The issue's checks, through the command line in a subprocess, on SQLite and on PostgreSQL.

upgrade + demo-data + verify exits 0; a row altered behind the ledger's back is named; a checkpoint signed before the
change still verifies its prefix; the JSONL export verifies offline with the public key alone, and one changed
character in any line fails naming the line; the xlsx has the 별지 2호 columns in order and one row per entry.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dbsupport import *  # noqa: F403
from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from redactor.ledger.entry import HEADERS
from redactor.ledger.keys import public_pem
from redactor.ledger.service import Ledger, Personal
from redactor.ledger.verify import verify_file


def redactor(*args: str, home: Path, db: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDACTOR_HOME": str(home)}
    env.pop("REDACTOR_LEDGER_KEY", None)
    env.pop("REDACTOR_DB", None)
    cmd = [sys.executable, "-m", "redactor", *(["--db", db] if db else []), *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli_db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'X.db'}"  # not migrated: the test runs `db upgrade` itself
    server = request.getfixturevalue("pg_server")
    url = server.reset()
    return url.replace("postgresql+psycopg://", "postgresql://")  # the plain URL an operator would type


def test_the_issue_checks(cli_db, tmp_path):
    home = tmp_path / "home"
    redactor("db", "upgrade", home=home, db=cli_db)
    out = redactor("demo-data", home=home, db=cli_db).stdout
    n = int(re.search(r"ledger_entries (\d+)", out).group(1))
    assert n > 100
    assert "OK" in redactor("ledger", "verify", home=home, db=cli_db).stdout

    # Exports.
    jsonl, xlsx, pdf, pub = (tmp_path / f for f in ("L.jsonl", "L.xlsx", "L.pdf", "PUBLIC_KEY.pem"))
    redactor("ledger", "export", "--format", "jsonl", "-o", str(jsonl), home=home, db=cli_db)
    redactor("ledger", "export", "--format", "xlsx", "-o", str(xlsx), home=home, db=cli_db)
    redactor("ledger", "export", "--format", "pdf", "-o", str(pdf), home=home, db=cli_db)
    pub.write_text(redactor("ledger", "public-key", home=home, db=cli_db).stdout)
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")

    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS == ["번호", "구분", "일시", "파일명/형태", "담당자", "목적/사유",
                                        "이용·제공받는 제3자/열람등 요구자", "이용·제공근거", "이용·제공 형태",
                                        "기간", "결재"]
    assert len(rows) == n + 1 and [r[0] for r in rows[1:]] == list(range(1, n + 1))
    assert {r[1] for r in rows[1:]} == {"이용", "제공", "열람", "파기"}
    pdf_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "영상정보제공 관리대장" in pdf_text

    # Offline: another home (no key there), a database that does not exist: only the file and the public key.
    elsewhere = tmp_path / "auditor"
    offline_db = f"sqlite:///{tmp_path / 'nowhere' / 'none.db'}"
    ok = redactor("ledger", "verify", "--file", str(jsonl), "--key", str(pub), home=elsewhere, db=offline_db)
    assert "OK" in ok.stdout and not (elsewhere / "keys").exists()
    lines = jsonl.read_bytes().splitlines(keepends=True)
    k = next(i for i in range(len(lines) // 2, len(lines)) if b'"type":"entry"' in lines[i])
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(lines[:k] + [lines[k].replace(b'"kind":"', b'"kind":"X', 1)] + lines[k + 1:]))
    fail = redactor("ledger", "verify", "--file", str(bad), "--key", str(pub), home=elsewhere, check=False)
    assert fail.returncode != 0 and f"line {k + 1}" in fail.stderr

    # Behind its back.
    target = n // 2
    if cli_db.startswith("sqlite"):
        db_file = cli_db.removeprefix("sqlite:///")
        sql = f"UPDATE ledger_entries SET purpose = purpose || '.' WHERE number = {int(target)}"  # noqa: S608
        subprocess.run(["sqlite3", db_file, sql], check=True)
        fail = redactor("ledger", "verify", home=home, db=cli_db, check=False)
        assert fail.returncode != 0
        assert f"entry {target} " in fail.stderr
        prefix = redactor("ledger", "verify", "--checkpoint", str(target - 1), home=home, db=cli_db)
        assert "OK" in prefix.stdout
        after = redactor("ledger", "verify", "--checkpoint", str(target), home=home, db=cli_db, check=False)
        assert after.returncode != 0
    else:
        eng = create_engine(cli_db.replace("postgresql://", "postgresql+psycopg://"))
        for sql, arg in (("UPDATE ledger_entries SET purpose = 'x' WHERE number = :n", target),
                         ("DELETE FROM ledger_entries WHERE number = :n", n),
                         ("DELETE FROM ledger_checkpoints WHERE tree_size = :n", n)):
            with eng.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(sql), {"n": arg})
        eng.dispose()
        assert "OK" in redactor("ledger", "verify", home=home, db=cli_db).stdout


def test_demo_data_refuses_a_filled_database_and_an_unmigrated_one(tmp_path):
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'Y.db'}"
    fail = redactor("demo-data", home=home, db=url, check=False)
    assert fail.returncode == 5 and "db upgrade" in fail.stderr and "Traceback" not in fail.stderr


def mutate(ch: str) -> str:
    if ch.isdigit():
        return str((int(ch) + 1) % 10)
    return "y" if ch == "x" else "x"


def test_one_changed_character_in_any_line_is_named(session, tmp_path):
    """Every line of an export, changed at every 5th character (and its first and last), fails and is named."""
    ledger = Ledger()
    t0 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    for i in range(6):
        ledger.append(session, ["열람", "제공", "이용", "파기"][i % 4], occurred_at=t0 + dt.timedelta(minutes=i),
                      file=f"클립{i}.mp4", officer="clerk", purpose="확인", party="정보주체 본인",
                      personal=Personal("김하늘", "010-0123-4567"), basis="지침 제33조", form="열람",
                      period="당일", approval="officer", ref=f"request:{i}")
    session.commit()
    path = tmp_path / "L.jsonl"
    from redactor.ledger.export import export

    export(session, "jsonl", path)
    key = ledger.key.public_key()
    assert verify_file(path, key).ok
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) == 12
    bad = tmp_path / "bad.jsonl"
    tried = 0
    for i, line in enumerate(lines):
        body = line.rstrip("\n")
        for pos in sorted({0, len(body) - 1, *range(0, len(body), 5)}):
            changed = body[:pos] + mutate(body[pos]) + body[pos + 1:] + "\n"
            bad.write_text("".join(lines[:i] + [changed] + lines[i + 1:]), encoding="utf-8")
            report = verify_file(bad, key)
            assert not report.ok, (i, pos)
            assert report.problems[0].startswith(f"line {i + 1}:") or report.problems[0].startswith(
                f"line {i + 1} "), (i, pos, report.problems[0])
            tried += 1
    assert tried > 500
    # A key that did not sign the log does not verify it either.
    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other.write_bytes(public_pem(Ed25519PrivateKey.generate()))
    from redactor.ledger.keys import load_public_key

    assert not verify_file(path, load_public_key(other)).ok
    json.loads(lines[0])  # the lines are plain JSON for any tool
