#!/usr/bin/env python3
"""Labelled street clips of moving vehicles with Korean plates of every style, made from the real vehicle photos of
shared/evaldata/plates: one photo after another, each with a Korean plate (white, yellow commercial, green old-style,
blue electric, in turn; a green one on a white truck's panel every other time) painted over its labelled plate by
gpu_benchmarks/korean_plates.py, then a virtual camera that follows the vehicle as it drives across the picture and
towards or away from the camera (the plate slides from one side to the other and grows or shrinks, 28-220 px wide
at 720p), with a little shake. H.264 at CCTV bitrates (CRF 28-32 in turn, `fast` preset), 1280x720 and 1920x1080 in
turn, 15 fps, with an AAC tone the redactor must drop. Written OUTSIDE the repository (the photos' licences forbid
copies).

`--split heldout` (the default) uses only the held-out photos, `tuning` only the others (korean_plates.split_of: a
fixed rule on the photo's name); the fine-tuning never reads a held-out photo.

Ground truth beside each clip, in the format of shared/tools/make_clip.py: CLIP.gt.json = {"fps", "frames", "size",
"boxes": {"<frame>": [{"label": "plate", "box": [x1, y1, x2, y2], "style": ..., "photo": ...}]}} (a box is kept
when 60% of it is inside the frame).

usage: make_plate_clips.py [--src ../shared/evaldata/plates] [--out /tmp/g13p/clips] [--split heldout|tuning]
       [--per-clip 4] [--seconds 2] [--fps 15] [--clips N] [--seed 13]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpu_benchmarks.korean_plates import STYLES, check_font, load_labels, paint, photos  # noqa: E402

SIZES = ((1280, 720), (1920, 1080))
CRFS = (28, 29, 30, 31, 32)


def vehicle_path(box: list[float], out_w: int, out_h: int, n: int, rng: random.Random):
    """Per frame the camera window (x, y, scale) that puts the plate where a vehicle driving across and towards
    (or away from) the camera would have it: its centre from one side to the other, its width from w0 to w1."""
    x1, y1, x2, y2 = box
    pw, pcx, pcy = x2 - x1, (x1 + x2) / 2, (y1 + y2) / 2
    k = out_w / 1280
    w0, w1 = rng.uniform(28, 90) * k, rng.uniform(70, 220) * k
    if rng.random() < 0.5:
        w0, w1 = w1, w0  # driving away
    u0, u1 = (rng.uniform(0.15, 0.4), rng.uniform(0.6, 0.85))
    if rng.random() < 0.5:
        u0, u1 = u1, u0
    v0, v1 = rng.uniform(0.35, 0.75), rng.uniform(0.35, 0.75)
    shake = rng.uniform(0, 2.5) * k
    for i in range(n):
        t = i / max(n - 1, 1)
        s = (w0 + (w1 - w0) * t) / pw  # output px per photo px
        ox = (u0 + (u1 - u0) * t) * out_w + rng.gauss(0, shake)
        oy = (v0 + (v1 - v0) * t) * out_h + rng.gauss(0, shake)
        yield pcx - ox / s, pcy - oy / s, s


def make_clip(src: Path, names: list[str], out: Path, size: tuple[int, int], crf: int, fps: int, seconds: float,
              rng: random.Random, style_at: int) -> dict:
    labels = load_labels(src)
    out_w, out_h = size
    per = round(seconds * fps)
    gt: dict[str, list[dict]] = {}
    frame_i = 0
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "frames.yuv"
        with raw.open("wb") as sink:
            for j, name in enumerate(names):
                image = cv2.imread(str(src / name), cv2.IMREAD_COLOR)
                style = STYLES[(style_at + j) % len(STYLES)]
                panel = style == "green" and (style_at + j) // len(STYLES) % 2 == 0
                mode = "box" if rng.random() < 0.5 else "aspect"
                boxes = [paint(image, d["box"], style, rng, mode=mode, panel=panel) for d in labels[name]
                         if d["label"] == "plate"]
                for x, y, s in vehicle_path(boxes[0], out_w, out_h, per, rng):
                    m = np.float32([[s, 0, -x * s], [0, s, -y * s]])
                    frame = cv2.warpAffine(image, m, (out_w, out_h), borderMode=cv2.BORDER_REPLICATE,
                                           flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
                    keep = []
                    for b in boxes:
                        fx1, fy1, fx2, fy2 = (b[0] - x) * s, (b[1] - y) * s, (b[2] - x) * s, (b[3] - y) * s
                        full = max(fx2 - fx1, 0) * max(fy2 - fy1, 0)
                        cx1, cy1, cx2, cy2 = max(fx1, 0), max(fy1, 0), min(fx2, out_w), min(fy2, out_h)
                        inside = max(cx2 - cx1, 0) * max(cy2 - cy1, 0)
                        if full > 0 and inside / full >= 0.6:
                            keep.append({"label": "plate", "box": [round(v, 1) for v in (cx1, cy1, cx2, cy2)],
                                         "style": style, "panel": panel, "photo": name})
                    gt[str(frame_i)] = keep
                    sink.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
                    frame_i += 1
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                        "-s", f"{out_w}x{out_h}", "-r", str(fps), "-i", str(raw),
                        "-f", "lavfi", "-i", f"sine=frequency=440:duration={frame_i / fps}",
                        "-c:v", "libx264", "-preset", "fast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-shortest", str(out)], check=True)
    meta = {"fps": fps, "frames": frame_i, "size": [out_w, out_h], "crf": crf, "photos": names, "boxes": gt}
    out.with_suffix(".gt.json").write_text(json.dumps(meta))
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=REPO.parent / "shared" / "evaldata" / "plates")
    ap.add_argument("--out", type=Path, default=Path("/tmp/g13p/clips"))
    ap.add_argument("--split", choices=["heldout", "tuning"], default="heldout")
    ap.add_argument("--per-clip", type=int, default=4, help="vehicles (photos) per clip")
    ap.add_argument("--seconds", type=float, default=2.0, help="per vehicle")
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--clips", type=int, default=None, help="at most this many clips")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    if args.out.resolve().is_relative_to(REPO):
        sys.exit("make_plate_clips: --out must lie outside the repository (the photos' licences forbid copies)")
    check_font()
    rng = random.Random(args.seed)
    names = photos(args.src, args.split)
    rng.shuffle(names)
    args.out.mkdir(parents=True, exist_ok=True)
    groups = [names[i:i + args.per_clip] for i in range(0, len(names), args.per_clip)][:args.clips]
    for c, group in enumerate(groups):
        w, h = SIZES[c % len(SIZES)]
        crf = CRFS[c % len(CRFS)]
        out = args.out / f"plates_{args.split}_{c:02d}_{h}p_crf{crf}.mp4"
        meta = make_clip(args.src, group, out, (w, h), crf, args.fps, args.seconds, rng, style_at=c)
        n = sum(len(v) for v in meta["boxes"].values())
        print(f"{out}: {meta['frames']} frames, {n} plate boxes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
