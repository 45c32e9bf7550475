"""The one file-hash helper: sha256 of a file, an open descriptor or a stream, read in 1 MiB blocks so a clip of
hours never sits in memory. Footage, packages, model weights and registered recordings are all pinned by it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

BLOCK = 1 << 20


def sha256_stream(fh: BinaryIO) -> str:
    h = hashlib.sha256()
    while block := fh.read(BLOCK):
        h.update(block)
    return h.hexdigest()


def sha256_file(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def sha256_fd(fd: int) -> str:
    """Of an already opened descriptor (one opened with O_NOFOLLOW, say), from its start, leaving its offset."""
    h = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, BLOCK, offset):
        h.update(block)
        offset += len(block)
    return h.hexdigest()
