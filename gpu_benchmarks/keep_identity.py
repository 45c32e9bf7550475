#!/usr/bin/env python3
"""The acceptance check of issue 14 on labelled clips, as acceptance runs it: analyze, the clerk's pick
(shared/tools/pick_keep.py), `redact --keep`, scored by shared/tools/score_redact.py; with `--photo`, also
`propose --face REFERENCE --json` (no --video) and `render --keep FIRST_PROPOSAL`.

usage: keep_identity.py CLIP.mp4 [CLIP.mp4 ...] --work DIR [--reuse] [--photo]
Clips: tests/make_pedestrian_clips.py (real pedestrians, heads 8-16 px) and tests/make_identity_clips.py (pasted
faces with a reference photo). Prints one JSON line per clip and a summary: leaked frames (another person's face or
head visible) and the requester's visible share, and the frames the report lists as masked for identity.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REDACTOR_SHARED", ROOT.parent / "shared"))
REDACTOR = [sys.executable, "-m", "redactor"]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def score(clip: Path, out: Path, gt: Path, who: str) -> dict:
    res = _run([sys.executable, str(SHARED / "tools" / "score_redact.py"), str(clip), str(out), str(gt),
                "--keep", who], check=True)
    return json.loads(res.stdout)


def check_clip(clip: Path, work: Path, reuse: bool, photo: bool) -> dict:
    gt_path = clip.with_suffix(".gt.json")
    gt = json.loads(gt_path.read_text())
    who = gt.get("requester", "w0")
    tracks = work / f"{clip.stem}.tracks.json"
    if not (reuse and tracks.exists()):
        _run([*REDACTOR, "analyze", str(clip), "--out", str(tracks)], check=True)
    pick = _run([sys.executable, str(SHARED / "tools" / "pick_keep.py"), str(tracks), str(gt_path)],
                check=True).stdout.split()
    frame, ids = int(pick[0]), pick[1:]
    row: dict = {"clip": clip.stem, "who": who, "pick_frame": frame, "keep": ids}
    out, report = work / f"{clip.stem}.out.mp4", work / f"{clip.stem}.report.json"
    res = _run([*REDACTOR, "redact", str(clip), "-o", str(out), "--keep", *ids, "--report", str(report),
                "--overwrite"])
    row["exit"] = res.returncode
    if res.returncode == 0:
        s = score(clip, out, gt_path, who)
        rep = json.loads(report.read_text())
        masked = rep.get("masked_for_identity", [])
        row.update({"leaked_frames": s["frames_with_unmasked"], "first_leaks": s["first_unmasked_frames"][:8],
                    "kept_visible": s["kept_visible_fraction"], "masked": s["masked_fraction"],
                    "identity_masked_frames": sum(len(m.get("frames", [])) for m in masked),
                    "reasons": sorted({m.get("reason", "") for m in masked})})
    else:
        row["stderr"] = res.stderr[-400:]
    if photo and gt.get("reference"):
        res = _run([*REDACTOR, "propose", str(tracks), "--face", gt["reference"], "--json"])
        row["propose_exit"] = res.returncode
        proposals = json.loads(res.stdout) if res.returncode == 0 and res.stdout.strip() else []
        if proposals:
            first = proposals[0]["track"]
            first = [str(t) for t in (first if isinstance(first, list) else [first])]
            out2 = work / f"{clip.stem}.photo.mp4"
            res = _run([*REDACTOR, "render", str(clip), "--tracks", str(tracks), "--keep", *first, "-o", str(out2)])
            if res.returncode == 0:
                s = score(clip, out2, gt_path, who)
                row.update({"photo_keep": first, "photo_leaked": s["frames_with_unmasked"],
                            "photo_visible": s["kept_visible_fraction"]})
        else:
            row["photo_keep"] = []
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--reuse", action="store_true", help="reuse WORK/CLIP.tracks.json when there")
    ap.add_argument("--photo", action="store_true", help="also propose from the clip's reference photo")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip in a.clips:
        row = check_clip(clip, a.work, a.reuse, a.photo)
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r for r in rows if r.get("exit") == 0]
    print(json.dumps({"clips": len(rows), "released": len(ok),
                      "leaking_clips": sum(r["leaked_frames"] > 0 for r in ok),
                      "min_visible": min((r["kept_visible"] or 0 for r in ok), default=None),
                      "mean_visible": round(sum(r["kept_visible"] or 0 for r in ok) / max(len(ok), 1), 3)}))


if __name__ == "__main__":
    main()
