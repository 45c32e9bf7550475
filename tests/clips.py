"""Real test clips made with real codecs (PyAV's libx264 and the ffmpeg binary) from real footage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import TOOLS, cut_clip, ffmpeg


def make_clip(labels: Path, images: Path, out: Path, names: list[str], seconds: float, size: str,
              label: str | None = None) -> Path:
    """A labelled clip (shared/tools/make_clip.py): a virtual camera panning and zooming across labelled photos,
    with an audio track; ground truth per frame in OUT.gt.json."""
    cmd = [sys.executable, str(TOOLS / "make_clip.py"), str(labels), str(images), str(out), "--images", *names,
           "--seconds", str(seconds), "--size", size]
    if label:
        cmd += ["--label", label]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def score_redact(clip: Path, out: Path, label: str, gt: Path | None = None) -> dict:
    """shared/tools/score_redact.py, as acceptance scores: frame counts, audio streams, the share of labelled boxes
    masked frame by frame, the collateral share."""
    scored = subprocess.run([sys.executable, str(TOOLS / "score_redact.py"), str(clip), str(out),
                             str(gt or clip.with_suffix(".gt.json")), "--label", label], capture_output=True,
                            text=True, check=True)
    return json.loads(scored.stdout)


def short_clip(vtest: Path, out: Path, seconds: float = 2.0, size: str = "320x240", audio: bool = True) -> Path:
    """A few seconds of vtest.avi (pedestrians seen from above) as H.264 MP4 at 10 fps, with an AAC tone unless
    told not."""
    return cut_clip(vtest, out, seconds, size, start=5, fps=10, audio=audio, title="secret source title")


def ts_part(src: Path, out: Path, size: str, seconds: float = 1.0, start: float = 5.0) -> Path:
    """`seconds` of real footage at 25 fps as H.264 in MPEG-TS (the container that declares no frame count)."""
    ffmpeg("-ss", str(start), "-t", str(seconds), "-i", str(src), "-vf", f"fps=25,scale={size.replace('x', ':')}",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts", str(out))
    return out


def concat_ts(parts: list[Path], out: Path) -> Path:
    """ffmpeg's concat demuxer, streams copied: one TS whose container describes only its first part."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out))
    return out


def bomb_ts(vtest: Path, folder: Path) -> Path:
    """Issue 20's upload: ffmpeg concat of two encodes into one MPEG-TS, 1 s of real footage at 320x240 and then
    five 6000x6000 frames (flat grey, so the file stays about 140 KB)."""
    big = folder / "big.ts"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=6000x6000:r=25", "-frames:v", "5", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", "-f", "mpegts", str(big))
    return concat_ts([ts_part(vtest, folder / "small.ts", "320x240"), big], folder / "bomb.ts")


def looped_ts(vtest: Path, folder: Path, times: int = 40) -> Path:
    """One second (25 frames) of TS written `times` times back to back: every copy restarts the timestamps, so the
    container declares 25 frames (1 s) while the decoder gives 25 * `times`."""
    one = ts_part(vtest, folder / "one.ts", "320x240").read_bytes()
    out = folder / "looped.ts"
    out.write_bytes(one * times)
    return out
