"""The ledger's Ed25519 signing key, from configuration.

REDACTOR_LEDGER_KEY is either a path to a PEM private key or the 32-byte raw private key in base64. Without it, a key
is generated once in REDACTOR_HOME/keys/ledger-ed25519.pem, readable by its owner only (0600).
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redactor import keys
from redactor.config import private_dir, settings
from redactor.errors import RedactorError
from redactor.keys import KeyFileError, key_id, public_pem, verify_signature

__all__ = ["LedgerKeyError", "default_key_path", "key_id", "load_public_key", "load_signing_key", "public_pem",
           "verify_signature"]

KEY_FILE = "ledger-ed25519.pem"


class LedgerKeyError(RedactorError):
    exit_code = 2


def default_key_path() -> Path:
    return settings().home / "keys" / KEY_FILE


def load_signing_key() -> Ed25519PrivateKey:
    configured = os.environ.get("REDACTOR_LEDGER_KEY", "").strip()
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return _read(path)
        try:
            raw = base64.b64decode(configured, validate=True)
        except binascii.Error:
            raise LedgerKeyError("REDACTOR_LEDGER_KEY is neither a key file nor base64") from None
        if len(raw) != 32:
            raise LedgerKeyError("REDACTOR_LEDGER_KEY: base64 must hold the 32-byte raw Ed25519 private key")
        return Ed25519PrivateKey.from_private_bytes(raw)
    path = default_key_path()
    if not path.exists():
        private_dir(path.parent)
        keys.write_private_pem(path, Ed25519PrivateKey.generate())
    return _read(path)


def _read(path: Path) -> Ed25519PrivateKey:
    try:
        return keys.load_private_key(path)
    except KeyFileError as err:
        raise LedgerKeyError(f"the ledger key: {err}") from None


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        return keys.load_public_key(path)
    except KeyFileError as err:
        raise LedgerKeyError(f"the ledger key: {err}") from None
