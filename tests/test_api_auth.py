"""Passwords and tokens on their own: Argon2id hashes, the password policy, token expiry and signature, the secret's
source (REDACTOR_SECRET_KEY, else a key file made once in REDACTOR_HOME/keys)."""

from __future__ import annotations

import datetime as dt

import pytest

from redactor.auth import passwords, tokens
from redactor.errors import BadInput


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REDACTOR_SECRET_KEY", raising=False)
    tokens._secret_for.cache_clear()
    yield tmp_path / "home"
    tokens._secret_for.cache_clear()


def test_password_hash_verifies_only_the_password():
    stored = passwords.hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert passwords.verify_password(stored, "correct horse")
    assert not passwords.verify_password(stored, "correct horsf")
    assert not passwords.verify_password(None, "correct horse")  # unknown user: no, after the same work
    assert not passwords.verify_password("not a hash", "x")
    with pytest.raises(BadInput, match="at least 8"):
        passwords.hash_password("short")


def test_token_round_trip_expiry_and_tampering(home):
    token, seconds = tokens.issue(7, "clerk")
    assert tokens.read(token) == 7 and seconds == 15 * 60
    assert (home / "keys" / "token.key").stat().st_mode & 0o777 == 0o600
    old, _ = tokens.issue(7, "clerk", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with pytest.raises(tokens.TokenInvalid, match="expired"):
        tokens.read(old)
    head, body, sig = token.split(".")
    with pytest.raises(tokens.TokenInvalid):
        tokens.read(f"{head}.{body}.{sig[:-2]}AA")


def test_secret_from_the_environment(monkeypatch, home):
    token, _ = tokens.issue(1, "admin")  # signed with the key file
    monkeypatch.setenv("REDACTOR_SECRET_KEY", "x" * 40)
    with pytest.raises(tokens.TokenInvalid):
        tokens.read(token)  # another secret: refused
    assert tokens.read(tokens.issue(1, "admin")[0]) == 1
    monkeypatch.setenv("REDACTOR_SECRET_KEY", "short")
    with pytest.raises(tokens.TokenInvalid, match="at least 32"):
        tokens.issue(1, "admin")
