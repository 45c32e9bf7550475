#!/usr/bin/env python3
"""Make labelled crossing clips of real pedestrians with heads of 8-16 px, where the ground truth is exact.

Real people walking, cut out of Debian's vtest.avi (pedestrians filmed from above): person boxes from the COCO
model, linked frame to frame, kept where the person walks alone for at least 24 frames; each frame's cut-out is the
pixels that differ from the clip's median background inside the box (the person's own silhouette). These walkers
are pasted, frame after frame of their own gait, onto vtest's empty background along paths we choose, so who is
where is known exactly: people walking towards each other on one line (the nearer one occludes the farther), side by
side, overtaking, and crossing diagonally, scaled so their heads are 8-16 px tall.

Ground truth per frame in the format of shared/tools/make_clip.py: a `face` box (the head, from the silhouette's top
rows) and a `person` box for each walker, with `who`; a head is labelled when at least 60% of it is in the frame and
not covered by someone drawn over it. `requester` names the person the clerk wants kept. Score with
`shared/tools/score_redact.py CLIP OUT.mp4 CLIP.gt.json --keep REQUESTER`; the clerk's pick is
`shared/tools/pick_keep.py TRACKS.json CLIP.gt.json`.

usage: make_pedestrian_clips.py OUT_DIR [--clips 4] [--frames 60] [--seed 1] [--vtest PATH]
The cut-outs are cached beside the clips (walkers.npz): they are derived from vtest.avi, never part of the repo.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VTEST = ROOT / ".cache" / "testdata" / "vtest.avi"
FPS = 10  # vtest.avi's own rate
MIN_RUN = 24  # frames a walker must be seen alone
HEAD_SHARE = 0.16  # head height / standing height (adult proportions, seen from slightly above)


def _read(vtest: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(vtest))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / u if u > 0 else 0.0


def extract_walkers(vtest: Path, cache: Path) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """[(BGR crop, alpha 0..1)] per frame for each pedestrian seen walking alone (cached in `cache`)."""
    if cache.exists():
        data = np.load(cache, allow_pickle=True)
        return list(data["walkers"])
    from redactor.detect.yolo import COCO_PERSON, Yolo

    frames = _read(vtest)
    bg = np.median(np.stack(frames[::8]), axis=0).astype(np.uint8)
    yolo = Yolo("coco_yolov8n", threshold=0.4)
    per_frame = []
    for f in frames:
        b, s, c = yolo(f)
        per_frame.append(b[c == COCO_PERSON])
    # greedy IoU linking
    tracks: list[list[tuple[int, np.ndarray]]] = []
    live: list[int] = []
    for i, boxes in enumerate(per_frame):
        used = set()
        nxt = []
        for t in live:
            last = tracks[t][-1][1]
            best, bi = 0.3, None
            for j, b in enumerate(boxes):
                if j not in used and (v := _iou(last, b)) > best:
                    best, bi = v, j
            if bi is not None:
                used.add(bi)
                tracks[t].append((i, boxes[bi]))
                nxt.append(t)
        for j, b in enumerate(boxes):
            if j not in used:
                tracks.append([(i, b)])
                nxt.append(len(tracks) - 1)
        live = nxt
    walkers = []
    H, W = bg.shape[:2]
    for t in tracks:
        run: list[tuple[np.ndarray, np.ndarray]] = []
        for i, b in t + [(None, None)]:
            alone = False
            if i is not None:
                h = b[3] - b[1]
                inside = b[0] > 4 and b[1] > 4 and b[2] < W - 4 and b[3] < H - 4
                others = [o for o in per_frame[i] if _iou(o, b) < 0.9]
                grown = np.array([b[0] - 0.3 * (b[2] - b[0]), b[1] - 0.1 * h, b[2] + 0.3 * (b[2] - b[0]),
                                  b[3] + 0.1 * h])
                alone = inside and h >= 70 and not any(_iou(grown, o) > 0 for o in others)
            if alone:
                x1, y1, x2, y2 = (int(round(v)) for v in b)
                crop = frames[i][y1:y2, x1:x2]
                diff = np.abs(crop.astype(np.int16) - bg[y1:y2, x1:x2].astype(np.int16)).max(axis=2)
                mask = (diff > 28).astype(np.uint8)
                mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
                mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
                if mask[: max(3, int(0.2 * mask.shape[0]))].sum() >= 6 and mask.mean() > 0.2:
                    run.append((crop.copy(), cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)))
                    continue
            if len(run) >= MIN_RUN:
                walkers.append(run)
            run = []
    cache.parent.mkdir(parents=True, exist_ok=True)
    arr = np.empty(len(walkers), dtype=object)
    arr[:] = walkers
    np.savez_compressed(cache, walkers=arr, background=bg)
    return walkers


def background(cache: Path) -> np.ndarray:
    return np.load(cache, allow_pickle=True)["background"]


def head_box(alpha: np.ndarray) -> np.ndarray:
    """The head inside a cut-out (x1, y1, x2, y2 in cut-out pixels): the silhouette's top, HEAD_SHARE of its height,
    as wide as the silhouette is there (at least 0.6 of the head's height)."""
    rows = np.nonzero((alpha > 0.5).any(axis=1))[0]
    top, bottom = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, alpha.shape[0])
    hh = HEAD_SHARE * (bottom - top)
    band = alpha[top:int(top + hh) + 1] > 0.5
    cols = np.nonzero(band.any(axis=0))[0]
    cx = (cols[0] + cols[-1] + 1) / 2 if len(cols) else alpha.shape[1] / 2
    hw = max(0.6 * hh, min(float(cols[-1] + 1 - cols[0]) if len(cols) else hh, 0.9 * hh))
    return np.array([cx - hw / 2, top, cx + hw / 2, top + hh], np.float32)


