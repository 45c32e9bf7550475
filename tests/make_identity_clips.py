#!/usr/bin/env python3
"""Make identity test clips: real faces of known identity moving and crossing paths over real CCTV frames.

Each clip takes consecutive frames of Debian's vtest.avi (pedestrians filmed from above) as the background and pastes
the face (with hair and chin, feathered edges) of two or three people from ../shared/evaldata/identities onto it at
CCTV sizes (40-90 px faces), moving along straight paths that cross mid-clip. One person is the requester: one of
their photos is pasted into the clip, another one (never pasted) is the reference photo the clerk is given.

Output per clip: NAME.mp4 (H.264, with an AAC tone that the redactor must drop), NAME.gt.json in the format of
shared/tools/make_clip.py ({"fps", "frames", "size", "boxes": {"<frame>": [{"label": "face", "box": [...],
"who": "p03"}]}}) plus {"requester": "p03", "reference": PATH, "people": {...}}. A face is labelled in a frame when
at least 60% of its box is inside the frame and not covered by a face pasted over it. Score with
`shared/tools/score_redact.py NAME.mp4 OUT.mp4 NAME.gt.json --label face --keep p03`.

usage: make_identity_clips.py OUT_DIR [--clips 3] [--frames 60] [--seed 1] [--size 640x480] [--vtest PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
IDENTITIES = Path(os.environ.get("REDACTOR_SHARED", ROOT.parent / "shared")) / "evaldata" / "identities"
VTEST = ROOT / ".cache" / "testdata" / "vtest.avi"
FPS = 10  # vtest.avi's own rate


def load_labels(folder: Path) -> dict:
    return json.loads((folder / "labels.json").read_text())["people"]


def sprite(photo: np.ndarray, face: list[float], face_h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face with a margin (hair, chin, a little neck), scaled so the face box is `face_h` px tall: BGR image,
    alpha (feathered ellipse) and the face box inside the sprite."""
    x1, y1, x2, y2 = face
    w, h = x2 - x1, y2 - y1
    mx, my = 0.45 * w, 0.35 * h
    H, W = photo.shape[:2]
    cx1, cy1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
    cx2, cy2 = min(W, int(x2 + mx)), min(H, int(y2 + my))
    crop = photo[cy1:cy2, cx1:cx2]
    s = face_h / h
    size = (max(2, round(crop.shape[1] * s)), max(2, round(crop.shape[0] * s)))
    img = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    alpha = np.zeros(img.shape[:2], np.float32)
    fb = np.array([(x1 - cx1) * s, (y1 - cy1) * s, (x2 - cx1) * s, (y2 - cy1) * s], np.float32)
    centre = (int((fb[0] + fb[2]) / 2), int((fb[1] + fb[3]) / 2))
    axes = (int((fb[2] - fb[0]) * 0.5 + 0.35 * (fb[2] - fb[0])), int((fb[3] - fb[1]) * 0.5 + 0.3 * (fb[3] - fb[1])))
    cv2.ellipse(alpha, centre, axes, 0, 0, 360, 1.0, -1)
    k = max(3, (face_h // 6) | 1)
    alpha = cv2.GaussianBlur(alpha, (k, k), 0)
    return img, alpha, fb


def paste(frame: np.ndarray, owner: np.ndarray, who: int, img: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend the sprite with its top-left at (x, y); `owner` records whose face is on top at each pixel."""
    H, W = frame.shape[:2]
    h, w = img.shape[:2]
    fx1, fy1, fx2, fy2 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if fx2 <= fx1 or fy2 <= fy1:
        return
    sx1, sy1 = fx1 - x, fy1 - y
    a = alpha[sy1:sy1 + fy2 - fy1, sx1:sx1 + fx2 - fx1, None]
    region = frame[fy1:fy2, fx1:fx2].astype(np.float32)
    frame[fy1:fy2, fx1:fx2] = (region * (1 - a) + img[sy1:sy1 + fy2 - fy1, sx1:sx1 + fx2 - fx1] * a).astype(np.uint8)
    owner[fy1:fy2, fx1:fx2][a[..., 0] > 0.5] = who


def background(vtest: Path, start: int, n: int, size: tuple[int, int]) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(vtest))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = []
    while len(out) < n:
        ok, f = cap.read()
        if not ok:
            break
        h, w = f.shape[:2]
        ox, oy = (w - size[0]) // 2, (h - size[1]) // 2
        out.append(f[oy:oy + size[1], ox:ox + size[0]].copy() if (w, h) != size else f)
    cap.release()
    if len(out) < n:
        raise SystemExit(f"{vtest}: only {len(out)} frames from {start}")
    return out


def plan(rng: random.Random, n_people: int, size: tuple[int, int]) -> list[dict]:
    """Straight paths that cross near mid-clip: the first two people walk towards each other along nearly the
    same line (so their faces pass close or overlap), a third crosses diagonally."""
    W, H = size
    ycross = rng.uniform(0.35, 0.65) * H
    paths = []
    for k in range(n_people):
        fh = rng.randint(40, 90)
        if k == 0:
            a, b = (0.12 * W, ycross + rng.uniform(-0.08, 0.08) * H), (0.88 * W, ycross)
        elif k == 1:
            off = rng.choice([-1, 1]) * rng.uniform(0.3, 1.0) * fh  # vertical offset at the crossing
            a, b = (0.88 * W, ycross + off + rng.uniform(-0.08, 0.08) * H), (0.12 * W, ycross + off)
        else:
            a, b = (rng.uniform(0.4, 0.6) * W, 0.15 * H), (rng.uniform(0.4, 0.6) * W, 0.85 * H)
        paths.append({"start": a, "end": b, "face_h": (fh, int(fh * rng.uniform(0.85, 1.2)))})
    return paths


def make_clip(out: Path, people: dict, requester: str, others: list[str], rng: random.Random, frames: int,
              size: tuple[int, int], vtest: Path, folder: Path) -> dict:
    cast = [requester, *others]
    rng.shuffle(cast)  # who walks which path (and who is drawn on top) changes from clip to clip
    photos = {}
    ref = None
    for who in cast:
        names = sorted(people[who]["photos"])
        if who == requester:
            ref, shown = rng.sample(names, 2)
        else:
            shown = rng.choice(names)
        photos[who] = shown
    paths = plan(rng, len(cast), size)
    bg = background(vtest, rng.randint(0, 700 - frames), frames, size)
    images = {who: cv2.imread(str(folder / who / photos[who])) for who in cast}
    gt: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "frames.yuv"
        with raw.open("wb") as sink:
            for i, frame in enumerate(bg):
                t = i / max(frames - 1, 1)
                owner = np.full(frame.shape[:2], -1, np.int16)
                placed = []
                for k, (who, path) in enumerate(zip(cast, paths, strict=True)):
                    fh = round(path["face_h"][0] + (path["face_h"][1] - path["face_h"][0]) * t)
                    img, alpha, fb = sprite(images[who], people[who]["photos"][photos[who]]["face"], fh)
                    cx = path["start"][0] + (path["end"][0] - path["start"][0]) * t
                    cy = path["start"][1] + (path["end"][1] - path["start"][1]) * t
                    x = round(cx - (fb[0] + fb[2]) / 2)
                    y = round(cy - (fb[1] + fb[3]) / 2)
                    paste(frame, owner, k, img, alpha, x, y)
                    placed.append((k, who, fb + np.array([x, y, x, y], np.float32)))
                labels = []
                for k, who, box in placed:
                    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
                    x2, y2 = min(size[0], int(np.ceil(box[2]))), min(size[1], int(np.ceil(box[3])))
                    full = float((box[2] - box[0]) * (box[3] - box[1]))
                    seen = float((owner[y1:y2, x1:x2] == k).sum()) if x2 > x1 and y2 > y1 else 0.0
                    if full > 0 and seen / full >= 0.6:
                        labels.append({"label": "face", "who": who,
                                       "box": [round(float(v), 1) for v in (max(box[0], 0), max(box[1], 0),
                                                                            min(box[2], size[0]),
                                                                            min(box[3], size[1]))]})
                gt[str(i)] = labels
                sink.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                        "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", str(raw),
                        "-f", "lavfi", "-i", f"sine=frequency=440:duration={frames / FPS}",
                        "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-shortest", str(out)], check=True)
    meta = {"fps": FPS, "frames": frames, "size": list(size), "boxes": gt, "requester": requester,
            "reference": str(folder / requester / ref),
            "people": {who: str(folder / who / photos[who]) for who in cast}}
    out.with_suffix(".gt.json").write_text(json.dumps(meta))
    return meta


def make_clips(out_dir: Path, clips: int = 3, frames: int = 60, seed: int = 1, size: tuple[int, int] = (640, 480),
               vtest: Path = VTEST, folder: Path = IDENTITIES) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    people = load_labels(folder)
    rng = random.Random(seed)
    made = []
    for c in range(clips):
        requester, *others = rng.sample(sorted(people), 2 + (c % 2))  # 2 people, then 3, then 2...
        path = out_dir / f"identity{c + 1:02d}.mp4"
        make_clip(path, people, requester, others, rng, frames, size, vtest, folder)
        made.append(path)
    return made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--vtest", type=Path, default=VTEST)
    ap.add_argument("--identities", type=Path, default=IDENTITIES)
    a = ap.parse_args()
    size = tuple(int(v) for v in a.size.split("x"))
    for path in make_clips(a.out_dir, a.clips, a.frames, a.seed, size, a.vtest, a.identities):
        gt = json.loads(path.with_suffix(".gt.json").read_text())
        print(f"{path}: {gt['frames']} frames, requester {gt['requester']} (reference {gt['reference']}), "
              f"people {', '.join(gt['people'])}")


if __name__ == "__main__":
    main()
