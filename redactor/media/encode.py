"""Encode H.264 MP4 with no audio stream, no source metadata, written under a temporary name and renamed only
when complete, so a half-written output is never visible."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

OUT_TIME_BASE = Fraction(1, 90000)


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` only if the block ends without an exception."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class VideoWriter:
    """H.264 in MP4. Timestamps are the source's (variable frame rate survives), in the source time base."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float, time_base: Fraction,
                 crf: int = 20, preset: str = "veryfast", threads: int = 0) -> None:
        self.container = av.open(str(path), mode="w", format="mp4")
        rate = Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width = width
        self.stream.height = height
        # 4:2:0 needs even sizes; odd ones keep their size in 4:4:4 rather than being cropped or padded.
        self.stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        # libx264 in MP4 refuses coarse time bases (1/10, 1/25: "Invalid argument"); write in 1/90000 and rescale
        # the source's timestamps, which keeps variable frame rates exact.
        self.source_time_base = time_base
        self.stream.time_base = OUT_TIME_BASE
        self.stream.codec_context.time_base = OUT_TIME_BASE
        self.stream.options = {"crf": str(crf), "preset": preset}
        if threads:
            self.stream.codec_context.thread_count = threads
        self.frames = 0

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        if pts is None:
            frame.pts = round(self.frames / self.stream.codec_context.framerate / OUT_TIME_BASE)
        else:
            frame.pts = round(pts * self.source_time_base / OUT_TIME_BASE)
        frame.time_base = self.stream.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.container.close()