def plan(rng: random.Random, kind: str, n: int, size: tuple[int, int], frames: int) -> list[dict]:
    """Paths (feet positions at the first and last frame) and scales for `n` walkers in a scenario."""
    W, H = size
    y = rng.uniform(0.45, 0.7) * H
    paths = []
    if kind == "cross":  # towards each other on nearly one line: the nearer (lower) one occludes the farther
        dy = rng.uniform(4, 14)
        paths += [((0.08 * W, y), (0.85 * W, y + rng.uniform(-10, 10))),
                  ((0.92 * W, y + dy), (0.15 * W, y + dy + rng.uniform(-10, 10)))]
    elif kind == "side":  # side by side, same direction, same pace, a shoulder apart
        gap = rng.uniform(0.45, 0.8)
        paths += [((0.1 * W, y), (0.8 * W, y)), ((0.1 * W + gap * 40, y + 6), (0.8 * W + gap * 40, y + 6))]
    elif kind == "overtake":  # one catches up with the other and passes
        paths += [((0.1 * W, y), (0.9 * W, y)), ((0.35 * W, y + 8), (0.65 * W, y + 10))]
    else:  # diagonal crossing
        paths += [((0.1 * W, 0.45 * H), (0.9 * W, 0.85 * H)), ((0.9 * W, 0.5 * H), (0.1 * W, 0.8 * H))]
    while len(paths) < n:  # a third walker crossing the others' path
        x = rng.uniform(0.35, 0.65) * W
        paths.append(((x, 0.3 * H), (x + rng.uniform(-60, 60), 0.95 * H)))
    head = rng.uniform(8, 16)  # px: the heads' height in this clip
    return [{"start": a, "end": b, "head": head * rng.uniform(0.9, 1.1)} for a, b in paths[:n]]


