#!/usr/bin/env python3
"""Masked share of labelled faces per height bucket on labelled clips (gpu_benchmarks/make_face_clips.py), and the
audit's recall alone on the unmasked clips: the figures issue 13 is checked on.

For each CLIP (with CLIP.gt.json beside it):
- redact (the default): `redact` as the CLI runs it (analyze with the VIDEO profile, render, audit, re-mask rounds),
  then `../shared/tools/score_redact.py CLIP OUT GT --label face`: masked share overall and by face height (<10,
  10-16, 16-32, >=32 px), collateral, frames, audio streams, whether the audit released it;
- render (--mode render): analyze and render only (the mask driver alone, no audit rounds), scored the same way;
- audit (--audit): `redactor.audit.audit` alone on the UNMASKED clip, every frame, scored by
  `../shared/tools/score_audit.py` (recall per bucket).
Pooled figures are summed over the clips given (boxes, not clip means).

usage: face_clips.py CLIP [CLIP ...] [--mode redact|render|none] [--audit] [--profile-json '{...}'] --json OUT.json
       [--work /tmp/f13/work]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("REDACTOR_SHARED", REPO.parent / "shared"))
TOOLS = SHARED / "tools"
BUCKETS = ("<10", "10-16", "16-32", ">=32")


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def engine_for(overrides: dict | None):
    from redactor.detect.engine import VIDEO, DetectionEngine

    profile = dataclasses.replace(VIDEO, **{k: _tuples(v) for k, v in (overrides or {}).items()})
    return DetectionEngine(profile)


def score_redact(clip: Path, out: Path) -> dict:
    res = subprocess.run([sys.executable, str(TOOLS / "score_redact.py"), str(clip), str(out),
                          str(clip.with_suffix(".gt.json")), "--label", "face"], capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout)


def score_audit(clip: Path, findings: list[dict], work: Path) -> dict:
    path = work / f"{clip.stem}.findings.json"
    path.write_text(json.dumps({"findings": findings}))
    res = subprocess.run([sys.executable, str(TOOLS / "score_audit.py"), str(clip.with_suffix(".gt.json")),
                          str(path)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def run_clip(clip: Path, mode: str, audit_too: bool, engine, work: Path, detector=None) -> dict:
    from redactor.audit import audit
    from redactor.pipeline import analyze, redact, render

    row: dict = {"clip": clip.name}
    out = work / f"{clip.stem}.out.mp4"
    out.unlink(missing_ok=True)
    if mode != "none":
        t = time.perf_counter()
        table = analyze(clip, engine=engine, show_progress=False)
        row["analyze_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        if mode == "redact":
            rep = redact(clip, out, table=table, show_progress=False, audit_detector=detector)
            row.update(released=rep.released, remask_rounds=rep.remask_rounds, findings=len(rep.findings))
        else:
            render(clip, table, out, show_progress=False)
            row["released"] = True
        row["render_audit_s"] = round(time.perf_counter() - t, 1)
        row["mask_cover"] = mask_cover(clip, table)
        table.save(work / f"{clip.stem}.tracks.json")  # with the audit's findings as tracks: masks can be re-planned
        if out.exists():
            s = score_redact(clip, out)
            row.update({k: s[k] for k in ("source_frames", "output_frames", "output_audio_streams",
                                          "labelled_boxes", "masked_boxes", "masked_fraction",
                                          "collateral_fraction", "frames_with_unmasked", "masked_by_size")})
    if audit_too:
        t = time.perf_counter()
        findings = [f.to_json() for f in audit(clip, detector=detector, show_progress=False)]
        row["audit_s"] = round(time.perf_counter() - t, 1)
        row["audit_findings"] = len(findings)
        row["audit_recall"] = score_audit(clip, findings, work)
    return row


def mask_cover(clip: Path, table) -> dict:
    """Why boxes leak: per bucket, how many labelled boxes the planned masks (audit findings included) cover by
    >= 90%, partly (10-90%: a mask that lags or is too small), or not at all (no detection near it)."""
    import numpy as np

    from redactor.track.masks import plan_masks

    masks = plan_masks(table, set())
    gt = json.loads(clip.with_suffix(".gt.json").read_text())["boxes"]
    cells = {b: {"full": 0, "partial": 0, "none": 0} for b in BUCKETS}
    for f, boxes in gt.items():
        m = masks.get(int(f), np.zeros((0, 4), np.float32))
        for g in boxes:
            if g["label"] != "face":
                continue
            x1, y1, x2, y2 = g["box"]
            h = y2 - y1
            b = "<10" if h < 10 else "10-16" if h < 16 else "16-32" if h < 32 else ">=32"
            cover = 0.0
            if len(m):
                # share of the box under the union of masks, on a 1 px grid
                xs, ys = np.meshgrid(np.arange(x1, x2, 1.0) + 0.5, np.arange(y1, y2, 1.0) + 0.5)
                pts = np.column_stack([xs.ravel(), ys.ravel()])
                inside = np.zeros(len(pts), bool)
                for mx1, my1, mx2, my2 in m:
                    inside |= (pts[:, 0] >= mx1) & (pts[:, 0] < mx2) & (pts[:, 1] >= my1) & (pts[:, 1] < my2)
                cover = float(inside.mean()) if len(pts) else 1.0
            cells[b]["full" if cover >= 0.9 else "partial" if cover >= 0.1 else "none"] += 1
    return cells


def pooled(rows: list[dict]) -> dict:
    out: dict = {}
    cells = {b: [0, 0] for b in BUCKETS}
    coll = [r["collateral_fraction"] for r in rows if r.get("collateral_fraction") is not None]
    for r in rows:
        for b, v in r.get("masked_by_size", {}).items():
            cells[b][0] += v["masked"]
            cells[b][1] += v["boxes"]
    if any(n for _, n in cells.values()):
        m = sum(c[0] for c in cells.values())
        n = sum(c[1] for c in cells.values())
        out["masked"] = {"all": round(m / n, 4), **{b: round(c[0] / c[1], 4) if c[1] else None
                                                      for b, c in cells.items()}, "boxes": n}
        out["collateral_max"] = max(coll) if coll else None
        out["collateral_mean"] = round(sum(coll) / len(coll), 4) if coll else None
        out["released"] = sum(bool(r.get("released")) for r in rows)
    cover = {b: {"full": 0, "partial": 0, "none": 0} for b in BUCKETS}
    for r in rows:
        for b, v in r.get("mask_cover", {}).items():
            for k, n in v.items():
                cover[b][k] += n
    if any(rows and "mask_cover" in r for r in rows):
        out["mask_cover"] = cover
    acells: dict[str, list[int]] = {}
    for r in rows:
        for k, v in r.get("audit_recall", {}).items():
            c = acells.setdefault(k, [0, 0])
            c[0] += v["found"]
            c[1] += v["total"]
    if acells:
        out["audit"] = {k: round(f / n, 4) for k, (f, n) in sorted(acells.items())}
        big = [acells.get(k, [0, 0]) for k in ("face 16-32", "face >=32")]
        out["audit"]["face >=16"] = round(sum(b[0] for b in big) / max(sum(b[1] for b in big), 1), 4)
    return out


def line(r: dict) -> str:
    parts = [r["clip"]]
    if "masked_by_size" in r:
        cells = " ".join(f"{b} {r['masked_by_size'][b]['fraction']:.3f}/{r['masked_by_size'][b]['boxes']}"
                         for b in BUCKETS if b in r["masked_by_size"])
        parts.append(f"masked {r['masked_fraction']:.4f} [{cells}] collateral {r['collateral_fraction']:.3f} "
                     f"released {r.get('released')} rounds {r.get('remask_rounds')}")
    elif "released" in r:
        parts.append(f"NOT RELEASED ({r.get('findings')} findings)")
    if "audit_recall" in r:
        parts.append("audit " + " ".join(f"{k.split()[1]} {v['recall']:.3f}" for k, v in r["audit_recall"].items()))
    return " | ".join(parts)


def markdown(results: list[dict]) -> str:
    """One row per clip of the given result files, then the pooled rows of each file."""
    head = ("| clip | frames | boxes | masked | <10 | 10-16 | 16-32 | >=32 | collateral | released (rounds) | "
            "audit alone: <10 / 10-16 / 16-32 / >=32 |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def cell(r: dict, b: str) -> str:
        v = r.get("masked_by_size", {}).get(b)
        return f"{v['fraction']:.3f} ({v['boxes']})" if v else "—"

    def audit(r: dict) -> str:
        a = r.get("audit_recall")
        if not a:
            return "—"
        return " / ".join(f"{a[f'face {b}']['recall']:.2f}" if f"face {b}" in a else "—" for b in BUCKETS)

    for res in results:
        for r in res["clips"]:
            if "masked_fraction" in r:
                lines.append(f"| {r['clip']} | {r['source_frames']} | {r['labelled_boxes']} | "
                             f"{r['masked_fraction']:.4f} | " + " | ".join(cell(r, b) for b in BUCKETS) +
                             f" | {r['collateral_fraction']:.3f} | {r.get('released')} ({r.get('remask_rounds')}) | "
                             f"{audit(r)} |")
            else:
                lines.append(f"| {r['clip']} | | | not released ({r.get('findings')} findings) | | | | | | | "
                             f"{audit(r)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="masked share per face-height bucket on labelled clips")
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--table", nargs="+", type=Path, default=None,
                    help="print a Markdown table of these result files (no clip is run)")
    ap.add_argument("--mode", choices=["redact", "render", "none"], default="redact")
    ap.add_argument("--audit", action="store_true", help="also the audit alone on the unmasked clip")
    ap.add_argument("--profile-json", type=json.loads, default=None, help="override fields of the VIDEO profile")
    ap.add_argument("--audit-json", type=json.loads, default=None,
                    help="the audit's face passes, as JSON [[model, scale, mirrored, threshold], ...]")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=Path("/tmp/f13/work"))
    args = ap.parse_args(argv)
    if args.table:
        print(markdown([json.loads(p.read_text()) for p in args.table]))
        return 0
    if not args.clips or not args.json:
        ap.error("CLIP ... and --json are needed (or --table)")
    args.work.mkdir(parents=True, exist_ok=True)
    engine = engine_for(args.profile_json) if args.mode != "none" else None
    from redactor.detect.engine import AuditDetector

    detector = AuditDetector(tuple(tuple(p) for p in args.audit_json)) if args.audit_json else AuditDetector()
    rows = []
    for clip in args.clips:
        if not clip.with_suffix(".gt.json").exists():
            sys.exit(f"face_clips: {clip.with_suffix('.gt.json')}: no ground truth")
        rows.append(run_clip(clip, args.mode, args.audit, engine, args.work, detector))
        print(line(rows[-1]), flush=True)
    res = {"mode": args.mode, "overrides": args.profile_json, "audit_passes": detector.face_passes,
           "machine": f"{platform.machine()} "
           f"{len(os.sched_getaffinity(0))} CPUs", "load_average": os.getloadavg(), "clips": rows,
           "pooled": pooled(rows)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1))
    print(json.dumps(res["pooled"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
