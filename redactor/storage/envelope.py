"""Envelope encryption: a fresh AES-256-GCM data key per object, wrapped by the master key, streamed in chunks.

Sealed format: header `RDX1` | chunk size (4 bytes, big-endian) | nonce prefix (8 random bytes), then chunks of
`chunk size` plaintext bytes, each sealed with nonce = prefix | chunk number and with associated data = header |
object key | chunk number | final flag. The last chunk is always shorter than a full one (possibly empty) and carries
the final flag, so a truncated or reordered or renamed copy fails to open instead of yielding part of the footage.
Destroying the wrapped data key (제35조④) leaves every copy of the sealed bytes, wherever it went, undecryptable.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redactor.errors import RedactorError

MAGIC = b"RDX1"
HEADER_LEN = 16
TAG_LEN = 16
CHUNK = 1 << 20  # 1 MiB of plaintext per chunk: memory stays flat for any object size


class DecryptionFailed(RedactorError):
    """The sealed bytes do not open: wrong or destroyed key, or altered, truncated or renamed data."""

    exit_code = 5


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_key(master: bytes, data_key: bytes, object_id: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(master).encrypt(nonce, data_key, b"redactor data key|" + object_id.encode())


def unwrap_key(master: bytes, wrapped: bytes, object_id: str) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], b"redactor data key|" + object_id.encode())
    except InvalidTag:
        raise DecryptionFailed(f"{object_id}: the data key does not open with this master key") from None


def sealed_size(plain_size: int, chunk: int = CHUNK) -> int:
    return HEADER_LEN + plain_size + (plain_size // chunk + 1) * TAG_LEN


def _aad(header: bytes, object_id: str, index: int, final: bool) -> bytes:
    return header + object_id.encode() + struct.pack(">I?", index, final)


def _read_full(src: BinaryIO, n: int) -> bytes:
    parts, left = [], n
    while left > 0:
        b = src.read(left)
        if not b:
            break
        parts.append(b)
        left -= len(b)
    return b"".join(parts)


def seal_chunks(src: BinaryIO, data_key: bytes, object_id: str, chunk: int = CHUNK) -> Iterator[bytes]:
    """Sealed bytes of `src`, one chunk at a time."""
    aead = AESGCM(data_key)
    prefix = os.urandom(8)
    header = MAGIC + struct.pack(">I", chunk) + prefix
    yield header
    index = 0
    current = _read_full(src, chunk)
    while True:
        # read one chunk ahead: the final flag must be known when a chunk is sealed
        nxt = _read_full(src, chunk) if len(current) == chunk else b""
        final = len(current) < chunk
        yield aead.encrypt(prefix + struct.pack(">I", index), current, _aad(header, object_id, index, final))
        if final:
            return
        index += 1
        current = nxt


class ChunkReader:
    """A file-like `read(n)` over an iterator of byte chunks (what an uploader or a chunked opener pulls from)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, bytearray()

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if n < 0:
            n = len(self._buf)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


class SealingReader(ChunkReader):
    """A file-like `read(n)` over the sealed bytes of `src`."""

    def __init__(self, src: BinaryIO, data_key: bytes, object_id: str, chunk: int = CHUNK) -> None:
        super().__init__(seal_chunks(src, data_key, object_id, chunk))


def open_chunks(src: BinaryIO, data_key: bytes, object_id: str) -> Iterator[bytes]:
    """Plaintext of sealed `src`, chunk by chunk; raises DecryptionFailed on any tampering or a wrong key."""
    header = _read_full(src, HEADER_LEN)
    if len(header) != HEADER_LEN or header[:4] != MAGIC:
        raise DecryptionFailed(f"{object_id}: not a sealed object")
    (chunk,) = struct.unpack(">I", header[4:8])
    prefix = header[8:]
    aead = AESGCM(data_key)
    index = 0
    while True:
        sealed = _read_full(src, chunk + TAG_LEN)
        final = len(sealed) < chunk + TAG_LEN
        try:
            plain = aead.decrypt(prefix + struct.pack(">I", index), sealed, _aad(header, object_id, index, final))
        except InvalidTag:
            raise DecryptionFailed(f"{object_id}: chunk {index} does not open (wrong key, or altered data)") from None
        yield plain
        if final:
            if src.read(1):
                raise DecryptionFailed(f"{object_id}: data after the final chunk")
            return
        index += 1


def plain_size(sealed: int, chunk: int = CHUNK) -> int:
    """The plaintext length of a sealed object of `sealed` bytes (the inverse of `sealed_size`)."""
    rest = sealed - HEADER_LEN - TAG_LEN
    if rest < 0:
        raise DecryptionFailed("not a sealed object (too short)")
    full, last = divmod(rest, chunk + TAG_LEN)
    if last >= chunk:
        raise DecryptionFailed("the sealed size does not fit its chunking (truncated or altered)")
    return full * chunk + last


def open_range(read_at, sealed: int, data_key: bytes, object_id: str, start: int, stop: int) -> Iterator[bytes]:
    """Plaintext bytes [start, stop) of a sealed object, decrypting only the chunks that hold them.

    `read_at(offset, length)` returns that many sealed bytes from `offset`; `sealed` is the object's sealed size.
    Each chunk still authenticates its number, its object and whether it is the last, so a chunk moved, renamed or
    cut short fails to open exactly as in `open_chunks`."""
    header = read_at(0, HEADER_LEN)
    if len(header) != HEADER_LEN or header[:4] != MAGIC:
        raise DecryptionFailed(f"{object_id}: not a sealed object")
    (chunk,) = struct.unpack(">I", header[4:8])
    size = plain_size(sealed, chunk)
    start, stop = max(0, start), min(stop, size)
    if start >= stop:
        return
    aead = AESGCM(data_key)
    last_index = size // chunk  # the final (short, possibly empty) chunk
    for index in range(start // chunk, (stop - 1) // chunk + 1):
        offset = HEADER_LEN + index * (chunk + TAG_LEN)
        want = (chunk if index < last_index else size - index * chunk) + TAG_LEN
        data = read_at(offset, want)
        final = index == last_index
        try:
            plain = aead.decrypt(header[8:] + struct.pack(">I", index), data, _aad(header, object_id, index, final))
        except InvalidTag:
            raise DecryptionFailed(f"{object_id}: chunk {index} does not open (wrong key, or altered data)") from None
        lo = max(start - index * chunk, 0)
        hi = min(stop - index * chunk, len(plain))
        yield plain[lo:hi]
