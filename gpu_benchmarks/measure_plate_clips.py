#!/usr/bin/env python3
"""How much of the labelled plates of make_plate_clips.py's clips the redactor masks, per plate style (white,
yellow, green, blue; green on a truck's white panel also apart) and per box height (<10, 10-16, 16-32, >=32 px) and
width (<24, 24-48, 48-96, >=96 px, as shared/tools/score_redact.py). Prints JSON (and writes it with --json).

Modes:
- `redact` (default): `redactor.pipeline.redact` on each clip (the video profile; `--passes` replaces its plate
  passes, `--audit-passes` the audit's), then every labelled box of every frame is judged masked or not by
  shared/tools/score_redact.py's own rule (imported from it), with its collateral share; whether the clip was
  released, the re-mask rounds.
- `detect`: only the mask driver's plate passes, on every `--every`-th frame of the unmasked clip: the share of
  labelled plates a pass set finds (IoU >= 0.3 or covering 70%, gpu_benchmarks/scoring.py), no tracking.
- `audit`: the audit's plate passes alone on every `--every`-th frame of the unmasked clip, matched the same way
  (what `redactor audit UNMASKED.mp4` finds of the plates; score_audit.py's rule).

usage: measure_plate_clips.py CLIP.mp4 ... [--mode redact|detect|audit] [--passes plate_korean:960-1600,...]
       [--audit-passes plate_fastanpr:640,...] [--every 2] [--json OUT.json] [--keep-outputs DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpu_benchmarks.scoring import match_matrix  # noqa: E402

HEIGHTS = (10, 16, 32)
WIDTHS = (24, 48, 96)


def bucket(size: float, edges: tuple[int, ...]) -> str:
    k = sum(size >= e for e in edges)
    return f"<{edges[0]}" if k == 0 else f">={edges[-1]}" if k == len(edges) else f"{edges[k - 1]}-{edges[k]}"


def score_redact_module():
    shared = Path(os.environ.get("REDACTOR_SHARED", REPO.parent / "shared"))
    spec = importlib.util.spec_from_file_location("score_redact", shared / "tools" / "score_redact.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_passes(text: str | None) -> tuple[tuple, ...] | None:
    """`NAME:SIZE,...`; `NAME:SMALLEST-LARGEST` for a pass on the frame at its own size held between the two
    (redactor.detect.engine.plate_pass_size)."""
    if not text:
        return None
    return tuple((name, *map(int, size.split("-"))) for name, size in (p.split(":") for p in text.split(",")))


class Tally:
    def __init__(self) -> None:
        self.cells: dict[str, dict[str, list[int]]] = {"all": {}, "style": {}, "height": {}, "width": {}}

    def add(self, g: dict, hit: bool) -> None:
        x1, y1, x2, y2 = g["box"]
        style = g.get("style", "?") + ("+panel" if g.get("panel") else "")
        keys = {"all": "all", "style": style, "height": bucket(y2 - y1, HEIGHTS), "width": bucket(x2 - x1, WIDTHS)}
        if g.get("panel"):
            self._add("style", g.get("style", "?"), hit)
        for kind, key in keys.items():
            self._add(kind, key, hit)

    def _add(self, kind: str, key: str, hit: bool) -> None:
        cell = self.cells[kind].setdefault(key, [0, 0])
        cell[0] += int(hit)
        cell[1] += 1

    def merge(self, other: Tally) -> None:
        for kind, cells in other.cells.items():
            for key, (m, n) in cells.items():
                cell = self.cells[kind].setdefault(key, [0, 0])
                cell[0] += m
                cell[1] += n

    def to_json(self) -> dict:
        return {kind: {k: {"hit": m, "boxes": n, "fraction": round(m / n, 4)} for k, (m, n) in sorted(cells.items())}
                for kind, cells in self.cells.items()}


def frames(path: Path):
    cap = cv2.VideoCapture(str(path))
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        yield i, img
        i += 1
    cap.release()


def measure_detect(clip: Path, gt: dict, find, every: int) -> dict:
    tally = Tally()
    t = time.perf_counter()
    for i, img in frames(clip):
        labelled = [g for g in gt["boxes"].get(str(i), []) if g["label"] == "plate"]
        if i % every or not labelled:
            continue
        pred = find(img)
        hits = match_matrix(np.array([g["box"] for g in labelled], np.float32), pred).any(axis=1) if len(pred) \
            else np.zeros(len(labelled), bool)
        for g, hit in zip(labelled, hits, strict=True):
            tally.add(g, bool(hit))
    return {"clip": clip.name, "seconds": round(time.perf_counter() - t, 1), **tally.to_json(), "_tally": tally}


def measure_redact(clip: Path, gt: dict, passes, audit_passes, keep_dir: Path | None) -> dict:
    from redactor import pipeline
    from redactor.detect.engine import VIDEO, AuditDetector, DetectionEngine

    sr = score_redact_module()
    profile = dataclasses.replace(VIDEO, plate_passes=passes) if passes else VIDEO
    if audit_passes:
        pipeline.AuditDetector = functools.partial(AuditDetector, plate_passes=audit_passes)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = (keep_dir or Path(tmp)) / f"{clip.stem}.redacted.mp4"
        table = pipeline.analyze(clip, engine=DetectionEngine(profile), show_progress=False)
        report = pipeline.redact(clip, out, table=table, show_progress=False)
        seconds = round(time.perf_counter() - t, 1)
        tally, collateral = Tally(), []
        released = report.released
        if released:
            for (i, src), (_, red) in zip(frames(clip), frames(out), strict=False):
                spare = np.ones(src.shape[:2], bool)
                labelled = gt["boxes"].get(str(i), [])
                for g in labelled:
                    x1, y1, x2, y2 = g["box"]
                    w, h = x2 - x1, y2 - y1
                    spare[max(int(y1 - h / 2), 0):int(y2 + h / 2) + 1, max(int(x1 - w / 2), 0):int(x2 + w / 2) + 1] \
                        = False
                diff = np.abs(cv2.cvtColor(src, cv2.COLOR_BGR2GRAY).astype(np.int16)
                              - cv2.cvtColor(red, cv2.COLOR_BGR2GRAY))
                if spare.any():
                    collateral.append(float((diff[spare] > 25).mean()))
                for g in labelled:
                    if g["label"] == "plate":
                        tally.add(g, bool(sr.is_masked(src, red, g["box"])))
    return {"clip": clip.name, "released": released, "remask_rounds": report.remask_rounds,
            "findings": len(report.findings), "seconds": seconds,
            "collateral_fraction": round(float(np.mean(collateral)), 4) if collateral else None,
            **tally.to_json(), "_tally": tally, "_collateral": collateral}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--mode", choices=["redact", "detect", "audit"], default="redact")
    ap.add_argument("--passes", default=None, help="mask driver's plate passes NAME:SIZE,... (default: VIDEO's)")
    ap.add_argument("--audit-passes", default=None, help="the audit's plate passes (default: AuditDetector's)")
    ap.add_argument("--every", type=int, default=2, help="detect/audit: every n-th frame")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep-outputs", type=Path, default=None, help="redact: keep the redacted clips here")
    args = ap.parse_args(argv)
    from redactor.detect.engine import VIDEO, AuditDetector, DetectionEngine

    passes, audit_passes = parse_passes(args.passes), parse_passes(args.audit_passes)
    results = []
    if args.mode == "detect":
        engine = DetectionEngine(dataclasses.replace(VIDEO, plate_passes=passes or VIDEO.plate_passes))
        find = lambda img: engine.plates_in(img).boxes  # noqa: E731
        used = engine.profile.plate_passes
    elif args.mode == "audit":
        detector = AuditDetector(plate_passes=audit_passes) if audit_passes else AuditDetector()
        find = lambda img: detector.plates_in(img).boxes  # noqa: E731
        used = detector.plate_passes
    else:
        used = {"mask": passes or VIDEO.plate_passes, "audit": audit_passes or AuditDetector().plate_passes}
    for clip in args.clips:
        gt = json.loads(clip.with_suffix(".gt.json").read_text())
        if args.mode == "redact":
            res = measure_redact(clip, gt, passes, audit_passes, args.keep_outputs)
        else:
            res = measure_detect(clip, gt, find, args.every)
        results.append(res)
        print(json.dumps({k: v for k, v in res.items() if not k.startswith("_") and k not in ("height", "width")}),
              file=sys.stderr)
    total = Tally()
    for r in results:
        total.merge(r["_tally"])
    collateral = [c for r in results for c in r.get("_collateral", [])]
    summary = {"mode": args.mode, "passes": used, "clips": [{k: v for k, v in r.items() if not k.startswith("_")}
                                                            for r in results],
               "total": total.to_json(),
               "released": sum(bool(r.get("released", True)) for r in results),
               "collateral_fraction": round(float(np.mean(collateral)), 4) if collateral else None}
    text = json.dumps(summary, indent=1)
    if args.json:
        args.json.write_text(text)
    print(json.dumps({"mode": args.mode, "passes": used, "total": summary["total"]["all"],
                      "style": summary["total"]["style"], "height": summary["total"]["height"],
                      "released": summary["released"], "collateral_fraction": summary["collateral_fraction"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
