#!/usr/bin/env python3
"""Make 720p and 1080p benchmark clips out of real footage (default: OpenCV's vtest.avi, 768x576, 10 fps).

How: ffmpeg crops the 4:3 picture to 16:9 around its centre (768x432, the pedestrians' band is kept), scales it with
Lanczos to 1280x720 and 1920x1080, keeps the source frame rate (or resamples with --fps), and encodes H.264
(CRF 18, yuv420p, no audio). Written OUTSIDE the repository (default /tmp/redactor-bench/clips).

usage: make_clips.py [--src VIDEO] [--out DIR] [--seconds N] [--fps F] [--sizes 1280x720 1920x1080]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SRC = REPO / ".cache" / "testdata" / "vtest.avi"


def make_clip(src: Path, out: Path, width: int, height: int, seconds: float | None = None,
              fps: float | None = None) -> Path:
    """One clip: centre crop to the target aspect, scale, optional resample, H.264 without audio."""
    if shutil.which("ffmpeg") is None:
        sys.exit("make_clips: ffmpeg is not installed (scripts/setup.sh installs it)")
    vf = [f"crop='min(iw,ih*{width}/{height})':'min(ih,iw*{height}/{width})'",
          f"scale={width}:{height}:flags=lanczos", "setsar=1"]
    if fps:
        vf.append(f"fps={fps}")
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
    if seconds:
        cmd += ["-t", str(seconds)]
    cmd += ["-vf", ",".join(vf), "-an", "-c:v", "libx264", "-crf", "18", "-preset", "fast",
            "-pix_fmt", "yuv420p", str(out)]
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--out", type=Path, default=Path("/tmp/redactor-bench/clips"))
    ap.add_argument("--seconds", type=float, default=None, help="cut to the first N seconds")
    ap.add_argument("--fps", type=float, default=None, help="resample to this frame rate (default: the source's)")
    ap.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080"])
    args = ap.parse_args(argv)
    if not args.src.exists():
        sys.exit(f"make_clips: {args.src}: no such file (run scripts/setup.sh for vtest.avi)")
    for size in args.sizes:
        w, h = (int(v) for v in size.lower().split("x"))
        stem = f"{args.src.stem}_{h}p" + (f"_{args.seconds:g}s" if args.seconds else "") + (
            f"_{args.fps:g}fps" if args.fps else "")
        print(make_clip(args.src, args.out / f"{stem}.mp4", w, h, args.seconds, args.fps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
