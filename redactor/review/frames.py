"""Frames of a recording by number, for review: decoded straight from the encrypted object (no plaintext file on
disk), seeking to the keyframe before the frame asked for instead of decoding from the start.

`SealedFile` is a read-only, seekable file over a sealed object: it decrypts the 1 MiB chunks PyAV reads (a few
held in memory). `FrameSource` indexes the stream once (demuxing packets, no decoding), then serves frame n by
seeking to the keyframe before it, or by decoding on when n is a little after the last frame served (the staff
console steps through frames in order). `sources` keeps the last few sources open, one lock each."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator

import av
import numpy as np

from redactor.errors import BadInput
from redactor.media.decode import upright

CHUNK = 1 << 20
AHEAD = 48  # frames: decoding on from the current position beats a seek when the target is this close


class SealedFile(io.RawIOBase):
    def __init__(self, store, key: str, cached_chunks: int = 6) -> None:
        self.store, self.key = store, key
        self.length = store.size(key)
        self.pos = 0
        self._chunks: OrderedDict[int, bytes] = OrderedDict()
        self._keep = cached_chunks

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.length}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _chunk(self, index: int) -> bytes:
        data = self._chunks.get(index)
        if data is None:
            data = b"".join(self.store.get_range(self.key, index * CHUNK, (index + 1) * CHUNK))
            self._chunks[index] = data
            while len(self._chunks) > self._keep:
                self._chunks.popitem(last=False)
        else:
            self._chunks.move_to_end(index)
        return data

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.length - self.pos
        n = min(n, self.length - self.pos)
        parts = []
        while n > 0:
            index, at = divmod(self.pos, CHUNK)
            piece = self._chunk(index)[at:at + n]
            if not piece:
                break
            parts.append(piece)
            self.pos += len(piece)
            n -= len(piece)
        return b"".join(parts)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class FrameSource:
    """Frame n of one video, upright BGR. Frames are numbered as `redactor.media.decode` numbers them (presentation
    order from 0), which is how the track table counts them."""

    def __init__(self, opener: Callable[[], object], rotation: int = 0) -> None:
        self.opener, self.rotation = opener, rotation
        self.lock = threading.Lock()
        self._container = None
        self._frames: Iterator | None = None
        self._at = -1  # number of the frame last decoded from _frames
        self.pts: list[int] = []
        self.keyframes: list[int] = []  # frame numbers of keyframes, ascending
        self.seeks = self.decoded = 0  # for tests and measurements
        self._index()

    def _open(self):
        try:
            return av.open(self.opener(), metadata_errors="ignore")
        except av.error.FFmpegError as err:
            raise BadInput(f"cannot open the recording ({err.strerror or err})") from None

    def _index(self) -> None:
        with self._open() as container:
            stream = container.streams.video[0]
            pts, keys = [], set()
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.pts is None:  # no timestamps to seek by: decode in order (still never twice from 0)
                    self.pts, self.keyframes = [], []
                    return
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.add(packet.pts)
        self.pts = sorted(pts)
        number = {p: i for i, p in enumerate(self.pts)}
        self.keyframes = sorted(number[p] for p in keys)

    @property
    def frames(self) -> int:
        return len(self.pts)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._frames, self._at = None, None, -1

    def _restart(self, at: int) -> None:
        """Position the decoder so that the next frame it yields is at or before frame `at`."""
        self.close()
        self._container = self._open()
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        start = 0
        if self.pts and self.keyframes:
            import bisect

            k = bisect.bisect_right(self.keyframes, at) - 1
            start = self.keyframes[max(k, 0)]
            if start > 0:
                self._container.seek(self.pts[start], stream=stream, backward=True, any_frame=False)
                self.seeks += 1
        self._frames = self._container.decode(stream)
        self._at = start - 1
        self._first = start

    def _next(self) -> tuple[int, np.ndarray] | None:
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except av.error.FFmpegError as err:
            raise BadInput(f"the recording is corrupt near frame {self._at + 1} ({err.strerror or err})") from None
        self.decoded += 1
        if self.pts and frame.pts is not None:
            import bisect

            i = bisect.bisect_left(self.pts, frame.pts)
            number = i if i < len(self.pts) and self.pts[i] == frame.pts else self._at + 1
        else:
            number = self._at + 1
        self._at = number
        return number, frame

    def frame(self, n: int) -> np.ndarray:
        """Frame n (call with `lock` held when shared between threads)."""
        if n < 0 or (self.pts and n >= len(self.pts)):
            raise BadInput(f"no frame {n} (the recording has {len(self.pts)} frames)")
        if self._frames is None or n <= self._at or n - self._at > AHEAD and self._keyframe_between(self._at, n):
            self._restart(n)
        while True:
            got = self._next()
            if got is None:
                raise BadInput(f"no frame {n} (the recording ends at frame {self._at})")
            number, frame = got
            if number == n:
                return upright(frame.to_ndarray(format="bgr24"), self.rotation)
            if number > n:  # the stream's numbering disagrees with the index: start over from frame 0
                if self._first == 0:
                    raise BadInput(f"frame {n} cannot be located in the recording")
                self.keyframes = [0]
                self._restart(n)

    def _keyframe_between(self, a: int, b: int) -> bool:
        return any(a < k <= b for k in self.keyframes) or not self.keyframes

    def span(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """Frames start..stop-1 in order (one seek, then decoding on)."""
        for n in range(start, stop):
            yield n, self.frame(n)


class Sources:
    """The last few frame sources opened, by object key (LRU), each used under its own lock."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._open: OrderedDict[str, FrameSource] = OrderedDict()

    def get(self, key: str, opener: Callable[[], object], rotation: int = 0) -> FrameSource:
        with self._lock:
            src = self._open.get(key)
            if src is not None:
                self._open.move_to_end(key)
                return src
        src = FrameSource(opener, rotation)
        with self._lock:
            self._open[key] = src
            while len(self._open) > self.size:
                _, old = self._open.popitem(last=False)
                with old.lock:
                    old.close()
        return src

    def forget(self, key: str) -> None:
        with self._lock:
            src = self._open.pop(key, None)
        if src is not None:
            with src.lock:
                src.close()


sources = Sources()


def recording_opener(store, key: str, size: int | None = None) -> Callable[[], object]:
    """How to open a recording's bytes: a registered file where it lies (re-checked as every job opens it: allowed
    folder, no link, same size; the sha256 is left to the jobs, a viewer opens it often), else the sealed object,
    decrypted as read."""
    from redactor.registry.inplace import open_registered, registered_path

    local = registered_path(key)
    if local is not None:
        if not local.is_file():
            raise BadInput(f"{local.name}: the registered footage is gone")

        def open_checked():
            with open_registered(local, size) as checked:
                return open(checked, "rb")  # the checked file itself, still open after the check's descriptor closes
        return open_checked
    store.size(key)  # missing or expired: a clear error now, not inside the decoder
    return lambda: SealedFile(store, key)
