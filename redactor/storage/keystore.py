"""The key table: each object's wrapped data key, kept apart from the object (another disk, another machine than the
object store), so that destroying it destroys every copy of the object at once (제35조④)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol

from redactor.storage.secrets import keys_dir


class KeyStore(Protocol):
    def save(self, object_id: str, wrapped: bytes) -> None: ...

    def load(self, object_id: str) -> bytes | None: ...

    def destroy(self, object_id: str) -> bool: ...


class DirectoryKeyStore:
    """One small file per object under REDACTOR_HOME/keys/objects (0600). Destroying overwrites, then unlinks."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or keys_dir() / "objects"
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, object_id: str) -> Path:
        # the file name does not reveal the object's name
        return self.root / (hashlib.sha256(object_id.encode()).hexdigest() + ".key")

    def save(self, object_id: str, wrapped: bytes) -> None:
        path = self._path(object_id)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"object": object_id, "wrapped": wrapped.hex()}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load(self, object_id: str) -> bytes | None:
        path = self._path(object_id)
        if not path.exists():
            return None
        return bytes.fromhex(json.loads(path.read_text())["wrapped"])

    def destroy(self, object_id: str) -> bool:
        path = self._path(object_id)
        if not path.exists():
            return False
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(os.urandom(size))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        return True
