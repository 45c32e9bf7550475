"""Limits on what is decoded, enforced on every frame as it comes out of the decoder, never on what the container
declares: picture size (width, height, pixels), frame count, duration by the decoded timestamps, and pixel rate.

A container can declare 320x240 and 25 frames and then hold 6000x6000 frames, or loop its timestamps and hold a
thousand (issue 20): the declared values are checked too (to refuse early), but only the decoded ones are trusted.
The decoder itself is told the pixel limit (libavcodec's `max_pixels`), so a frame above it is never allocated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from redactor.config import settings
from redactor.errors import BadInput


@dataclass(frozen=True)
class Limits:
    width: int
    height: int
    pixels: int
    frames: int
    seconds: float
    pixel_rate: float

    @classmethod
    def current(cls) -> Limits:
        s = settings()
        return cls(s.max_width, s.max_height, min(s.max_pixels, s.max_width * s.max_height), s.max_frames,
                   s.max_seconds, s.max_pixel_rate)

    def decoder_options(self) -> dict[str, str]:
        """Codec options: libavcodec refuses to allocate a picture above `pixels` (it fails the packet instead)."""
        return {"max_pixels": str(max(1, self.pixels))}

    def check_size(self, path: str | Path, width: int, height: int, where: str = "") -> None:
        """`width` x `height` as displayed (after rotation)."""
        at = f" {where}" if where else ""
        if width > self.width or height > self.height:
            raise BadInput(f"{path}:{at} resolution {width}x{height} is above the limit {self.width}x{self.height} "
                           f"(REDACTOR_MAX_WIDTH / REDACTOR_MAX_HEIGHT)")
        if width * height > self.pixels:
            raise BadInput(f"{path}:{at} {width}x{height} is {width * height} pixels a frame, above the limit "
                           f"{self.pixels} (REDACTOR_MAX_PIXELS)")

    def check_declared(self, path: str | Path, frames: int, seconds: float, fps: float, width: int,
                       height: int) -> None:
        """What the container says, refused before any work when it is already over a limit."""
        self.check_size(path, width, height)
        if frames > self.frames:
            raise BadInput(f"{path}: {frames} frames is above the limit {self.frames} (REDACTOR_MAX_FRAMES)")
        if seconds > self.seconds:
            raise BadInput(f"{path}: {seconds:g} s is above the limit {self.seconds:g} s (REDACTOR_MAX_SECONDS)")
        if width * height * fps > self.pixel_rate:
            raise BadInput(f"{path}: {width}x{height} at {fps:g} fps is {width * height * fps:.0f} pixels a second, "
                           f"above the limit {self.pixel_rate:.0f} (REDACTOR_MAX_PIXEL_RATE)")


class FrameMeter:
    """Counts one decode against the limits, frame by frame. The first frame fixes the picture size: a stream whose
    size changes part-way is refused (the masks, the tracker and the encoder are all laid out for one size, and
    failing closed is the rule), and the changed frame is refused before it is converted or kept."""

    def __init__(self, path: str | Path, limits: Limits | None = None, rotation: int = 0, start: float = 0.0) -> None:
        """`start`: the time (s) of the first frame metered, for a segment of a long recording: the pixel rate is
        measured over the segment's own seconds, and the frame count is the segment's."""
        self.path, self.limits = path, limits or Limits.current()
        self.start = start
        self.swap = rotation % 180 == 90
        self.size: tuple[int, int] | None = None  # decoded (stored) width, height of the first frame
        self.frames = 0
        self.pixels = 0

    def displayed(self, width: int, height: int) -> tuple[int, int]:
        return (height, width) if self.swap else (width, height)

    def admit(self, width: int, height: int, seconds: float) -> None:
        """Before frame number `self.frames` (0-based) is used: its stored size and its time from the first frame."""
        index = self.frames
        lim = self.limits
        if self.size is None:
            lim.check_size(self.path, *self.displayed(width, height), where=f"frame {index}:")
            self.size = (width, height)
        elif (width, height) != self.size:
            w0, h0 = self.displayed(*self.size)
            w1, h1 = self.displayed(width, height)
            raise BadInput(f"{self.path}: frame {index} is {w1}x{h1} but the stream began at {w0}x{h0}: a picture "
                           f"size that changes part-way through is refused")
        if index + 1 > lim.frames:
            raise BadInput(f"{self.path}: more than {lim.frames} frames decoded (REDACTOR_MAX_FRAMES), whatever the "
                           f"container declares")
        if seconds > lim.seconds:
            raise BadInput(f"{self.path}: frame {index} is at {seconds:.2f} s, above the limit {lim.seconds:g} s "
                           f"(REDACTOR_MAX_SECONDS)")
        self.pixels += width * height
        # One second of grace: the first second's frames are all at (nearly) time 0.
        if self.pixels > lim.pixel_rate * (max(seconds - self.start, 0.0) + 1.0):
            raise BadInput(f"{self.path}: {self.pixels} pixels decoded by {seconds:.2f} s of video, above "
                           f"{lim.pixel_rate:.0f} a second (REDACTOR_MAX_PIXEL_RATE; timestamps that do not advance "
                           f"look like this)")
        self.frames += 1

    def refused_picture(self, width: int, height: int) -> BadInput | None:
        """After a decoder error: when the codec's current picture size is over the limit, the error is that (the
        decoder refused to allocate the picture, by `max_pixels`), said as such."""
        if not width or not height:
            return None
        w, h = self.displayed(width, height)
        try:
            # the decoder works ahead of its output (frame threads): the refused picture is near, not at, this one
            self.limits.check_size(self.path, w, h, where=f"a frame near number {self.frames}:")
        except BadInput as err:
            return err
        return None
