"""The ledger's Ed25519 signing key, from configuration.

REDACTOR_LEDGER_KEY is either a path to a PEM private key or the 32-byte raw private key in base64. Without it, a key
is generated once in REDACTOR_HOME/keys/ledger-ed25519.pem, readable by its owner only (0600).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redactor.config import private_dir, settings
from redactor.errors import RedactorError

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
            return _read_private_pem(path)
        try:
            raw = base64.b64decode(configured, validate=True)
        except binascii.Error:
            raise LedgerKeyError("REDACTOR_LEDGER_KEY is neither a key file nor base64") from None
        if len(raw) != 32:
            raise LedgerKeyError("REDACTOR_LEDGER_KEY: base64 must hold the 32-byte raw Ed25519 private key")
        return Ed25519PrivateKey.from_private_bytes(raw)
    path = default_key_path()
    if not path.exists():
        _generate(path)
    return _read_private_pem(path)


def _generate(path: Path) -> None:
    private_dir(path.parent)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _read_private_pem(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as err:
        raise LedgerKeyError(f"{path}: not a PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerKeyError(f"{path}: the ledger key must be Ed25519")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:  # a private key file works too: its public half is taken
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except ValueError:
            raise LedgerKeyError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerKeyError(f"{path}: the ledger key must be Ed25519")
    return key


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def verify_signature(key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
