#!/usr/bin/env python3
"""How well the appearance descriptor (redactor/identify/appearance.py) tells pedestrians of one clip apart.

For each labelled clip (tests/make_pedestrian_clips.py) and its track table: every person-track row whose box
matches one labelled person (IoU >= 0.5) and no other (IoU < 0.1) is described; pairs within a clip are scored
same-person vs different-person: AUC, and the false-accept rate at thresholds.

usage: appearance_auc.py CLIP.mp4 ... --tracks DIR   (DIR/CLIP.json or DIR/CLIP.tracks.json)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from redactor.identify.appearance import describe, similarity
from redactor.media import decode, probe
from redactor.track.table import TrackTable


def _iou(a, b) -> np.ndarray:
    b = np.asarray(b, np.float32).reshape(-1, 4)
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter)


def samples(clip: Path, table: TrackTable) -> tuple[np.ndarray, list[str], list[int]]:
    gt = json.loads(clip.with_suffix(".gt.json").read_text())
    want: dict[int, list] = {}
    for t in table.tracks:
        if t.label != "person":
            continue
        for f, b, src in zip(t.frames, t.boxes, t.sources, strict=False):
            if src == "flow":
                continue
            people = [g for g in gt["boxes"].get(str(int(f)), []) if g["label"] == "person"]
            if not people:
                continue
            iou = _iou(b, [g["box"] for g in people])
            k = int(np.argmax(iou))
            if iou[k] >= 0.5 and (np.delete(iou, k) < 0.1).all():
                want.setdefault(int(f), []).append((b, people[k]["who"], int(f)))
    desc, who, frames = [], [], []
    for frame in decode(clip, probe(clip).rotation):
        for b, w, f in want.get(frame.index, ()):
            d = describe(frame.image, b[None])[0]
            if not np.isnan(d).any():
                desc.append(d)
                who.append(w)
                frames.append(f)
    return np.asarray(desc), who, frames


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if not len(pos) or not len(neg):
        return float("nan")
    allv = np.concatenate([pos, neg])
    ranks = allv.argsort().argsort() + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--tracks", type=Path, required=True)
    a = ap.parse_args()
    all_pos, all_neg = [], []
    for clip in a.clips:
        path = a.tracks / f"{clip.stem}.json"
        if not path.exists():
            path = a.tracks / f"{clip.stem}.tracks.json"
        d, who, frames = samples(clip, TrackTable.load(path))
        if len(d) < 2:
            continue
        s = similarity(d, d)
        w = np.asarray(who)
        same = w[:, None] == w[None, :]
        far = np.abs(np.asarray(frames)[:, None] - np.asarray(frames)[None, :]) >= 4
        iu = np.triu_indices(len(d), 1)
        pos = s[iu][(same & far)[iu]]
        neg = s[iu][(~same)[iu]]
        all_pos.append(pos)
        all_neg.append(neg)
        print(f"{clip.stem}: {len(d)} rows, people {sorted(set(who))}: AUC {auc(pos, neg):.3f}, "
              f"same p10 {np.percentile(pos, 10):.3f}, different p99 {np.percentile(neg, 99) if len(neg) else 0:.3f}")
    pos, neg = np.concatenate(all_pos), np.concatenate(all_neg)
    print(f"all: AUC {auc(pos, neg):.3f}")
    for t in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85):
        print(f"  t {t}: same accepted {np.mean(pos >= t):.3f}, different accepted {np.mean(neg >= t):.4f}")


if __name__ == "__main__":
    main()
