"""The one Ed25519 key module: reading, writing and generating the PEM keys that sign the ledger's checkpoints
(redactor.ledger.keys picks which key from configuration) and handover packages and destruction slips
(redactor.disclosure.package), the key id printed beside a signature, and signature checks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redactor.errors import BadInput


class KeyFileError(BadInput):
    """A key file that is missing, not PEM, or not Ed25519."""


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise KeyFileError(f"{path}: not a readable Ed25519 private key (PEM): {err}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A public key file, or a private one (its public half is taken)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise KeyFileError(f"{path}: not readable ({err.strerror})") from None
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = load_private_key(path).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_private_pem(path: Path, key: Ed25519PrivateKey) -> bool:
    """Write `key` to `path` readable by its owner only (0600). O_EXCL: two processes starting at once must not each
    write a different key, and an existing key is never overwritten. False when `path` already existed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return True


def generate_keypair(prefix: str | Path) -> tuple[Path, Path]:
    """PREFIX.key (PKCS#8 PEM, 0600) and PREFIX.pub."""
    key = Ed25519PrivateKey.generate()
    priv, pub = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if not write_private_pem(priv, key):
        raise KeyFileError(f"{priv} exists: not overwriting a key")
    pub.write_bytes(public_pem(key))
    return priv, pub


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
