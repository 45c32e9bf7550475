#!/usr/bin/env python3
"""Per-pass face recall on the frames of labelled clips: which detector passes (model, scale, mirrored) see which
labelled faces, by height bucket, at which score; to choose the video passes and an audit set disjoint from them
without running the whole pipeline for every choice.

Every `--every`-th frame of each CLIP (CLIP.gt.json beside it) is run through every candidate pass at a low floor;
the raw boxes and scores are cached (--cache). Then each named pass set, at its thresholds, is scored with the
acceptance rule (IoU >= 0.3 or the box covering 70% of the label): recall per bucket (<10, 10-16, 16-32, >=32 px),
boxes predicted per frame (a proxy for collateral), and ms per frame of the passes (this machine, this load).

usage: face_pass_recall.py CLIP [CLIP ...] [--every 8] --json OUT.json [--cache DIR] [--sets '{"name": [...]}']
A set is a list of [model, scale, flip, threshold]; model yunet | centerface | heads (COCO persons' heads).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpu_benchmarks.scoring import match_matrix  # noqa: E402

BUCKETS = ((0, 10, "<10"), (10, 16, "10-16"), (16, 32, "16-32"), (32, 1e9, ">=32"))
MAX_PIXELS = 6.5e6  # upscaled passes larger than this are skipped (YuNet 3x on 1080p: 18.7 Mpx)
FLOOR = {"yunet": 0.25, "centerface": 0.05}
PASSES = [("yunet", 1.0, False), ("yunet", 1.5, False), ("yunet", 2.0, False), ("yunet", 3.0, False),
          ("yunet", 2.0, True), ("yunet", 1.0, True), ("yunet", 1.5, True), ("centerface", 1.0, False),
          ("centerface", 1.5, False), ("centerface", 2.0, False), ("centerface", 1.0, True), ("centerface", 1.5, True),
          ("heads", 1.0, False)]
# What the video profile and the audit run today, and candidates.
SETS = {
    "video today (yunet 2x .4, centerface 1x .15, heads)": [["yunet", 2.0, False, 0.4],
                                                            ["centerface", 1.0, False, 0.15], ["heads", 1, 0, 0]],
    "audit today (centerface 1x .5)": [["centerface", 1.0, False, 0.5]],
}


def key(p) -> str:
    return f"{p[0]}{p[1]:g}{'f' if p[2] else ''}"


def run_passes(image: np.ndarray, models: dict, costs: dict, passes: list | None = None) -> dict:
    from redactor.detect.engine import _run_flipped
    from redactor.detect.yolo import COCO_PERSON
    from redactor.track.masks import head_region

    out = {}
    for model, scale, flip in passes or PASSES:
        t = time.perf_counter()
        if model != "heads" and scale * scale * image.shape[0] * image.shape[1] > MAX_PIXELS:
            out[key((model, scale, flip))] = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
            continue
        if model == "heads":
            b, s, c = models["coco"](image)
            person = (c == COCO_PERSON) & (s >= 0.35)
            b, s = head_region(b[person]), s[person]
        else:
            m = models[model]
            b, s = _run_flipped(m, image, scale) if flip else m(image, scale)
        costs.setdefault(key((model, scale, flip)), []).append(1000 * (time.perf_counter() - t))
        out[key((model, scale, flip))] = (np.asarray(b, np.float32).reshape(-1, 4), np.asarray(s, np.float32))
    return out


def collect(clips: list[Path], every: int, cache: Path | None, passes: list | None = None) -> tuple[list, dict]:
    import cv2

    from redactor.detect.centerface import CenterFace
    from redactor.detect.yolo import Yolo
    from redactor.detect.yunet import YuNet

    models = None
    frames, costs = [], {}
    for clip in clips:
        tag = "" if passes is None else "." + "-".join(key(p) for p in passes)
        store = cache / f"{clip.stem}.every{every}{tag}.pkl" if cache else None
        if store and store.exists():
            got = pickle.loads(store.read_bytes())  # noqa: S301 (our own cache, written below)
            frames += got["frames"]
            for k, v in got["costs"].items():
                costs.setdefault(k, []).extend(v)
            continue
        if models is None:
            models = {"yunet": YuNet(FLOOR["yunet"]), "centerface": CenterFace(FLOOR["centerface"]),
                      "coco": Yolo("coco_yolov8n", threshold=0.25)}
        gt = json.loads(clip.with_suffix(".gt.json").read_text())
        cap = cv2.VideoCapture(str(clip))
        mine, my_costs, i = [], {}, 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if i % every == every // 2:
                labels = np.array([g["box"] for g in gt["boxes"].get(str(i), []) if g["label"] == "face"],
                                  np.float64).reshape(-1, 4)
                mine.append({"clip": clip.name, "frame": i, "gt": labels,
                             "passes": run_passes(image, models, my_costs, passes)})
            i += 1
        if store:
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_bytes(pickle.dumps({"frames": mine, "costs": my_costs}))
        frames += mine
        for k, v in my_costs.items():
            costs.setdefault(k, []).extend(v)
    return frames, costs


def score_set(frames: list, spec: list) -> dict:
    from redactor.detect.nms import nms

    cells = {name: [0, 0] for *_, name in BUCKETS}
    predicted = 0
    for fr in frames:
        bs, ss = [], []
        for model, scale, flip, thr in spec:
            b, s = fr["passes"][key((model, scale, flip))]
            keep = s >= thr
            bs.append(b[keep])
            ss.append(s[keep])
        b = np.concatenate(bs) if bs else np.zeros((0, 4), np.float32)
        s = np.concatenate(ss) if ss else np.zeros(0, np.float32)
        if len(b):
            b = b[nms(b, s, 0.4)]
        predicted += len(b)
        g = fr["gt"]
        hit = match_matrix(g, b.astype(np.float64)).any(axis=1) if len(g) else np.zeros(0, bool)
        h = g[:, 3] - g[:, 1] if len(g) else np.zeros(0)
        for lo, hi, name in BUCKETS:
            sel = (h >= lo) & (h < hi)
            cells[name][0] += int(hit[sel].sum())
            cells[name][1] += int(sel.sum())
    out = {name: round(f / n, 4) if n else None for name, (f, n) in cells.items()}
    big = [cells["16-32"], cells[">=32"]]
    out[">=16"] = round(sum(c[0] for c in big) / max(sum(c[1] for c in big), 1), 4)
    out["labels"] = {name: n for name, (_, n) in cells.items()}
    out["boxes_per_frame"] = round(predicted / max(len(frames), 1), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="per-pass face recall on frames of labelled clips")
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/f13/passcache"))
    ap.add_argument("--sets", type=json.loads, default=None, help="more pass sets to score, as JSON")
    ap.add_argument("--passes", default=None,
                    help="run only these passes (e.g. yunet1.5,yunet1f,centerface1f): score only sets made of them")
    args = ap.parse_args(argv)
    passes = [p for p in PASSES if key(p) in args.passes.split(",")] if args.passes else None
    frames, costs = collect(args.clips, args.every, args.cache, passes)
    sets = dict(SETS) if passes is None else {}
    for p in passes or PASSES:  # every pass alone at a usual threshold
        sets[f"{key(p)} alone"] = [[*p, {"yunet": 0.4, "centerface": 0.15, "heads": 0.0}[p[0]]]]
    sets.update(args.sets or {})
    res = {"clips": [c.name for c in args.clips], "frames": len(frames), "every": args.every,
           "ms_per_frame": {k: round(float(np.median(v)), 1) for k, v in costs.items()},
           "sets": {name: {"spec": spec, **score_set(frames, spec)} for name, spec in sets.items()}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1))
    print(f"{len(frames)} frames; ms/frame: {res['ms_per_frame']}")
    for name, r in res["sets"].items():
        print(f"{name}: <10 {r['<10']} 10-16 {r['10-16']} 16-32 {r['16-32']} >=32 {r['>=32']} >=16 {r['>=16']} "
              f"boxes/frame {r['boxes_per_frame']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
