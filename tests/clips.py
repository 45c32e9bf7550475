"""Real test clips made with real codecs (PyAV's libx264 and the ffmpeg binary) from real footage."""

from __future__ import annotations

import subprocess
from pathlib import Path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def short_clip(vtest: Path, out: Path, seconds: float = 2.0, size: str = "320x240", audio: bool = True) -> Path:
    """A few seconds of vtest.avi (pedestrians seen from above) as H.264 MP4, with an AAC tone unless told not."""
    args = ["-ss", "5", "-t", str(seconds), "-i", str(vtest)]
    if audio:
        args += ["-f", "lavfi", "-t", str(seconds), "-i", "sine=frequency=440"]
    args += ["-vf", f"scale={size.replace('x', ':')}", "-r", "10", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    args += (["-c:a", "aac", "-shortest"] if audio else []) + ["-metadata", "title=secret source title", str(out)]
    ffmpeg(*args)
    return out
