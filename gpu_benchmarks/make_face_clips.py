#!/usr/bin/env python3
"""Harder labelled face clips over ALL the evaldata face photos, split into a tuning set and a held-out set.

Split: a photo is held out when the first byte of sha256(file name) is odd, tuning when it is even (a fixed rule, no
choice of photos; 96 photos -> about half each). Never tune on the held-out clips.

Each clip: `../shared/tools/make_clip.py` over consecutive photos of one split (sorted by name) at a short time per
photo, so the virtual camera pans and zooms fast (a whole pan/zoom in 0.5-0.8 s), at 960x540, 1280x720 or
1920x1080; then, frame by frame, camera shake (a random walk of translations, the labels moved with it), darkening
(gamma and gain), sensor noise, and an H.264 re-encode at a CCTV bitrate (CRF 28-32). Ground truth as make_clip.py
writes it (`CLIP.gt.json`), boxes moved with the shake and kept when 60% inside, as make_clip.py keeps them.

usage: make_face_clips.py [--out /tmp/f13/clips] [--split tune|held|all] [--only NAME ...] [--list]
Writes OUT/<split>_<variant>.mp4 and .gt.json; prints one line per clip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("REDACTOR_SHARED", REPO.parent / "shared"))
FACES = SHARED / "evaldata" / "faces"
MAKE_CLIP = SHARED / "tools" / "make_clip.py"


def split_of(name: str) -> str:
    """The fixed rule: held out when the first byte of sha256(file name) is odd."""
    return "held" if hashlib.sha256(name.encode()).digest()[0] % 2 else "tune"


@dataclass(frozen=True)
class Variant:
    name: str
    size: str
    seconds: float  # per photo: the camera's whole pan and zoom over one photo takes this long
    crf: int
    shake: float = 0.0  # px (at the clip's size): largest step of the shake's random walk
    dark: float = 1.0  # gain (< 1 darker), with gamma 1.6 when dark
    noise: float = 0.0  # sigma of Gaussian noise, grey levels
    seed: int = 1


# Eight variants: every photo of a split appears in exactly one of them (photos dealt in turn, sorted by name).
VARIANTS = (
    Variant("pan540_crf28", "960x540", 0.6, 28, seed=11),
    Variant("shake720_crf30", "1280x720", 0.8, 30, shake=6, seed=12),
    Variant("zoom1080_crf32", "1920x1080", 0.6, 32, seed=13),
    Variant("dark540_noise_crf30", "960x540", 0.8, 30, dark=0.45, noise=8, seed=14),
    Variant("noise720_crf32", "1280x720", 0.6, 32, noise=12, seed=15),
    Variant("shake540_crf32", "960x540", 0.6, 32, shake=10, seed=16),
    Variant("dark720_crf28", "1280x720", 0.8, 28, dark=0.4, seed=17),
    Variant("shake1080_noise_crf30", "1920x1080", 0.6, 30, shake=5, noise=6, seed=18),
)


def photos(split: str) -> list[str]:
    names = sorted(json.loads((FACES / "labels.json").read_text())["images"])
    return [n for n in names if split_of(n) == split]


def deal(split: str) -> dict[str, list[str]]:
    """Photos of the split dealt to the variants in turn: all of them used, each once."""
    out: dict[str, list[str]] = {v.name: [] for v in VARIANTS}
    for i, name in enumerate(photos(split)):
        out[VARIANTS[i % len(VARIANTS)].name].append(name)
    return out


def shake_path(n: int, step: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) offsets: a random walk pulled back to the centre (a camera on a pole in the wind)."""
    pos = np.zeros(2)
    out = np.zeros((n, 2))
    for i in range(n):
        pos = 0.7 * pos + rng.uniform(-step, step, 2)
        out[i] = pos
    return out


