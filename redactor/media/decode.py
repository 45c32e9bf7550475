"""Decode frames with their presentation timestamps, turned upright, as BGR uint8 arrays.

REDACTOR_DECODE picks the decoder: `cpu` (ffmpeg's software decoders, the default) or `nvdec` (NVIDIA's hardware
decoder through PyAV's hardware acceleration, where the PyAV build and the machine allow; frames come back to system
memory, so everything after the decode is the same). Where nvdec is asked for and cannot be had (a PyAV without
hardware acceleration, no CUDA device, no driver) the software decoder is used and the reason logged once a process;
a codec NVDEC does not take (MJPEG, 4:4:4) falls back to software per stream."""

from __future__ import annotations

import errno
import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from redactor.errors import BadInput
from redactor.media.limits import FrameMeter, Limits
from redactor.media.probe import open_video

log = logging.getLogger(__name__)
DECODERS = ("cpu", "nvdec")

# A decoder error with one of these is the process's limits (no memory, no thread could be made), not a bad stream.
RESOURCE_ERRNOS = (errno.ENOMEM, errno.EAGAIN)

# ffmpeg's display-matrix rotation is counter-clockwise: 90 means "turn 90 degrees counter-clockwise to show".
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


@dataclass(frozen=True)
class Span:
    """Frames `first` .. `first + count - 1` of a clip, decoded from the keyframe at `seek_pts` (stream time base);
    `origin_pts` is the pts of the clip's first frame, `time` the span's first frame's time (seconds)."""

    first: int
    count: int
    seek_pts: int
    origin_pts: int
    time: float = 0.0


@dataclass(frozen=True)
class Frame:
    index: int
    pts: int  # in the source stream's time base, counted from the first frame
    time: float  # seconds from the first frame
    image: np.ndarray  # H x W x 3 uint8, BGR, upright


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    code = _UPRIGHT.get(rotation % 360)
    return image if code is None else cv2.rotate(image, code)


@dataclass(frozen=True)
class Decoder:
    asked: str  # what REDACTOR_DECODE asked for
    used: str  # what decodes: "cpu" or "nvdec"
    reason: str = ""  # why not what was asked
    hwaccel: object | None = None  # PyAV's HWAccel, for open_video

    def to_json(self) -> dict:
        return {"asked": self.asked, "used": self.used, "reason": self.reason}


def decoder() -> Decoder:
    """The decoder REDACTOR_DECODE asks for (read when used), or the CPU's with the reason it is not that one."""
    from redactor.config import ConfigError

    asked = os.environ.get("REDACTOR_DECODE", "cpu").strip().lower() or "cpu"
    if asked == "cuda":
        asked = "nvdec"
    if asked not in DECODERS:
        raise ConfigError(f"REDACTOR_DECODE={asked!r}: one of {', '.join(DECODERS)}")
    return _decoder(asked)


@functools.cache
def _decoder(asked: str) -> Decoder:
    if asked == "cpu":
        return Decoder("cpu", "cpu")
    try:
        from av.codec.hwaccel import HWAccel, hwdevices_available
    except ImportError:
        return _fallback(asked, f"PyAV {av.__version__} has no hardware acceleration (PyAV 14 or later has)")
    if "cuda" not in hwdevices_available():
        return _fallback(asked, f"this PyAV {av.__version__} build has no CUDA decoding "
                                f"(its hardware devices: {', '.join(hwdevices_available()) or 'none'})")
    try:  # the device is made when a stream is opened: made once here, so that a machine without one is told apart
        HWAccel("cuda").create(av.codec.Codec("h264", "r"))
    except av.error.FFmpegError as err:
        return _fallback(asked, f"no CUDA device could be opened for NVDEC ({err.strerror or err}): no NVIDIA GPU, "
                                "driver or libcuda on this machine")
    return Decoder(asked, "nvdec", hwaccel=HWAccel("cuda", allow_software_fallback=True))


def _fallback(asked: str, reason: str) -> Decoder:
    log.warning("REDACTOR_DECODE=%s: %s; decoding on the CPU", asked, reason)
    return Decoder(asked, "cpu", reason)


def decode(path: str | Path, rotation: int = 0, threads: bool = True, limits: Limits | None = None,
           span: Span | None = None) -> Iterator[Frame]:
    """Every frame in presentation order. A stream that breaks part-way raises BadInput (fail closed: a clip that
    cannot be read to its end is not released half-masked), and so does one that breaks a limit
    (redactor.media.limits), checked on each decoded frame before its pixels are converted. One frame at a time is
    held here, whatever the clip's length.

    With a `span` (a segment of a long recording: redactor.jobs.segments), decoding starts at the span's keyframe
    and stops after its frames; indices, timestamps and times stay the whole clip's. The limits hold per span: its
    frames are counted from the span's start, its pixel rate over its own seconds, its times from the clip's start."""
    with open_video(path, decoder().hwaccel) as container:
        stream = container.streams.video[0]
        meter = FrameMeter(path, limits, rotation, start=span.time if span else 0.0)
        ctx = stream.codec_context
        declared = ctx.width, ctx.height  # the decoder refuses to open when these are already over the limit
        ctx.options = meter.limits.decoder_options()
        if threads:
            stream.thread_type = "AUTO"
        tb = stream.time_base
        first_pts = None
        last_pts = None
        index = 0
        if span is not None:
            first_pts, index = span.origin_pts, span.first
            if span.seek_pts > span.origin_pts:
                container.seek(span.seek_pts, stream=stream, backward=True, any_frame=False)
        try:
            for frame in container.decode(stream):
                if span is not None:
                    if last_pts is None and frame.pts is not None and frame.pts < span.seek_pts:
                        continue  # before the span's keyframe (a leading frame of an open GOP): the last span's
                    if index >= span.first + span.count:
                        return
                if frame.pts is not None:
                    pts = frame.pts
                else:
                    pts = (first_pts or 0) + (last_pts + 1 if last_pts is not None else 0)
                if first_pts is None:
                    first_pts = pts
                rel = pts - first_pts
                if last_pts is not None and rel <= last_pts:
                    rel = last_pts + 1  # keep timestamps strictly increasing for the encoder
                last_pts = rel
                time = float(rel * tb) if tb else index / 25.0
                meter.admit(frame.width, frame.height, time)
                image = frame.to_ndarray(format="bgr24")
                yield Frame(index, rel, time, upright(image, rotation))
                index += 1
        except av.error.FFmpegError as err:
            if err.errno in RESOURCE_ERRNOS:
                raise MemoryError(f"{path}: the decoder ran out of memory or threads at frame {index}") from None
            raise meter.refused_picture(ctx.width or declared[0], ctx.height or declared[1]) or BadInput(
                f"{path}: the video stream is corrupt at frame {index} ({err.strerror or err})") from None
