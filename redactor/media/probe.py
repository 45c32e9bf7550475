"""Probe a video before any work: one clear error for every kind of bad input, before a frame is decoded."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av

from redactor.errors import BadInput
from redactor.media.limits import FrameMeter, Limits


def open_video(path: str | Path, hwaccel=None) -> av.container.InputContainer:
    """The container, opened for reading (metadata it cannot decode ignored); a file it cannot open is a one-line
    BadInput. The one way probe, decode and the segment plan open a video. `hwaccel`: its video decoded on a GPU
    (redactor.media.decode.hardware_decoder)."""
    try:
        if hwaccel is not None:
            return av.open(str(path), metadata_errors="ignore", hwaccel=hwaccel)
        return av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise BadInput(f"{path}: not a video file (no known container format)") from None
    except av.error.FFmpegError as err:
        raise BadInput(f"{path}: cannot open the video ({err.strerror or err})") from None


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int  # as displayed, after rotation
    height: int
    fps: float
    frames: int  # declared or estimated count: never trusted; decode counts the true one against the limits
    duration: float
    codec: str
    rotation: int  # degrees clockwise to turn the stored picture upright
    has_audio: bool
    time_base: Fraction
    variable_frame_rate: bool

    def to_json(self) -> dict:
        d = asdict(self)
        d["time_base"] = str(self.time_base)
        d["path"] = Path(self.path).name
        return d


def probe(path: str | Path) -> VideoInfo:
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: the file is empty (0 bytes)")
    with open_video(path) as container:
        if not container.streams.video:
            raise BadInput(f"{path}: holds no video stream")
        vs = container.streams.video[0]
        ctx = vs.codec_context
        if ctx is None or not vs.codec_context.name:
            raise BadInput(f"{path}: unknown video codec")
        try:
            av.codec.Codec(ctx.name, "r")
        except Exception:
            raise BadInput(f"{path}: no decoder for the video codec {ctx.name!r}") from None
        if not ctx.width or not ctx.height:
            raise BadInput(f"{path}: the video stream has no picture size (corrupt or unknown codec)")
        limits = Limits.current()
        if ctx.width * ctx.height > limits.pixels:  # the decoder would refuse to open: say why
            limits.check_size(path, ctx.width, ctx.height)
        vs.codec_context.options = limits.decoder_options()
        rotation, w, h = _first_frame(container, vs, path, limits)
        dw, dh = (h, w) if rotation in (90, 270) else (w, h)
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        if not rate or float(rate) <= 0 or float(rate) > 1000:
            raise BadInput(f"{path}: no usable frame rate")
        if vs.duration is not None and vs.time_base:
            duration = float(vs.duration * vs.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        frames = vs.frames or int(round(duration * float(rate)))
        limits.check_declared(path, frames, duration, float(rate), dw, dh)
        vfr = bool(vs.base_rate and vs.average_rate and abs(float(vs.base_rate) - float(vs.average_rate)) > 0.01
                   * float(vs.average_rate))
        return VideoInfo(path=str(path), width=dw, height=dh, fps=float(rate), frames=int(frames),
                         duration=duration, codec=ctx.name, rotation=rotation,
                         has_audio=bool(container.streams.audio), time_base=vs.time_base or Fraction(1, 90000),
                         variable_frame_rate=vfr)


def _first_frame(container, stream, path: Path, limits: Limits) -> tuple[int, int, int]:
    """Decode the first frame: proves the stream decodes at all, and gives the display matrix's rotation
    (counter-clockwise degrees, as ffmpeg's autorotate reads it) and the picture size the decoder really made
    (the container's may differ), both checked against the limits."""
    try:
        for frame in container.decode(stream):
            rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
            FrameMeter(path, limits, rotation).admit(frame.width, frame.height, 0.0)
            return rotation, frame.width, frame.height
    except av.error.FFmpegError as err:
        ctx = stream.codec_context
        raise FrameMeter(path, limits).refused_picture(ctx.width, ctx.height) or BadInput(
            f"{path}: the video stream is corrupt ({err.strerror or err})") from None
    raise BadInput(f"{path}: the video stream holds no decodable frame (corrupt or truncated)")