def move_boxes(boxes: list[dict], dx: float, dy: float, w: int, h: int) -> list[dict]:
    keep = []
    for g in boxes:
        x1, y1, x2, y2 = g["box"]
        fx1, fy1, fx2, fy2 = x1 + dx, y1 + dy, x2 + dx, y2 + dy
        full = max(fx2 - fx1, 0) * max(fy2 - fy1, 0)
        cx1, cy1, cx2, cy2 = max(fx1, 0), max(fy1, 0), min(fx2, w), min(fy2, h)
        inside = max(cx2 - cx1, 0) * max(cy2 - cy1, 0)
        if full > 0 and inside / full >= 0.6:
            keep.append({**g, "box": [round(v, 1) for v in (cx1, cy1, cx2, cy2)]})
    return keep


def make(variant: Variant, split: str, names: list[str], out: Path) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="f13clip-") as tmp:
        base = Path(tmp) / "base.mp4"
        subprocess.run([sys.executable, str(MAKE_CLIP), str(FACES / "labels.json"), str(FACES), str(base),
                        "--images", *names, "--seconds", str(variant.seconds), "--size", variant.size,
                        "--seed", str(variant.seed), "--label", "face"], check=True, capture_output=True)
        gt = json.loads(base.with_suffix(".gt.json").read_text())
        w, h = gt["size"]
        rng = np.random.default_rng(variant.seed)
        offsets = shake_path(gt["frames"], variant.shake, rng) if variant.shake else np.zeros((gt["frames"], 2))
        lut = None
        if variant.dark != 1.0:
            lut = np.clip(255 * variant.dark * (np.arange(256) / 255.0) ** 1.6, 0, 255).astype(np.uint8)
        enc = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
                                "-s", f"{w}x{h}", "-r", str(gt["fps"]), "-i", "-", "-i", str(base),
                                "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "fast",
                                "-crf", str(variant.crf), "-pix_fmt", "yuv420p", "-c:a", "copy", "-shortest",
                                str(out)], stdin=subprocess.PIPE)
        cap = cv2.VideoCapture(str(base))
        boxes = {}
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            dx, dy = offsets[i]
            if variant.shake:
                m = np.float32([[1, 0, dx], [0, 1, dy]])
                frame = cv2.warpAffine(frame, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
            if lut is not None:
                frame = cv2.LUT(frame, lut)
            if variant.noise:
                frame = np.clip(frame + rng.normal(0, variant.noise, frame.shape), 0, 255).astype(np.uint8)
            boxes[str(i)] = move_boxes(gt["boxes"].get(str(i), []), dx, dy, w, h) if variant.shake \
                else gt["boxes"].get(str(i), [])
            enc.stdin.write(frame.tobytes())
            i += 1
        enc.stdin.close()
        if enc.wait() != 0:
            raise SystemExit(f"make_face_clips: ffmpeg failed on {out}")
    if i != gt["frames"]:
        raise SystemExit(f"make_face_clips: decoded {i} of {gt['frames']} frames of {base}")
    meta = {"split": split, "variant": variant.__dict__, "photos": names}
    out.with_suffix(".gt.json").write_text(json.dumps({**gt, "boxes": boxes, "made": meta}))
    n = sum(len(v) for v in boxes.values())
    return {"clip": str(out), "frames": i, "boxes": n, "photos": len(names)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/f13/clips"))
    ap.add_argument("--split", choices=["tune", "held", "all"], default="all")
    ap.add_argument("--only", nargs="*", default=None, help="variant names")
    ap.add_argument("--list", action="store_true", help="print the split and the photos of each clip, make nothing")
    args = ap.parse_args(argv)
    for split in ("tune", "held") if args.split == "all" else (args.split,):
        for variant in VARIANTS:
            if args.only and variant.name not in args.only:
                continue
            names = deal(split)[variant.name]
            out = args.out / f"{split}_{variant.name}.mp4"
            if args.list:
                print(f"{out.name}: {', '.join(names)}")
                continue
            print(json.dumps(make(variant, split, names, out)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