def make_clip(out: Path, walkers: list, bg: np.ndarray, rng: random.Random, kind: str, n: int, frames: int) -> dict:
    H, W = bg.shape[:2]
    chosen = rng.sample(range(len(walkers)), n)
    paths = plan(rng, kind, n, (W, H), frames)
    who = [f"w{k}" for k in range(n)]
    phase = [rng.randrange(len(walkers[c])) for c in chosen]
    tall = [float(np.median([crop.shape[0] for crop, _ in walkers[c]])) for c in chosen]
    gt: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "frames.yuv"
        with raw.open("wb") as sink:
            for i in range(frames):
                t = i / max(frames - 1, 1)
                frame = bg.copy()
                owner = np.full((H, W), -1, np.int16)
                placed = []
                feet = [(p["start"][0] + (p["end"][0] - p["start"][0]) * t,
                         p["start"][1] + (p["end"][1] - p["start"][1]) * t) for p in paths]
                for k in sorted(range(n), key=lambda k: feet[k][1]):  # farther (higher in the picture) first
                    seq = walkers[chosen[k]]
                    j = (phase[k] + i) % (2 * len(seq) - 2)
                    crop, alpha = seq[j if j < len(seq) else 2 * len(seq) - 2 - j]
                    s = paths[k]["head"] / (HEAD_SHARE * tall[k])
                    size = (max(2, round(crop.shape[1] * s)), max(2, round(crop.shape[0] * s)))
                    img = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
                    a = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)
                    x, y = round(feet[k][0] - size[0] / 2), round(feet[k][1] - size[1])
                    fx1, fy1, fx2, fy2 = max(0, x), max(0, y), min(W, x + size[0]), min(H, y + size[1])
                    if fx2 <= fx1 or fy2 <= fy1:
                        continue
                    sa = a[fy1 - y:fy2 - y, fx1 - x:fx2 - x, None]
                    region = frame[fy1:fy2, fx1:fx2].astype(np.float32)
                    frame[fy1:fy2, fx1:fx2] = (region * (1 - sa) + img[fy1 - y:fy2 - y, fx1 - x:fx2 - x] * sa
                                               ).astype(np.uint8)
                    owner[fy1:fy2, fx1:fx2][sa[..., 0] > 0.5] = k
                    head = head_box(a) + np.array([x, y, x, y], np.float32)
                    rows = np.nonzero((a > 0.5).any(axis=1))[0]
                    cols = np.nonzero((a > 0.5).any(axis=0))[0]
                    body = np.array([x + cols[0], y + rows[0], x + cols[-1] + 1, y + rows[-1] + 1], np.float32)
                    placed.append((k, head, body))
                labels = []
                for k, head, body in placed:
                    x1, y1 = max(0, int(head[0])), max(0, int(head[1]))
                    x2, y2 = min(W, int(np.ceil(head[2]))), min(H, int(np.ceil(head[3])))
                    full = float((head[2] - head[0]) * (head[3] - head[1]))
                    # the head's own pixels: its silhouette inside the head box, seen (not drawn over)
                    seen = float((owner[y1:y2, x1:x2] == k).sum()) if x2 > x1 and y2 > y1 else 0.0
                    inside = max(0.0, (x2 - x1) * (y2 - y1)) / full if full > 0 else 0.0
                    clip = [round(float(v), 1) for v in (max(head[0], 0), max(head[1], 0), min(head[2], W),
                                                         min(head[3], H))]
                    if inside >= 0.6 and seen >= 0.35 * full:
                        labels.append({"label": "face", "who": who[k], "box": clip})
                    labels.append({"label": "person", "who": who[k],
                                   "box": [round(float(v), 1) for v in (max(body[0], 0), max(body[1], 0),
                                                                        min(body[2], W), min(body[3], H))]})
                gt[str(i)] = labels
                sink.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                        "-s", f"{W}x{H}", "-r", str(FPS), "-i", str(raw), "-c:v", "libx264", "-preset", "fast",
                        "-crf", "20", "-pix_fmt", "yuv420p", str(out)], check=True)
    requester = who[rng.randrange(n)]
    meta = {"fps": FPS, "frames": frames, "size": [W, H], "boxes": gt, "requester": requester, "scenario": kind,
            "heads_px": [round(float(np.median([b["box"][3] - b["box"][1] for r in gt.values() for b in r
                                                if b["label"] == "face" and b["who"] == w] or [0])), 1)
                         for w in who]}
    out.with_suffix(".gt.json").write_text(json.dumps(meta))
    return meta


KINDS = ("cross", "side", "overtake", "diagonal")


def make_clips(out_dir: Path, clips: int = 4, frames: int = 60, seed: int = 1, vtest: Path = VTEST,
               cache: Path | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = cache or out_dir / "walkers.npz"
    walkers = extract_walkers(vtest, cache)
    bg = background(cache)
    rng = random.Random(seed)
    made = []
    for c in range(clips):
        kind = KINDS[(c + seed) % len(KINDS)]
        path = out_dir / f"walk{seed:02d}_{c + 1:02d}_{kind}.mp4"
        make_clip(path, walkers, bg, rng, kind, 2 + (c % 2), frames)
        made.append(path)
    return made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vtest", type=Path, default=VTEST)
    ap.add_argument("--cache", type=Path, default=None, help="walkers.npz (default: in OUT_DIR)")
    a = ap.parse_args()
    for path in make_clips(a.out_dir, a.clips, a.frames, a.seed, a.vtest, a.cache):
        gt = json.loads(path.with_suffix(".gt.json").read_text())
        print(f"{path}: {gt['scenario']}, requester {gt['requester']}, heads {gt['heads_px']} px")


if __name__ == "__main__":
    main()
