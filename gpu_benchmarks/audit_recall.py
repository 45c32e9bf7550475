#!/usr/bin/env python3
"""The audit's face recall alone, on sampled frames of labelled clips, for choosing AUDIT_FACE_PASSES (issue 13).

Like face_pass_recall.py (whose cache of raw pass outputs it shares), but a pass may have a threshold per predicted
box height: [model, scale, flip, threshold] or [model, scale, flip, threshold under SPLIT px, threshold at or over],
and boxes taller than 64 px need 0.6 (AuditDetector). Scored with the acceptance rule (IoU >= 0.3 or covering 70% of
the label) by label height: 10-16 px and >= 16 px are the buckets the issue asks of the audit.

usage: audit_recall.py CLIP [CLIP ...] [--every 3] [--cache DIR] --sets SETS.json [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpu_benchmarks.face_pass_recall import BUCKETS, collect, key  # noqa: E402
from gpu_benchmarks.scoring import match_matrix  # noqa: E402

SPLIT = 16.0  # px of predicted box height: under it the pass's first threshold applies


def pass_boxes(fr: dict, spec: list) -> tuple[np.ndarray, np.ndarray]:
    from redactor.detect.nms import nms

    bs, ss = [], []
    for p in spec:
        model, scale, flip, *thr = p
        b, s = fr["passes"][key((model, scale, flip))]
        h = b[:, 3] - b[:, 1]
        t = np.where(h < SPLIT, thr[0], thr[-1])
        keep = (s >= t) & ((h <= 64) | (s >= 0.6))
        bs.append(b[keep])
        ss.append(s[keep])
    b = np.concatenate(bs) if bs else np.zeros((0, 4), np.float32)
    s = np.concatenate(ss) if ss else np.zeros(0, np.float32)
    if len(b):
        k = nms(b, s, 0.4)
        b, s = b[k], s[k]
    return b, s


def score(frames: list, spec: list) -> dict:
    cells = {name: [0, 0] for *_, name in BUCKETS}
    predicted = unmatched = 0
    for fr in frames:
        b, _ = pass_boxes(fr, spec)
        predicted += len(b)
        g = fr["gt"]
        m = match_matrix(g, b.astype(np.float64))
        hit = m.any(axis=1) if len(g) else np.zeros(0, bool)
        unmatched += int((~m.any(axis=0)).sum()) if len(g) else len(b)
        h = g[:, 3] - g[:, 1] if len(g) else np.zeros(0)
        for lo, hi, name in BUCKETS:
            sel = (h >= lo) & (h < hi)
            cells[name][0] += int(hit[sel].sum())
            cells[name][1] += int(sel.sum())
    big = [cells["16-32"], cells[">=32"]]
    return {"10-16": round(cells["10-16"][0] / max(cells["10-16"][1], 1), 3),
            ">=16": round(sum(c[0] for c in big) / max(sum(c[1] for c in big), 1), 3),
            "<10": round(cells["<10"][0] / max(cells["<10"][1], 1), 3),
            "n10-16": cells["10-16"][1], "n>=16": sum(c[1] for c in big),
            "boxes_per_frame": round(predicted / max(len(frames), 1), 1),
            # boxes matching no label: false findings on an unmasked clip, and in `redact` re-masks (collateral)
            "false_per_frame": round(unmatched / max(len(frames), 1), 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the audit's face recall alone on sampled frames")
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/a13b/passcache"))
    ap.add_argument("--passes", required=True, help="passes to run and cache, e.g. yunet1.5,yunet1f,centerface1f")
    ap.add_argument("--sets", type=Path, required=True, help="JSON {name: [[model, scale, flip, thr(, thr)], ...]}")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    want = args.passes.split(",")
    passes = []
    for k in want:
        model = "centerface" if k.startswith("centerface") else "yunet"
        rest = k[len(model):]
        flip = rest.endswith("f")
        passes.append((model, float(rest.rstrip("f")), flip))
    sets = json.loads(args.sets.read_text())
    res = {}
    for clip in args.clips:  # one clip at a time, so each clip's figures and the pooled ones are both reported
        frames, _ = collect([clip], args.every, args.cache, passes)
        res[clip.stem] = {name: score(frames, spec) for name, spec in sets.items()}
    frames, costs = collect(args.clips, args.every, args.cache, passes)
    res["pooled"] = {name: score(frames, spec) for name, spec in sets.items()}
    for name in sets:
        r = res["pooled"][name]
        print(f"{name:60s} 10-16 {r['10-16']:.3f} >=16 {r['>=16']:.3f} <10 {r['<10']:.3f} "
              f"boxes {r['boxes_per_frame']} false {r['false_per_frame']}  per clip 10-16/>=16: "
              + " ".join(f"{res[c.stem][name]['10-16']:.2f}/{res[c.stem][name]['>=16']:.2f}" for c in args.clips))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"every": args.every, "frames": len(frames), "results": res}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
