"""Service secrets: from the environment first (the value, or NAME_FILE: a key file the operator keeps outside the
data folder), else a key file under REDACTOR_HOME/keys/ created once with mode 0600.

Secrets never go into the database or logs. A key file is created atomically (O_EXCL), so two processes starting at
once cannot end up with different keys.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from redactor.config import data_home, private_dir, settings
from redactor.errors import RedactorError


class SecretMissing(RedactorError):
    """A configured secret is malformed (wrong length, not base64)."""

    exit_code = 4


def keys_dir() -> Path:
    return private_dir(settings().home / "keys")


def _decode(value: str, source: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except ValueError:
        raise SecretMissing(f"{source}: not base64") from None
    if len(raw) != 32:
        raise SecretMissing(f"{source}: must be 32 bytes (base64 of 32 random bytes), got {len(raw)}")
    return raw


def load_secret(name: str, env: str) -> bytes:
    """A 32-byte secret: env var `env` (base64), else the file named by `env`_FILE (base64), else
    REDACTOR_HOME/keys/`name`.key, created on first use."""
    value = os.environ.get(env)
    if value:
        return _decode(value, env)
    if os.environ.get(f"{env}_FILE", "").strip():
        return _decode(_key_file(f"{env}_FILE").read_text(), f"{env}_FILE")
    path = keys_dir() / f"{name}.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _decode(path.read_text(), str(path))
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return _decode(path.read_text(), str(path))


def _key_file(env: str) -> Path:
    """The key file named by `env`: it must exist, lie outside the data folder (a key beside the objects it seals
    protects nothing against a copy of the folder) and not be readable by everyone."""
    path = Path(os.environ[env].strip()).expanduser().resolve()
    home = data_home().resolve()
    if path.is_relative_to(home):
        raise SecretMissing(f"{env}={path}: inside the data folder {home}; keep the key file apart from it")
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise SecretMissing(f"{env}={path}: cannot read the key file ({err.strerror})") from None
    if mode & 0o004:
        raise SecretMissing(f"{env}={path}: readable by every user (chmod 600 or 640)")
    return path


def master_key() -> bytes:
    """The key-encryption key that wraps every object's data key (REDACTOR_MASTER_KEY, REDACTOR_MASTER_KEY_FILE)."""
    return load_secret("master", "REDACTOR_MASTER_KEY")


def watermark_key() -> bytes:
    """The secret that keys the forensic watermark's pattern (REDACTOR_WATERMARK_KEY, REDACTOR_WATERMARK_KEY_FILE)."""
    return load_secret("watermark", "REDACTOR_WATERMARK_KEY")
