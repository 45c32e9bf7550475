#!/usr/bin/env python3
"""Re-plan the masks of saved track tables and score them as acceptance does, without analysing again: the mask
planner (redactor.track.masks) tuned in seconds a clip instead of minutes.

For each CLIP (with CLIP.gt.json beside it and WORK/<stem>.tracks.json from `face_clips.py --mode render`), the
masks planned with MaskParams overridden by --params-json are painted (solid) on the decoded source frames and
scored frame by frame with ../shared/tools/score_redact.py's own test (masked share by face height, collateral);
no H.264 round trip, so collateral reads a little under the rendered clip's (encoding noise over 25 grey levels).

usage: mask_replan.py CLIP [CLIP ...] [--work /tmp/f13/work] [--params-json '{"face_pad": 0.3}'] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("REDACTOR_SHARED", REPO.parent / "shared"))
BUCKETS = ("<10", "10-16", "16-32", ">=32")


def _scorer():
    spec = importlib.util.spec_from_file_location("score_redact", SHARED / "tools" / "score_redact.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def score(clip: Path, table_path: Path, overrides: dict) -> dict:
    from redactor.render.styles import solid
    from redactor.track.masks import MaskParams, plan_masks
    from redactor.track.table import TrackTable

    is_masked = _scorer().is_masked
    table = TrackTable.load(table_path)
    masks = plan_masks(table, set(), MaskParams(**overrides))
    gt = json.loads(clip.with_suffix(".gt.json").read_text())["boxes"]
    cap = cv2.VideoCapture(str(clip))
    cells = {b: [0, 0] for b in BUCKETS}
    collateral, leaks, i = [], [], 0
    empty = np.zeros((0, 4), np.float32)
    while True:
        ok, src = cap.read()
        if not ok:
            break
        out = src.copy()
        solid(out, masks.get(i, empty))
        spare = np.ones(src.shape[:2], bool)
        labelled = gt.get(str(i), [])
        for g in labelled:
            x1, y1, x2, y2 = g["box"]
            w, h = x2 - x1, y2 - y1
            spare[max(int(y1 - h / 2), 0):int(y2 + h / 2) + 1, max(int(x1 - w / 2), 0):int(x2 + w / 2) + 1] = False
        diff = np.abs(cv2.cvtColor(src, cv2.COLOR_BGR2GRAY).astype(np.int16) - cv2.cvtColor(out, cv2.COLOR_BGR2GRAY))
        if spare.any():
            collateral.append(float((diff[spare] > 25).mean()))
        for g in labelled:
            if g["label"] != "face":
                continue
            h = g["box"][3] - g["box"][1]
            b = BUCKETS[sum(h >= e for e in (10, 16, 32))]
            cells[b][1] += 1
            if is_masked(src, out, g["box"]):
                cells[b][0] += 1
            else:
                leaks.append((i, b, [round(v) for v in g["box"]]))
        i += 1
    m, n = sum(c[0] for c in cells.values()), sum(c[1] for c in cells.values())
    return {"clip": clip.name, "boxes": n, "masked": round(m / max(n, 1), 4),
            "by_size": {b: [c[0], c[1]] for b, c in cells.items()},
            "collateral": round(float(np.mean(collateral)), 4) if collateral else None, "leaks": leaks}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="re-plan masks of saved track tables and score them")
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/f13/work"))
    ap.add_argument("--params-json", type=json.loads, default={})
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--leaks", action="store_true", help="print every unmasked box")
    args = ap.parse_args(argv)
    rows = []
    for clip in args.clips:
        r = score(clip, args.work / f"{clip.stem}.tracks.json", args.params_json)
        rows.append(r)
        cells = " ".join(f"{b} {m / n:.3f}/{n}" if n else f"{b} -" for b, (m, n) in r["by_size"].items())
        print(f"{r['clip']}: masked {r['masked']:.4f} [{cells}] collateral {r['collateral']:.3f}", flush=True)
        if args.leaks:
            for leak in r["leaks"]:
                print("  leak", *leak)
    if args.json:
        args.json.write_text(json.dumps({"params": args.params_json, "clips": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
