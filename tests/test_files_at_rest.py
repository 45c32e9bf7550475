"""Files at rest (issue 20): the data folder is 0700 and the SQLite database 0600, whatever the umask and even when
they were made wider before; the master key can come from a key file outside the data folder, and then nothing of it
lies beside the objects it seals. Through the CLI in subprocesses, with the real local store."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import clean_env, run_redactor

from redactor.storage.secrets import SecretMissing


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_redactor(*args, env=env, umask=0o022)  # a loose umask: the modes must come from the code


def test_data_folder_0700_and_database_0600(tmp_path):
    home = tmp_path / "home"
    r = cli("db", "upgrade", env=clean_env(home))
    assert r.returncode == 0, r.stderr
    assert mode(home) == 0o700 and mode(home / "redactor.db") == 0o600
    # made wider by hand (or by an older version): tightened on the next use
    home.chmod(0o755)
    (home / "redactor.db").chmod(0o644)
    r = cli("db", "current", env=clean_env(home))
    assert r.returncode == 0, r.stderr
    assert mode(home) == 0o700 and mode(home / "redactor.db") == 0o600
    # a database outside the data folder is 0600 too
    elsewhere = tmp_path / "db" / "r.db"
    r = cli("db", "upgrade", env=clean_env(home, REDACTOR_DB=f"sqlite:///{elsewhere}"))
    assert r.returncode == 0, r.stderr
    assert mode(elsewhere) == 0o600


SEAL_AND_OPEN = """
import sys
from redactor.storage import open_store
from redactor.base import utcnow
import datetime as dt
store = open_store()
if sys.argv[1] == "put":
    store.put("recordings/x.bin", sys.argv[2], expires_at=utcnow() + dt.timedelta(days=1))
print(b"".join(store.get("recordings/x.bin")).decode())
"""


def test_master_key_from_a_file_outside_the_data_folder(tmp_path):
    home, keys = tmp_path / "home", tmp_path / "etc-redactor"
    keys.mkdir(mode=0o700)
    key_file = keys / "master.key"
    key_file.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    key_file.chmod(0o600)
    src = tmp_path / "clip.bin"
    src.write_text("footage bytes")
    env = clean_env(home, REDACTOR_MASTER_KEY_FILE=str(key_file))
    run = [sys.executable, "-c", SEAL_AND_OPEN]
    r = subprocess.run([*run, "put", str(src)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "footage bytes", r.stderr
    assert mode(home) == 0o700
    assert not (home / "keys" / "master.key").exists()  # nothing of the master key beside the objects
    sealed = list((home / "objects").rglob("*.sealed"))
    assert sealed and b"footage bytes" not in sealed[0].read_bytes()
    # the data folder alone opens nothing
    r = subprocess.run([*run, "get"], env=clean_env(home), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "footage bytes" not in r.stdout
    r = subprocess.run([*run, "get"], env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "footage bytes", r.stderr


def test_key_file_inside_the_data_folder_or_world_readable_is_refused(tmp_path, monkeypatch):
    from redactor.storage.secrets import master_key

    home = tmp_path / "home"
    monkeypatch.setenv("REDACTOR_HOME", str(home))
    monkeypatch.delenv("REDACTOR_MASTER_KEY", raising=False)
    inside = home / "master.key"
    home.mkdir()
    inside.write_text(base64.b64encode(os.urandom(32)).decode())
    inside.chmod(0o600)
    monkeypatch.setenv("REDACTOR_MASTER_KEY_FILE", str(inside))
    with pytest.raises(SecretMissing, match="inside the data folder"):
        master_key()
    loose = tmp_path / "loose.key"
    loose.write_text(base64.b64encode(os.urandom(32)).decode())
    loose.chmod(0o644)
    monkeypatch.setenv("REDACTOR_MASTER_KEY_FILE", str(loose))
    with pytest.raises(SecretMissing, match="readable by every user"):
        master_key()
    monkeypatch.setenv("REDACTOR_MASTER_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(SecretMissing, match="cannot read the key file"):
        master_key()
    loose.chmod(0o600)
    monkeypatch.setenv("REDACTOR_MASTER_KEY_FILE", str(loose))
    assert len(master_key()) == 32 and not (home / "keys" / "master.key").exists()
