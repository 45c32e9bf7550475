"""Video in and out: probe, decode (frames with timestamps, upright), encode (H.264, never audio)."""

from redactor.media.decode import Frame, Span, decode
from redactor.media.encode import VideoWriter, atomic_output
from redactor.media.probe import VideoInfo, probe

__all__ = ["Frame", "Span", "VideoInfo", "VideoWriter", "atomic_output", "decode", "probe"]
